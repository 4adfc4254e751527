// Wal's log files (contracts in wal.h, format in log_file.h): epochs written as frames into a
// preallocated file, one positioned write and one data sync each; whether files are zero-filled
// ahead or grown by appends (LogFill::kAuto). Flusher side: called under the flush gate.
#include <algorithm>
#include <mutex>

#include "log_file.h"
#include "wal.h"
#include "wal_internal.h"

namespace pwal {

namespace {
using wal_internal::NowNs;
}  // namespace

// ---- log files ----------------------------------------------------------------------------------

namespace {
uint64_t AlignFrame(uint64_t x) { return (x + kLogFrameAlign - 1) / kLogFrameAlign * kLogFrameAlign; }
// LogFill::kAuto appends while frames take slots at this rate or more, and zero-fills again
// below half of it, measured over windows of kFillWindowNs (NoteFrameSize).
constexpr double kAppendBytesPerSec = 128.0 * 1024 * 1024;
constexpr int64_t kFillWindowNs = 100 * 1000 * 1000;
}  // namespace

void Wal::TrimLogFile() {
  // Best effort, and harmless either way: the frames are durable already and the reader stops
  // at the end of the file as at a zero slot; a crash before the sync leaves the old size, all
  // zeros after the last frame. Not done to an abandoned file (never written again).
  if (log_file_ && log_filled_ && log_off_ < options_.log_file_bytes) {
    Status st = log_file_->Truncate(log_off_);
    if (st.ok() && options_.fsync != FsyncPolicy::kOff) log_file_->Sync(SyncMode::kFull);
  }
  CloseLogFile();
}

void Wal::CloseLogFile() {
  if (log_file_) log_file_->Close();  // frames written are synced; nothing else to keep
  log_file_.reset();
  log_path_.clear();
  log_off_ = 0;
  log_filled_ = false;
}

void Wal::NoteFrameSize(uint64_t bytes) {
  if (options_.log_fill != LogFill::kAuto) return;
  // Zero-filling writes every slot a frame takes twice (zeros ahead, then the frame), so it is
  // worth it only while the disk has bandwidth to spare. The rate of slot bytes taken, over
  // windows of kFillWindowNs, decides: appending from kAppendBytesPerSec, zero-filling again
  // below half of it (hysteresis, so a load near the threshold does not flip the choice every
  // file); the first window decides at the midpoint. Nothing is zero-filled before: a fill
  // started at open would compete with a heavy load's first epochs for the disk. Measured on
  // this package's bench machine (docs/performance.md, "Log files"): zero-filled slots make one
  // or a few dozen commits per epoch cheaper (the data sync has no size to update); at ~200
  // MB/s of frames the fill's writeback shows as slow syncs behind it.
  const int64_t now = options_.clock_ns ? options_.clock_ns() : NowNs();
  if (fill_window_start_ns_ == 0) fill_window_start_ns_ = now;
  fill_window_bytes_ += AlignFrame(bytes);
  const int64_t elapsed = now - fill_window_start_ns_;
  if (elapsed < kFillWindowNs) return;
  const double rate = static_cast<double>(fill_window_bytes_) * 1e9 / static_cast<double>(elapsed);
  fill_window_start_ns_ = now;
  fill_window_bytes_ = 0;
  bool want;
  if (!fill_decided_) {
    fill_decided_ = true;
    want = rate < kAppendBytesPerSec * 0.75;
  } else if (rate >= kAppendBytesPerSec) {
    want = false;
  } else if (rate < kAppendBytesPerSec / 2) {
    want = true;
  } else {
    return;
  }
  std::lock_guard<std::mutex> g(prep_mu_);
  if (want == fill_wanted_) return;
  fill_wanted_ = want;
  if (want && prep_background_) prep_cv_.notify_one();
}

Status Wal::WriteLogFrame(const EpochBatch& batch, const SegmentWriteOptions& options,
                          SegmentWriteResult* result, bool* tried) {
  *tried = false;
  SegmentWriteOptions o = options;
  o.frame = true;
  SegmentBytes bytes;  // a recycled buffer: no zero-filling, no allocation once warm
  CommitCertificate cert;
  PWAL_RETURN_IF_ERROR(EncodeSegment(batch, o, &bytes, &cert));
  // The frame's own size; a frame into a file grown by appends is written with the zeros up
  // to its next slot (frame_sync_mode, below), in the same write: they are synced with the frame, so
  // a crash cannot leave anything but zeros between two frames (the reader rejects a frame
  // followed by non-zero padding), and the next frame starts exactly at the end of the file.
  const size_t frame_bytes = bytes.size();
  const uint64_t capacity = options_.log_file_bytes;
  NoteFrameSize(frame_bytes);
  // Epochs this big amortize a new file's metadata cost themselves, and zero-filling ahead for
  // them would double the bytes written: they go through a file of their own (which ends the
  // current log file, below).
  const bool fits = frame_bytes <= std::min<uint64_t>(capacity, kMaxPreparedSegmentBytes);
  // How a frame goes into a file: into a zero-filled one as it is, with a data sync; into one
  // grown by appends padded to its slot, with the sync a new size needs.
  const auto frame_sync_mode = [&](bool filled) {
    if (!filled) bytes.ZeroPadTo(AlignFrame(frame_bytes));
    return filled ? PreparedFileSyncMode(options.fsync_policy) : NewFileSyncMode(options.fsync_policy);
  };
  // A file grown by appends ends early once zero-filling is wanted and a filled file is ready
  // (the first file of a session, made before the preparer's first file, or a load that fell).
  bool switch_to_filled = false;
  if (log_file_ && !log_filled_) {
    std::lock_guard<std::mutex> g(prep_mu_);
    switch_to_filled = fill_wanted_ && !prep_log_temps_.empty();
  }
  if (fits && log_file_ && !switch_to_filled && log_off_ + frame_bytes <= capacity) {
    // The common case: the next slot of the current file. Zero-filled: the slot is already on
    // disk, no size change, no new inode, no name: one write and one data sync. Grown by
    // appends: the write extends the file and the sync makes the new size durable with it.
    *tried = true;
    const SyncMode mode = frame_sync_mode(log_filled_);
    Status st = log_file_->WriteAt(log_off_, bytes.data(), bytes.size());
    if (st.ok() && mode != SyncMode::kNone) st = log_file_->Sync(mode);
    if (!st.ok()) {
      // Never written or synced again (fsyncgate): the frames before it are durable and stay.
      const std::string where = "writing epoch " + std::to_string(batch.epoch) + " into log file " + log_path_;
      CloseLogFile();
      return st.WithContext(where);
    }
    result->bytes_written = frame_bytes;
    result->path = log_path_;
    result->frame = true;
    result->offset = log_off_;
    result->certificate = std::move(cert);
    log_off_ = AlignFrame(log_off_ + frame_bytes);
    return Status::OK();
  }
  // Whatever happens below, this epoch does not go into the current file: it is finished. (A
  // frame written into it after an epoch published elsewhere would follow a later file, and
  // recovery treats such frames as superseded attempts.)
  CloseLogFile();
  if (!fits) return Status::NotFound("frame too large for a log file");
  std::string temp;
  {
    std::lock_guard<std::mutex> g(prep_mu_);
    if (!prep_log_temps_.empty()) {
      temp = std::move(prep_log_temps_.back());
      prep_log_temps_.pop_back();
    }
  }
  // The preparer makes the next log file once this one is named, not before: zero-filling it
  // while the directory sync below runs would make that sync (a journal commit, which in
  // ordered mode first writes the new file's freshly allocated blocks) wait for all of it.
  struct WakePreparer {
    Wal* wal;
    ~WakePreparer() {
      if (wal->prep_background_) wal->prep_cv_.notify_one();
    }
  } wake{this};
  // A new log file: its first frame is written and synced under the temporary name, then the
  // file is named after that frame's epoch and the directory synced, so a named log file
  // always starts with a durable frame (the ordinary publication protocol). Into a zero-filled
  // temporary when one is ready (even when appending is preferred: its zeros are already
  // paid for), else into a new empty one.
  *tried = true;
  const bool filled = !temp.empty();
  const SyncMode mode = frame_sync_mode(filled);
  const std::string final_path = SegmentPath(db_path_, batch.epoch);
  const std::string context = "starting log file " + final_path;
  std::unique_ptr<WritableFile> file;
  Status st = filled ? fs_->ReopenForOverwrite(temp, &file) : CreateEmptyPoolTemp(fs_, db_path_, &temp, &file);
  if (st.ok()) st = file->WriteAt(0, bytes.data(), bytes.size());
  if (st.ok() && mode != SyncMode::kNone) st = file->Sync(mode);
  if (!st.ok()) {
    if (file) file->Close();
    if (!temp.empty()) fs_->DeleteFile(temp);
    return st.WithContext(context);
  }
  st = fs_->RenameNoReplace(temp, final_path);
  if (!st.ok()) {
    file->Close();
    fs_->DeleteFile(temp);
    return st.WithContext(context);
  }
  if (options.fsync_policy != FsyncPolicy::kOff) {
    st = fs_->SyncDir(DirName(final_path), SyncMode::kFull);
    if (!st.ok()) {
      // Not acknowledged: the name goes again (as in the ordinary protocol).
      file->Close();
      fs_->DeleteFile(final_path);
      return st.WithContext(context);
    }
  }
  log_file_ = std::move(file);
  log_path_ = final_path;
  log_off_ = AlignFrame(frame_bytes);
  log_filled_ = filled;
  {
    std::lock_guard<std::mutex> g(stats_mu_);
    ++(filled ? stats_.log_files_filled : stats_.log_files_appended);
  }
  result->bytes_written = frame_bytes;
  result->path = final_path;
  result->frame = true;
  result->offset = 0;
  result->certificate = std::move(cert);
  return Status::OK();
}

}  // namespace pwal
