// Wal::Checkpoint: retiring the oldest files of an open log (contract in wal.h).
//
// A file is named by its first epoch and holds epochs below the next file's name, so a file is
// wholly <= E when the next file's name is <= E + 1. Requiring that next name to be durable too
// means the WAL has moved past the file for good: the flusher never writes an older file again
// (a retry or a new log file always gets a new name above the durable epoch), so retiring it
// needs no coordination with the flusher. The newest published file is never retired: nothing
// durable follows it.
//
// Retiring oldest first, with a directory sync after each rename, makes every crash state a
// suffix of the log. Recovery does not check the first file's link to its predecessor
// (segment_recovery.cc: older segments may have been deleted), but it does check every later
// link: a retirement that became durable before an older one would read as a gap.
//
// A file is taken out of the log by a rename (cheap: one directory entry) and only then freed,
// a few MiB at a time: the blocks of a whole log file freed by one unlink kept a CPU and the
// file system's journal busy for 15-25 ms, and every commit in flight waited behind it
// (docs/performance.md, "Session 10").
#include <algorithm>
#include <chrono>
#include <thread>

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

  // 1. Out of the log, oldest first.
  Status st;
  size_t kept = 0;  // files[kept] is the oldest file left in the log
  if (durable) {
    const uint64_t limit = std::min(upto, *durable);
    const std::string dir = DirName(SegmentPath(db_path_, 0));
    for (size_t i = 0; i + 1 < files.size(); ++i) {
      const uint64_t next = files[i + 1].epoch;
      if (next > limit + 1 || next > *durable) break;
      uint64_t size = 0;
      if (!fs->GetFileSize(files[i].path, &size).ok()) size = 0;
      const std::string retired = NewPoolTempPath(db_path_);
      const Status renamed = fs->RenameNoReplace(files[i].path, retired);
      // Already gone: the flusher drops orphaned prepared files below the epoch it seals.
      if (!renamed.ok() && renamed.code() != Status::Code::kNotFound) {
        st = renamed.WithContext("checkpoint");
        break;
      }
      kept = i + 1;
      if (renamed.ok()) {
        retired_.push_back(RetiredFile{retired, size});
        out->files_deleted++;
        out->bytes_freed += size;
      }
      if (sync_dir) {
        st = fs->SyncDir(dir, SyncMode::kFull).WithContext("checkpoint");
        if (!st.ok()) break;
      }
    }
  }
  if (st.ok() && kept < files.size()) out->first_retained_epoch = files[kept].epoch;

  // 2. Free what is out of the log, also what an earlier checkpoint could not.
  Status freed = FreeRetiredFiles(fs);
  return st.ok() ? freed : st;
}

Status Wal::FreeRetiredFiles(FileSystem* fs) {
  const uint64_t step = options_.checkpoint_step_bytes;
  const auto pause = std::chrono::nanoseconds(options_.checkpoint_step_pause_ns);
  Status first_error;
  std::vector<RetiredFile> left;
  for (const RetiredFile& retired : retired_) {
    const std::string& path = retired.path;
    // Shrink first, from the end, a step at a time (best effort: the deletion frees the rest).
    // Once the WAL closes, no more pauses: Close must not wait for them.
    uint64_t size = retired.size;
    if (step > 0 && size > step) {
      std::unique_ptr<WritableFile> file;
      if (fs->ReopenForOverwrite(path, &file).ok()) {
        while (size > step && !closing_.load(std::memory_order_acquire)) {
          size -= step;
          if (!file->Truncate(size).ok()) break;
          if (pause.count() > 0) std::this_thread::sleep_for(pause);
        }
        file->Close();
      }
    }
    const Status st = fs->DeleteFile(path);
    if (st.ok() || st.code() == Status::Code::kNotFound) continue;
    if (first_error.ok()) first_error = st.WithContext("checkpoint");
    left.push_back(retired);  // out of the log already: the next checkpoint (or open) frees it
  }
  retired_.swap(left);
  return first_error;
}

}  // namespace pwal
