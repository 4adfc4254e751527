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

#include "log_file.h"

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
    const bool last = i + 1 == segments.size();
    SegmentBytes bytes;
    // A plain segment file is one image; a log file (log_file.h) is several, its frames.
    std::vector<SegmentView> images;
    LogFileView log;
    bool is_log = false;
    Failure failure = Failure::kNone;
    Status st = ReadSegmentBytes(fs, seg.path, &bytes);
    if (st.ok() && IsLogFileImage(bytes.data(), bytes.size())) {
      is_log = true;
      DecodeLogFile(bytes.data(), bytes.size(), &log);
      // Frames of an epoch that a later file starts at were written by an attempt that failed
      // (its write or sync): the epoch was rewritten into that file. They are not applied.
      size_t keep = log.frames.size();
      if (!last) {
        while (keep > 0 && log.frames[keep - 1].header.epoch >= segments[i + 1].epoch) --keep;
      }
      if (keep < log.frames.size()) {
        log.frames.resize(keep);
        log.frame_offsets.resize(keep);
        log.damage_offset.reset();  // anything after a superseded frame is that attempt's too
        log.frame_after_damage = false;
      }
      if (log.frames.empty()) {
        st = log.damage.ok() ? Status::Corruption("log file has no frame") : log.damage;
        st = st.WithContext("segment " + seg.path);
      } else {
        images = std::move(log.frames);
      }
    } else if (st.ok()) {
      images.emplace_back();
      st = DecodeSegmentView(bytes.data(), bytes.size(), &images.back()).WithContext("segment " + seg.path);
    }
    if (!st.ok() && st.code() == Status::Code::kCorruption && !last) {
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
    } else {
      const SegmentView& contents = images.front();
      if (skipped_unwritten && prev_epoch.has_value() &&
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
        // recovery or cleanup. Between two segments on disk, the link must be exact (a log
        // file's frames after the first are chained by DecodeLogFile).
        failure = Failure::kGap;
        const uint64_t prev = contents.certificate->prev_durable_epoch;
        const uint64_t on_disk = *prev_epoch;
        st = Status::CertificateGap(
            "segment " + seg.path + " (epoch " + std::to_string(seg.epoch) +
            ") certifies that the previous durable segment is epoch " + std::to_string(prev) +
            ", but the previous segment on disk is epoch " + std::to_string(on_disk) +
            (prev > on_disk ? ": a segment is missing" : ": an uncertified segment is in the chain"));
      }
    }

    if (failure != Failure::kNone) {
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

    result->bytes_read += bytes.size();  // exactly the bytes decoded (the file's size)
    for (size_t f = 0; f < images.size(); ++f) {
      SegmentView& contents = images[f];
      const uint64_t epoch = contents.header.epoch;
      result->segments_recovered += 1;
      result->records_applied += contents.records.size();
      result->epochs.push_back(epoch);
      if (contents.certificate) result->certificates.push_back(*contents.certificate);
      RecoveredSegment applied_segment;
      applied_segment.epoch = epoch;
      applied_segment.path = seg.path;
      if (f == 0) {
        applied_segment.bytes = std::move(bytes);
      } else {
        applied_segment.shares_bytes = true;
      }
      applied_segment.view = std::move(contents);
      applied_segments->push_back(std::move(applied_segment));
      prev_epoch = epoch;
    }
    applied = i + 1;
    applied_index.push_back(i);
    skipped_unwritten = false;

    if (is_log && log.damage_offset.has_value()) {
      // Frames up to the damage were applied. What follows them was written after them (a whole
      // later frame in the file) or it is the newest write, torn by a crash. In the newest file
      // that is a torn tail; before a later file, that file must certify the last good frame
      // (checked above on the next round, through prev_epoch): a damaged acknowledged frame
      // would have been certified by it, so the chain catches it.
      const std::string where = "log file " + seg.path + ": " + log.damage.message();
      if (log.frame_after_damage) {
        Status bad = Status::Corruption(where + " (a whole later frame follows the damage)");
        if (!options.skip_corrupt) return bad;
        for (size_t k = i; k < segments.size(); ++k) result->partial_segments.push_back(segments[k].path);
        result->stop_reason = bad.message();
        break;
      }
      if (last) {
        result->torn_tail = true;
        result->partial_segments.push_back(seg.path);
        result->stop_reason = "torn tail: " + where;
        // Never deleted, even with discard_torn_tail: the file holds acknowledged frames. A
        // writer starts a new file; its first segment certifies the last good frame.
        break;
      }
    }
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
  const uint8_t* data = nullptr;  // the bytes of the current file (a log file's frames share them)
  SegmentBytes current;
  for (RecoveredSegment& s : segments) {
    if (!s.shares_bytes) {
      current = std::move(s.bytes);  // frees the previous file once its records are copied
      data = current.data();
    }
    for (const RecordView& v : s.view.records) MaterializeRecord(data, v, &(*records)[k++]);
  }
  return Status::OK();
}

}  // namespace pwal
