// Wal::Checkpoint: retiring the oldest files of an open log (contract in wal.h).
//
// A file is named by its first epoch and holds epochs below the next file's name, so a file is
// wholly <= E when the next file's name is <= E + 1. Requiring that next name to be durable too
// means the WAL has moved past the file for good: the flusher never writes an older file again
// (a retry or a new log file always gets a new name above the durable epoch), so deleting it
// needs no coordination with the flusher. The newest published file is never deleted: nothing
// durable follows it.
//
// Deleting oldest first, with a directory sync after each deletion, makes every crash state a
// suffix of the log. Recovery does not check the first file's link to its predecessor
// (segment_recovery.cc: older segments may have been deleted), but it does check every later
// link: a deletion that became durable before an older one would read as a gap.
#include <algorithm>

#include "wal.h"

namespace pwal {

Status Wal::Checkpoint(uint64_t upto, CheckpointResult* out) {
  *out = CheckpointResult{};
  std::lock_guard<std::mutex> lock(checkpoint_mu_);
  if (closing_.load(std::memory_order_acquire)) return Status::Closed("checkpoint: the WAL is closed");
  const std::optional<uint64_t> durable = DurableEpoch();
  // Preparation's file system: the configured one, untimed (dir syncs here are not publication).
  FileSystem* fs = prep_fs_;
  std::vector<SegmentEntry> files;
  PWAL_RETURN_IF_ERROR(ListSegmentFiles(fs, db_path_, &files).WithContext("checkpoint"));
  FsyncPolicy running;
  {
    std::lock_guard<std::mutex> g(run_mu_);
    running = fsync_;  // start(fsyncPolicy) may differ from the policy the WAL was opened with
  }
  const bool sync_dir = options_.fsync != FsyncPolicy::kOff || running != FsyncPolicy::kOff;
  size_t deleted = 0;
  if (durable) {
    const uint64_t limit = std::min(upto, *durable);
    const std::string dir = DirName(SegmentPath(db_path_, 0));
    for (size_t i = 0; i + 1 < files.size(); ++i) {
      const uint64_t next = files[i + 1].epoch;
      if (next > limit + 1 || next > *durable) break;
      uint64_t size = 0;
      if (!fs->GetFileSize(files[i].path, &size).ok()) size = 0;
      Status st = fs->DeleteFile(files[i].path);
      // Already gone: the flusher drops orphaned prepared files below the epoch it seals.
      if (!st.ok() && st.code() != Status::Code::kNotFound) return st.WithContext("checkpoint");
      if (sync_dir) {
        PWAL_RETURN_IF_ERROR(fs->SyncDir(dir, SyncMode::kFull).WithContext("checkpoint"));
      }
      if (st.ok()) {
        out->files_deleted++;
        out->bytes_freed += size;
      }
      deleted = i + 1;
    }
  }
  if (deleted < files.size()) out->first_retained_epoch = files[deleted].epoch;
  return Status::OK();
}

}  // namespace pwal
