// RecoverSegments: replays the durable prefix of a log. The rules (docs/durability.md,
// "Recovery rules") in order of precedence, per segment in epoch order:
//   - an I/O error (other than the segment being unreadable as a segment) is returned as is;
//   - a header epoch that disagrees with the file name is corruption ("mismatched epoch");
//   - a v2 certificate whose prev link is not the previous segment on disk is a CertificateGap;
//   - a segment that does not decode, or a link to a missing segment, is a TORN TAIL when no
//     later readable segment proves that epoch was acknowledged (ProvesAcknowledged: the last
//     segment, or one followed only by segments written ahead of it by pipelined publication).
//     Reported in the result (torn_tail, partial_segments, stop_reason), not an error;
//   - any other failure is an error, unless skip_corrupt: then recovery stops there and returns
//     the prefix before it, listing that segment and all later ones in partial_segments;
//   - an UNWRITTEN prepared file (>= 24 bytes, header all zero: prepared ahead, never published,
//     so nothing acknowledged is in it) is not a segment: skipped, provided the next segment
//     proves continuity (a v2 certificate linking to the segment before the skipped file).
//     ListSegments already drops those at the tail; one in the middle is an orphan left by a
//     crash right after its number was sealed empty.
// Nothing after a failure is ever applied: the result is always a prefix of the log.
#include "segment.h"

#include <algorithm>
#include <optional>

