// RecoverSegments: replays the durable prefix of a log. The rules (docs/durability.md,
// "Recovery rules") in order of precedence, per segment in epoch order:
//   - an I/O error (other than the segment being unreadable as a segment) is returned as is;
//   - a header epoch that disagrees with the file name is corruption ("mismatched epoch");
//   - a v2 certificate whose prev link is not the previous segment on disk is a CertificateGap;
//   - a segment that does not decode, when it is the LAST one, is a torn tail: reported in the
//     result (torn_tail, partial_segments, stop_reason), not an error;
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

}  // namespace

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
      const bool last = i + 1 == segments.size();
      if (failure == Failure::kDecode && last) {
        // A crash during the last, never-acknowledged write. Not an error; reported.
        result->torn_tail = true;
        result->partial_segments.push_back(seg.path);
        result->stop_reason = "torn tail: " + st.message();
        if (options.discard_torn_tail) {
          PWAL_RETURN_IF_ERROR(DeleteSegment(fs, seg.path));
          PWAL_RETURN_IF_ERROR(
              fs->SyncDir(DirName(seg.path), SyncMode::kFull).WithContext("discarding torn tail"));
        }
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