namespace pwal {
namespace {

enum class Failure { kNone, kDecode, kMismatchedEpoch, kGap };

// Reads the certificate evidence of segments[k]: *readable false for a file that is not a
// segment (undecodable or unwritten). I/O errors are returned.
Status ReadEvidence(FileSystem* fs, const SegmentEntry& seg, bool* readable, bool* unwritten,
                    std::optional<CommitCertificate>* certificate) {
  *readable = false;
  *unwritten = false;
  certificate->reset();
  SegmentBytes bytes;
  SegmentView view;
  Status st = ReadSegmentView(fs, seg.path, &bytes, &view);
  if (st.ok()) {
    *readable = view.header.epoch == seg.epoch;
    *certificate = std::move(view.certificate);
    return Status::OK();
  }
  if (st.code() != Status::Code::kCorruption) return st;
  return IsUnwrittenSegmentFile(fs, seg.path, unwritten);
}

// The torn-tail rule: is epoch `e` proven acknowledged by a readable segment at index >= from?
Status ProvenLater(FileSystem* fs, const std::vector<SegmentEntry>& segments, size_t from,
                   uint64_t e, bool* proven) {
  *proven = false;
  for (size_t j = from; j < segments.size() && !*proven; ++j) {
    bool readable = false, unwritten = false;
    std::optional<CommitCertificate> cert;
    PWAL_RETURN_IF_ERROR(ReadEvidence(fs, segments[j], &readable, &unwritten, &cert));
    if (readable && ProvesAcknowledged(cert, e)) *proven = true;
  }
  return Status::OK();
}

Status DeleteTail(FileSystem* fs, const std::vector<SegmentEntry>& segments, size_t from) {
  if (from >= segments.size()) return Status::OK();
  // Newest first: a crash part way leaves a shorter tail, still torn the same way.
  for (size_t k = segments.size(); k-- > from;) {
    PWAL_RETURN_IF_ERROR(DeleteSegment(fs, segments[k].path));
  }
  return fs->SyncDir(DirName(segments[from].path), SyncMode::kFull).WithContext("discarding torn tail");
}

}  // namespace

Status FindTornTail(FileSystem* fs, const std::vector<SegmentEntry>& segments, size_t* first_torn,
                    std::string* reason) {
  *first_torn = segments.size();
  reason->clear();
  const size_t n = segments.size();
  // 1. Backwards to the newest segment that a later readable one proves acknowledged: it and
  //    everything before it are acknowledged history (damage there is corruption, not a tail).
  std::vector<bool> readable(n, false), unwritten(n, false);
  std::vector<std::optional<CommitCertificate>> certs(n);
  std::vector<size_t> evidence;  // readable indices seen so far (all > k)
  size_t start = 0;
  for (size_t k = n; k-- > 0;) {
    bool proven = false;
    for (size_t j : evidence) {
      if (ProvesAcknowledged(certs[j], segments[k].epoch)) {
        proven = true;
        break;
      }
    }
    if (proven) {
      start = k + 1;
      break;
    }
    bool r = false, u = false;
    PWAL_RETURN_IF_ERROR(ReadEvidence(fs, segments[k], &r, &u, &certs[k]));
    readable[k] = r;
    unwritten[k] = u;
    if (r) evidence.push_back(k);
  }
  // 2. Forwards through the unproven suffix: the first failure starts the torn tail.
  std::optional<uint64_t> prev;
  for (size_t k = start; k-- > 0;) {
    bool u = false;
    PWAL_RETURN_IF_ERROR(IsUnwrittenSegmentFile(fs, segments[k].path, &u));
    if (!u) {
      prev = segments[k].epoch;
      break;
    }
  }
  bool skipped = false;
  for (size_t k = start; k < n; ++k) {
    if (unwritten[k]) {
      skipped = true;
      continue;
    }
    if (!readable[k]) {
      *first_torn = k;
      *reason = "segment " + segments[k].path + " does not decode";
      return Status::OK();
    }
    const std::optional<CommitCertificate>& c = certs[k];
    const bool linked = c.has_value() && c->has_prev;
    if (prev.has_value() && linked && c->prev_durable_epoch > *prev) {
      *first_torn = k;
      *reason = "segment " + segments[k].path + " links to missing epoch " +
                std::to_string(c->prev_durable_epoch);
      return Status::OK();
    }
    if (prev.has_value() && skipped && !(linked && c->prev_durable_epoch == *prev)) {
      *first_torn = k;
      *reason = "segment " + segments[k].path + " follows an unwritten segment file";
      return Status::OK();
    }
    prev = segments[k].epoch;
    skipped = false;
  }
  return Status::OK();
}

Status RecoverSegmentViews(FileSystem* fs, const std::string& db_path,
                           const RecoveryOptions& options, RecoveryResult* result,
                           std::vector<RecoveredSegment>* applied_segments) {
  *result = RecoveryResult{};
  applied_segments->clear();
  std::vector<SegmentEntry> segments;
  PWAL_RETURN_IF_ERROR(ListSegments(fs, db_path, &segments).WithContext("recovering segments"));
  result->epochs.reserve(segments.size());

  size_t applied = 0;
  bool skipped_unwritten = false;  // an unwritten file since the previous segment
  std::optional<uint64_t> prev_epoch;  // the previous segment (not counting skipped files)
  std::vector<size_t> applied_index;
  for (size_t i = 0; i < segments.size(); ++i) {
    const SegmentEntry& seg = segments[i];
    SegmentBytes bytes;
    SegmentView contents;
    Failure failure = Failure::kNone;
    Status st = ReadSegmentView(fs, seg.path, &bytes, &contents);
    if (!st.ok() && st.code() == Status::Code::kCorruption && i + 1 < segments.size()) {
      bool unwritten = false;
      PWAL_RETURN_IF_ERROR(IsUnwrittenSegmentFile(fs, seg.path, &unwritten));
      if (unwritten) {
        skipped_unwritten = true;
        ++result->unwritten_skipped;
        continue;
      }
    }
    if (!st.ok()) {
      // Only "these bytes are not a valid segment" is a segment-level failure; an I/O error
      // says nothing about the log and must reach the caller.
      if (st.code() != Status::Code::kCorruption) return st;
      failure = Failure::kDecode;
    } else if (skipped_unwritten && prev_epoch.has_value() &&
               !(contents.certificate && contents.certificate->has_prev &&
                 contents.certificate->prev_durable_epoch == *prev_epoch)) {
      failure = Failure::kGap;
      st = Status::CertificateGap("segment " + seg.path + " follows an unwritten segment file " +
                                  "and does not certify that the previous durable segment is " +
                                  "epoch " + std::to_string(*prev_epoch));
    } else if (contents.header.epoch != seg.epoch) {
      failure = Failure::kMismatchedEpoch;
      st = Status::Corruption("segment " + seg.path + " has mismatched epoch: header=" +
                              std::to_string(contents.header.epoch) +
                              ", filename=" + std::to_string(seg.epoch));
    } else if (prev_epoch.has_value() && contents.certificate && contents.certificate->has_prev &&
               contents.certificate->prev_durable_epoch != *prev_epoch) {
      // The first segment's link is not checked: older segments may have been deleted after
      // recovery or cleanup. Between two segments on disk, the link must be exact.
      failure = Failure::kGap;
      const uint64_t prev = contents.certificate->prev_durable_epoch;
      const uint64_t on_disk = *prev_epoch;
      st = Status::CertificateGap(
          "segment " + seg.path + " (epoch " + std::to_string(seg.epoch) +
          ") certifies that the previous durable segment is epoch " + std::to_string(prev) +
          ", but the previous segment on disk is epoch " + std::to_string(on_disk) +
          (prev > on_disk ? ": a segment is missing" : ": an uncertified segment is in the chain"));
    }

    if (failure != Failure::kNone) {
      // A crash can leave an undecodable segment, or a missing one that a later segment links
      // to, only where nothing was acknowledged yet: no later readable segment may prove it.
      bool tail_candidate = false;
      uint64_t missing = seg.epoch;
      bool proven = false;
      if (failure == Failure::kDecode) {
        tail_candidate = true;
        PWAL_RETURN_IF_ERROR(ProvenLater(fs, segments, i + 1, missing, &proven));
      } else if (failure == Failure::kGap && contents.certificate && contents.certificate->has_prev &&
                 (!prev_epoch.has_value() || contents.certificate->prev_durable_epoch > *prev_epoch)) {
        tail_candidate = true;
        missing = contents.certificate->prev_durable_epoch;
        proven = ProvesAcknowledged(contents.certificate, missing);
        if (!proven) PWAL_RETURN_IF_ERROR(ProvenLater(fs, segments, i + 1, missing, &proven));
      }
      if (tail_candidate && !proven) {
        // A crash during never-acknowledged writes. Not an error; reported.
        result->torn_tail = true;
        for (size_t k = i; k < segments.size(); ++k) result->partial_segments.push_back(segments[k].path);
        result->stop_reason = "torn tail: " + st.message();
        if (options.discard_torn_tail) PWAL_RETURN_IF_ERROR(DeleteTail(fs, segments, i));
        break;
      }
      if (!options.skip_corrupt) return st;
      for (size_t k = i; k < segments.size(); ++k) result->partial_segments.push_back(segments[k].path);
      result->stop_reason = st.message();
      break;
    }

    result->segments_recovered += 1;
    result->records_applied += contents.records.size();
    result->bytes_read += bytes.size();  // exactly the bytes decoded (the file's size)
    result->epochs.push_back(seg.epoch);
    if (contents.certificate) result->certificates.push_back(*contents.certificate);
    RecoveredSegment applied_segment;
    applied_segment.epoch = seg.epoch;
    applied_segment.path = seg.path;
    applied_segment.bytes = std::move(bytes);
    applied_segment.view = std::move(contents);
    applied_segments->push_back(std::move(applied_segment));
    applied = i + 1;
    applied_index.push_back(i);
    prev_epoch = seg.epoch;
    skipped_unwritten = false;
  }
  // Replay order across segments holds by construction: epochs ascend, every record of a
  // segment carries the header's epoch (DecodeSegmentView) and the header's epoch is the file
  // name's (checked above), and each segment's views are sorted.

  if (options.delete_after_recovery && applied > 0) {
    // Oldest first, then one directory sync; failures are tolerated as in the seed (a segment
    // left behind is replayed again, which is idempotent for after-images).
    for (size_t i : applied_index) fs->DeleteFile(segments[i].path);
    fs->SyncDir(DirName(segments[0].path), SyncMode::kFull);
  }
  return Status::OK();
}

Status RecoverSegments(FileSystem* fs, const std::string& db_path, const RecoveryOptions& options,
                       RecoveryResult* result, std::vector<WalRecord>* records) {
  records->clear();
  std::vector<RecoveredSegment> segments;
  PWAL_RETURN_IF_ERROR(RecoverSegmentViews(fs, db_path, options, result, &segments));
  size_t total = 0;
  for (const RecoveredSegment& s : segments) total += s.view.records.size();
  records->resize(total);
  size_t k = 0;
  for (RecoveredSegment& s : segments) {
    for (const RecordView& v : s.view.records) MaterializeRecord(s.bytes.data(), v, &(*records)[k++]);
    s.bytes.Reset();  // free each file as soon as its records are copied
  }
  return Status::OK();
}

}  // namespace pwal
