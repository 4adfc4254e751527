#include "wal.h"

#include "log_file.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <utility>

namespace pwal {

namespace {

using Clock = std::chrono::steady_clock;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

constexpr size_t kLatencySamples = 256;
constexpr int64_t kSpinBeforeSleepNs = 100 * 1000;

// In-process guard: one open Wal per canonical path (flock would refuse too, but this gives a
// clear message and does not depend on the FileSystem's lock flavour).
std::mutex& GuardMu() {
  static auto* mu = new std::mutex();
  return *mu;
}
std::set<std::string>& GuardSet() {
  static auto* s = new std::set<std::string>();
  return *s;
}

// The newest valid segment epoch. A newest segment that does not decode is a torn tail (the
// crash happened before it was acknowledged): deleted when allowed, so later segments never
// follow damage. The certificate link of the next segment points at the returned epoch.
// *next_epoch gets the first epoch to use: after every epoch ever named on disk, torn included.
Status ScanTail(FileSystem* fs, const std::string& db_path, bool discard_torn_tail,
                std::optional<uint64_t>* out, uint64_t* next_epoch) {
  out->reset();
  std::vector<SegmentEntry> segments;
  std::vector<std::string> dir_names;  // one listing serves the segments and the pool temporaries
  PWAL_RETURN_IF_ERROR(ListSegmentFiles(fs, db_path, &segments, &dir_names));
  *next_epoch = segments.empty() ? 0 : segments.back().epoch + 1;
  // Prepared files a crashed writer left: unwritten ones at the tail, and pool temporaries.
  // Neither holds anything acknowledged; they go (a later prepared file must start all zero).
  // Only the newest real segment can be torn; below it, unwritten orphans are skipped too, so
  // the returned epoch (the next certificate's link) is always a readable segment.
  bool removed = false;
  bool torn_checked = false;
  std::optional<uint64_t> log_last;  // the newest file is a log file: its last good frame
  const std::string dir = DirName(SegmentPath(db_path, 0));
  while (!segments.empty()) {
    bool unwritten = false;
    PWAL_RETURN_IF_ERROR(IsUnwrittenSegmentFile(fs, segments.back().path, &unwritten));
    if (unwritten) {
      PWAL_RETURN_IF_ERROR(DeleteSegment(fs, segments.back().path));
      segments.pop_back();
      removed = true;
      continue;
    }
    if (torn_checked) break;
    torn_checked = true;
    SegmentBytes bytes;
    Status st = ReadSegmentBytes(fs, segments.back().path, &bytes);
    if (st.ok() && IsLogFileImage(bytes.data(), bytes.size())) {
      // A log file: its first frame was synced before the file got its name, so it stays
      // whatever follows; a torn newest frame is left as it is (this writer never appends to
      // an existing log file: its next segment certifies the last good frame instead).
      LogFileView log;
      DecodeLogFile(bytes.data(), bytes.size(), &log);
      if (!log.frames.empty()) {
        if (log.frame_after_damage) {
          return log.damage.WithContext("log file " + segments.back().path +
                                        " (a whole later frame follows the damage)");
        }
        log_last = log.frames.back().header.epoch;
        *next_epoch = std::max(*next_epoch, *log_last + 1);
        SegmentHeader torn;
        if (log.damage_offset.has_value() &&
            DecodeSegmentHeader(bytes.data() + *log.damage_offset, bytes.size() - *log.damage_offset, &torn).ok()) {
          *next_epoch = std::max(*next_epoch, torn.epoch + 1);  // never reuse a number written
        }
        break;
      }
      st = log.damage.WithContext("segment " + segments.back().path);
    } else if (st.ok()) {
      SegmentView view;
      st = DecodeSegmentView(bytes.data(), bytes.size(), &view).WithContext("segment " + segments.back().path);
    }
    if (st.ok()) break;
    if (st.code() != Status::Code::kCorruption || !discard_torn_tail) return st;
    PWAL_RETURN_IF_ERROR(DeleteSegment(fs, segments.back().path));
    segments.pop_back();
    removed = true;
  }
  size_t temps = 0;
  PWAL_RETURN_IF_ERROR(RemovePreparedTemps(fs, db_path, dir_names, &temps));
  if (removed || temps > 0) {
    PWAL_RETURN_IF_ERROR(
        fs->SyncDir(dir, SyncMode::kFull).WithContext("discarding a torn tail / unused prepared files"));
  }
  if (!segments.empty()) *out = log_last.has_value() ? *log_last : segments.back().epoch;
  return Status::OK();
}

constexpr uint64_t kMinPreparedSize = 4096;
constexpr size_t kPrepareBatch = 32;
constexpr uint64_t kPreparedBytesAhead = 16u << 20;

uint64_t PreparedSizeFor(uint64_t bytes) {
  uint64_t want = bytes + bytes / 4;
  uint64_t p = kMinPreparedSize;
  while (p < want) p <<= 1;
  return p;
}

}  // namespace

const char* FlushTriggerName(FlushTrigger t) {
  switch (t) {
    case FlushTrigger::kTicker: return "ticker";
    case FlushTrigger::kAdaptive: return "adaptive";
    case FlushTrigger::kRequest: return "request";
    case FlushTrigger::kMaxDelay: return "max_delay";
    case FlushTrigger::kBackpressure: return "backpressure";
    case FlushTrigger::kFallback: return "fallback";
    case FlushTrigger::kManual: return "manual";
    case FlushTrigger::kClose: return "close";
  }
  return "unknown";
}

struct Wal::Listener {
  uint64_t id = 0;
  DurableListener fn;
  std::atomic<bool> active{true};
};

namespace {
// Recycled records (RecycleRecords): a producer takes this many at a time (one lock per batch
// of commits, not per commit); images up to this size are kept, up to this total.
constexpr size_t kSpareRecordsPerTake = 256;
constexpr size_t kSpareImageMaxBytes = 16 * 1024;
constexpr size_t kSpareBytesMax = 16u << 20;
}  // namespace

// ---- thread slots ----------------------------------------------------------------------------

namespace {
std::atomic<size_t> g_slot_counter{0};
thread_local size_t t_slot_value = static_cast<size_t>(-1);
}  // namespace

size_t ThreadSlot(size_t slot_count) {
  if (t_slot_value == static_cast<size_t>(-1)) {
    t_slot_value = g_slot_counter.fetch_add(1, std::memory_order_relaxed);
  }
  return slot_count == 0 ? 0 : t_slot_value % slot_count;
}

void ResetThreadSlotCounterForTesting() {
  g_slot_counter.store(0, std::memory_order_relaxed);
}

// ---- open / close ----------------------------------------------------------------------------

std::string CanonicalWalPath(const std::string& db_path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path p = fs::absolute(fs::path(db_path), ec);
  if (ec) return db_path;
  fs::path parent = fs::weakly_canonical(p.parent_path(), ec);
  if (ec) parent = p.parent_path().lexically_normal();
  return (parent / p.filename()).string();
}

Wal::Wal(std::string db_path, const WalOptions& options)
    : db_path_(std::move(db_path)), options_(options) {
  fs_ = options_.fs != nullptr ? options_.fs : FileSystem::Default();
  prep_fs_ = fs_;  // preparation I/O is not publication: kept out of the fsync histogram
  timing_fs_ = std::make_unique<TimingFileSystem>(fs_);
  fs_ = timing_fs_.get();
  fsync_ = options_.fsync;
  InitControl();
}

Status Wal::Open(const std::string& db_path, const WalOptions& options,
                 std::shared_ptr<Wal>* out) {
  out->reset();
  if (db_path.empty()) return Status::InvalidArgument("db path must not be empty");
  if (options.slot_count < 1 || options.slot_count > 65535) {
    return Status::InvalidArgument("slot_count must be in 1..65535, got " +
                                   std::to_string(options.slot_count));
  }
  if (options.buffer_capacity_bytes < kRecordOverheadBytes) {
    return Status::InvalidArgument("buffer_capacity_bytes must be at least " +
                                   std::to_string(kRecordOverheadBytes) + ", got " +
                                   std::to_string(options.buffer_capacity_bytes));
  }
  if (options.max_write_attempts < 1) {
    return Status::InvalidArgument("max_write_attempts must be >= 1");
  }
  if (options.format_version != kSegmentFormatV1 && options.format_version != kSegmentFormatV2) {
    return Status::InvalidArgument("format_version must be 1 or 2, got " +
                                   std::to_string(options.format_version));
  }
  if (options.policy == FlushPolicy::kTicker && options.epoch_interval_ms == 0) {
    return Status::InvalidArgument("epoch_interval_ms must be > 0 for the ticker policy");
  }

  const std::string canonical = CanonicalWalPath(db_path);
  std::shared_ptr<Wal> wal(new Wal(canonical, options));
  {
    std::lock_guard<std::mutex> g(GuardMu());
    if (!GuardSet().insert(canonical).second) {
      return Status::Locked("WAL " + canonical + " is already open in this process");
    }
  }
  wal->guard_key_ = canonical;
  auto release_guard = [&] {
    std::lock_guard<std::mutex> g(GuardMu());
    GuardSet().erase(canonical);
    wal->guard_key_.clear();
  };

  Status st = wal->fs_->LockFile(canonical + "-wal.lock", &wal->lock_);
  if (!st.ok()) {
    release_guard();
    if (st.code() == Status::Code::kLocked) return st;
    return st.WithContext("locking WAL " + canonical);
  }
  std::optional<uint64_t> max_on_disk;
  uint64_t first = 0;
  st = ScanTail(wal->fs_, canonical, options.discard_torn_tail, &max_on_disk, &first);
  if (!st.ok()) {
    wal->lock_.reset();
    release_guard();
    return st.WithContext("scanning segments of " + canonical);
  }
  BufferConfig bc;
  bc.capacity_bytes = options.buffer_capacity_bytes;
  bc.overflow = options.overflow;
  wal->coord_ = std::make_unique<EpochCoordinator>(options.slot_count, bc, first, max_on_disk);
  wal->has_prev_segment_ = max_on_disk.has_value();
  wal->prev_segment_epoch_ = max_on_disk.value_or(0);
  {
    PrepareMode pm = options.prepare;
    if (pm == PrepareMode::kAuto) {
      pm = options.fs == nullptr || options.fs == FileSystem::Default() ? PrepareMode::kBackground
                                                                      : PrepareMode::kOff;
    }
    if (options.format_version != kSegmentFormatV2 || options.fsync == FsyncPolicy::kOff ||
        options.publish || options.prepare_ahead == 0) {
      pm = PrepareMode::kOff;
    }
    wal->prep_on_ = pm != PrepareMode::kOff;
    wal->prep_background_ = pm == PrepareMode::kBackground;
    wal->log_mode_ = wal->prep_on_ && options.format_version == kSegmentFormatV2 &&
                     options.log_file_bytes >= kLogFrameAlign &&
                     options.log_file_bytes % kLogFrameAlign == 0 &&
                     options.log_file_bytes <= kMaxLogFileBytes;
    // kAuto decides after the first frames (NoteFrameSize).
    wal->fill_wanted_ = options.log_fill == LogFill::kAlways;
    wal->prep_floor_ = first;
  }
  if (options.start_flusher) {
    st = wal->Start(options.fsync);
    if (!st.ok()) {
      wal->Close(true);
      return st;
    }
  }
  *out = std::move(wal);
  return Status::OK();
}

Wal::~Wal() {
  if (coord_ != nullptr) Close(false);
  if (!guard_key_.empty()) {
    std::lock_guard<std::mutex> g(GuardMu());
    GuardSet().erase(guard_key_);
  }
}

// ---- submit ----------------------------------------------------------------------------------

Status Wal::Submit(size_t slot, const SubmitBatch& batch, uint64_t* epoch) {
  if (closing_.load(std::memory_order_acquire)) {
    return Status::Closed("WAL " + db_path_ + " is closed");
  }
  if (coord_->failed()) return coord_->FailureStatus();
  if (slot >= options_.slot_count) {
    return Status::InvalidArgument("slot " + std::to_string(slot) + " out of range (slot count " +
                                   std::to_string(options_.slot_count) + ")");
  }
  if (batch.txn_id == 0) return Status::InvalidArgument("txnToken id must be non-zero");
  if (batch.frame_count > 0 && batch.frames == nullptr) {
    return Status::InvalidArgument("frames must not be null");
  }
  uint32_t db_size = 0;
  for (size_t i = 0; i < batch.frame_count; ++i) {
    const SubmitFrame& f = batch.frames[i];
    if (f.page_number == 0) {
      return Status::InvalidArgument("frame " + std::to_string(i) + ": pageNumber must be non-zero");
    }
    if (f.page_size > kMaxImageBytes) {
      return Status::InvalidArgument("frame " + std::to_string(i) + ": pageData is " +
                                     std::to_string(f.page_size) + " bytes, max " +
                                     std::to_string(kMaxImageBytes));
    }
    if (f.page_size > 0 && f.page_data == nullptr) {
      return Status::InvalidArgument("frame " + std::to_string(i) + ": pageData is null");
    }
    if (f.db_size_if_commit > db_size) db_size = f.db_size_if_commit;
  }
  slot = RouteSlot(slot, batch);

  // Reused per thread: Append moves the records out and leaves the vector empty. Records come
  // from the spares of published epochs when there are any, images and all, so steady state
  // allocates nothing here (RecycleRecords). Spares are plain memory: any WAL's will do.
  thread_local std::vector<WalRecord> tl_records;
  thread_local std::vector<WalRecord> tl_spares;
  std::vector<WalRecord>& records = tl_records;
  records.clear();
  for (size_t i = 0; i < batch.frame_count; ++i) {
    if (tl_spares.empty() && spares_available_.load(std::memory_order_relaxed)) {
      TakeSpareRecords(&tl_spares, kSpareRecordsPerTake);
    }
    if (tl_spares.empty()) {
      records.emplace_back();
    } else {
      records.push_back(std::move(tl_spares.back()));
      tl_spares.pop_back();
    }
  }
  for (size_t i = 0; i < batch.frame_count; ++i) {
    const SubmitFrame& f = batch.frames[i];
    WalRecord& r = records[i];
    r.before_image.clear();
    r.txn_id = batch.txn_id;
    r.txn_epoch = batch.txn_epoch;
    r.page_id = f.page_number;
    r.begin_seq = batch.commit_seq;
    r.has_end_seq = true;
    r.end_seq = batch.commit_seq;
    r.after_image.assign(f.page_data, f.page_data + f.page_size);
  }
  const size_t n = records.size();
  uint64_t e = 0;
  AppendOutcome outcome = coord_->Append(slot, &records, db_size, &e);
  records.clear();  // refused: drop the copies now (appended: already moved out)
  switch (outcome) {
    case AppendOutcome::kAppended:
    case AppendOutcome::kAppendedOverflow: {
      submits_.fetch_add(1, std::memory_order_relaxed);
      submitted_records_.fetch_add(n, std::memory_order_relaxed);
      const uint64_t before = pending_records_.fetch_add(n, std::memory_order_seq_cst);
      if (before == 0) first_pending_ns_.store(NowNs(), std::memory_order_relaxed);
      if ((options_.policy == FlushPolicy::kAdaptive || before == 0) &&
          sleeping_.load(std::memory_order_seq_cst)) {
        WakeFlusher();
      }
      if (epoch != nullptr) *epoch = e;
      return Status::OK();
    }
    case AppendOutcome::kClosed:
      return Status::Closed("WAL " + db_path_ + " is closed");
    case AppendOutcome::kTooLarge:
      return Status::InvalidArgument("batch does not fit in an empty slot lane (capacity " +
                                     std::to_string(options_.buffer_capacity_bytes) + " bytes)");
    case AppendOutcome::kBlocked:
    case AppendOutcome::kFull:
    case AppendOutcome::kFallback: {
      backpressure_.fetch_add(1, std::memory_order_relaxed);
      if (outcome == AppendOutcome::kFallback) {
        drain_requested_.store(true, std::memory_order_seq_cst);
      } else if (options_.policy == FlushPolicy::kAdaptive) {
        flush_requested_.store(true, std::memory_order_seq_cst);
      }
      notify_requested_.store(true, std::memory_order_relaxed);
      if (sleeping_.load(std::memory_order_seq_cst)) WakeFlusher();
      return Status::Backpressure("slot " + std::to_string(slot) + " is full (" +
                                  AppendOutcomeName(outcome) + "); retry after the next epoch");
    }
  }
  return Status::IoError("unreachable append outcome");
}

Status Wal::SubmitWait(size_t slot, const SubmitBatch& batch, uint32_t timeout_ms,
                       uint64_t* epoch) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    Status st = Submit(slot, batch, epoch);
    if (st.code() != Status::Code::kBackpressure) return st;
    // Room appears when the flusher collects the slot; durable epochs move right after that.
    const std::optional<uint64_t> d = coord_->DurableEpoch();
    const uint64_t target = coord_->CurrentEpoch() > 0 ? coord_->CurrentEpoch() - 1 : 0;
    const uint64_t want = d.has_value() ? std::max(*d + 1, target) : target;
    bool durable = false;
    RequestFlushFor(want);
    st = coord_->WaitStep(want, deadline, &durable);
    if (st.code() == Status::Code::kTimeout) {
      return Status::Backpressure("slot " + std::to_string(slot) + " stayed full for " +
                                  std::to_string(timeout_ms) + " ms");
    }
    if (!st.ok()) return st;
  }
}

uint64_t Wal::CurrentEpoch() const { return coord_->CurrentEpoch(); }
std::optional<uint64_t> Wal::DurableEpoch() const { return coord_->DurableEpoch(); }
bool Wal::IsRunning() const { return running_.load(std::memory_order_acquire); }
bool Wal::IsClosed() const { return closing_.load(std::memory_order_acquire); }
bool Wal::IsFailed() const { return coord_->failed(); }
Status Wal::FailureStatus() const { return coord_->FailureStatus(); }

void Wal::WakeFlusher() {
  std::lock_guard<std::mutex> lock(wake_mu_);
  wake_cv_.notify_one();
}

void Wal::NoteRequestedEpoch(uint64_t epoch) {
  uint64_t cur = flush_request_epoch_.load(std::memory_order_relaxed);
  while (cur < epoch + 1 &&
         !flush_request_epoch_.compare_exchange_weak(cur, epoch + 1, std::memory_order_seq_cst)) {
  }
}

void Wal::RequestSeal(uint64_t epoch) {
  // The epoch first: the flusher reads it after taking the flag (both seq_cst).
  NoteRequestedEpoch(epoch);
  notify_requested_.store(true, std::memory_order_seq_cst);
  if (options_.policy == FlushPolicy::kAdaptive) {
    flush_requested_.store(true, std::memory_order_seq_cst);
    if (sleeping_.load(std::memory_order_seq_cst)) WakeFlusher();
  }
}

void Wal::RequestFlush() { RequestSeal(coord_->CurrentEpoch()); }

void Wal::RequestFlushFor(uint64_t epoch) {
  if (coord_->IsDurable(epoch)) return;
  if (epoch >= coord_->CurrentEpoch()) {
    RequestSeal(epoch);
  } else {
    notify_requested_.store(true, std::memory_order_seq_cst);
  }
}

bool Wal::HasPendingWork() const {
  return drain_requested_.load(std::memory_order_seq_cst) ||
         (options_.policy == FlushPolicy::kAdaptive &&
          (flush_requested_.load(std::memory_order_seq_cst) ||
           pending_records_.load(std::memory_order_seq_cst) > 0));
}

// ---- waiting / manual flush ------------------------------------------------------------------

Status Wal::WaitForEpochDurable(uint64_t epoch, uint32_t timeout_ms) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    if (coord_->IsDurable(epoch)) return Status::OK();
    RequestFlushFor(epoch);
    bool durable = false;
    Status st = coord_->WaitStep(epoch, deadline, &durable);
    if (!st.ok() || durable) return st;
  }
}

Status Wal::AdvanceAndFlush(uint32_t timeout_ms, uint64_t* new_epoch) {
  if (closing_.load(std::memory_order_acquire)) {
    return Status::Closed("WAL " + db_path_ + " is closed");
  }
  if (!flush_gate_.AcquireUntil(Clock::now() + std::chrono::milliseconds(timeout_ms))) {
    return Status::Timeout("advanceAndFlush: the flusher stayed busy for " +
                           std::to_string(timeout_ms) + " ms");
  }
  GateHold hold(&flush_gate_);
  FsyncPolicy fsync;
  {
    std::lock_guard<std::mutex> g(run_mu_);
    fsync = fsync_;
  }
  Status st = FlushCycleLocked(FlushTrigger::kManual, fsync, /*force_event=*/true);
  if (new_epoch != nullptr) *new_epoch = coord_->CurrentEpoch();
  return st;
}

// ---- the flush gate ----------------------------------------------------------------------------

bool Wal::FlushGate::AcquireUntil(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!cv_.wait_until(lock, deadline, [&] { return !busy_; })) return false;
  busy_ = true;
  return true;
}

void Wal::FlushGate::Acquire() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return !busy_; });
  busy_ = true;
}

void Wal::FlushGate::Release() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    busy_ = false;
  }
  cv_.notify_all();
}

// ---- the flush cycle -------------------------------------------------------------------------

Status Wal::PublishWithRetries(const EpochBatch& batch, const SegmentWriteOptions& options,
                               const PreparedFile* prepared, SegmentWriteResult* result,
                               uint32_t* attempts) {
  Status last;
  for (uint32_t a = 1; a <= options_.max_write_attempts; ++a) {
    *attempts = a;
    *result = SegmentWriteResult();
    // Every attempt writes a fresh file from the in-memory batch: a file whose write or fsync
    // failed is abandoned, never synced again (fsyncgate). The first attempt may go into the
    // epoch's prepared file; if it fails that file is deleted and later attempts write new
    // temporaries (renamed without replacing, so a prepared file that could not be deleted
    // makes them fail rather than be overwritten).
    bool log_tried = false;
    if (a == 1 && log_mode_) {
      last = WriteLogFrame(batch, options, result, &log_tried);
      if (last.ok()) {
        std::lock_guard<std::mutex> g(stats_mu_);
        ++stats_.prepared_publishes;
        return last;
      }
    }
    if (log_tried) {
      // The frame's file is abandoned; later attempts write the epoch into new files (recovery
      // then takes the file of this epoch over a frame of it: docs/durability.md).
    } else if (a == 1 && prepared != nullptr) {
      last = WritePreparedSegment(fs_, db_path_, batch, prepared->size, options, result);
      if (last.ok()) {
        std::lock_guard<std::mutex> g(stats_mu_);
        ++stats_.prepared_publishes;
        return last;
      }
      fs_->DeleteFile(SegmentPath(db_path_, batch.epoch));  // best effort
    } else if (options_.publish) {
      last = options_.publish(batch, options, result);
    } else {
      last = WriteNewSegment(fs_, db_path_, batch, options, result);
    }
    if (last.ok()) return last;
    std::lock_guard<std::mutex> g(stats_mu_);
    ++stats_.write_failures;
  }
  return last;
}

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

// ---- prepared segment files ------------------------------------------------------------------

bool Wal::ClaimPrepared(uint64_t e, bool has_records, PreparedFile* out) {
  if (!prep_on_) return false;
  std::vector<uint64_t> orphans;
  bool have = false;
  {
    std::lock_guard<std::mutex> g(prep_mu_);
    if (prep_floor_ < e + 1) prep_floor_ = e + 1;
    while (!prep_named_.empty() && prep_named_.begin()->first <= e) {
      auto it = prep_named_.begin();
      if (it->first == e && has_records) {
        *out = it->second;
        have = true;
      } else {
        orphans.push_back(it->first);
      }
      prep_named_.erase(it);
    }
  }
  if (prep_background_) prep_cv_.notify_one();
  // A prepared file whose number was sealed empty (or skipped) is an orphan: all zeros, never
  // acknowledged. Deleted now; the deletion needs no sync of its own (recovery skips an
  // unwritten file wherever it is, see docs/durability.md), the next directory sync covers it.
  for (uint64_t n : orphans) fs_->DeleteFile(SegmentPath(db_path_, n));
  if (have && !out->synced) {
    // Named but its name not yet durable: sync the directory now (the data would otherwise sit
    // in an inode whose name a crash can lose).
    Status st = fs_->SyncDir(DirName(SegmentPath(db_path_, e)), SyncMode::kFull);
    if (!st.ok()) {
      fs_->DeleteFile(SegmentPath(db_path_, e));
      std::lock_guard<std::mutex> g(prep_mu_);
      prep_failed_ = true;
      return false;
    }
    out->synced = true;
  }
  return have;
}

void Wal::NoteSegmentSize(uint64_t bytes) {
  if (!prep_on_) return;
  std::lock_guard<std::mutex> g(prep_mu_);
  if (prep_recent_sizes_.size() >= 16) prep_recent_sizes_.erase(prep_recent_sizes_.begin());
  prep_recent_sizes_.push_back(bytes);
  const uint64_t biggest = *std::max_element(prep_recent_sizes_.begin(), prep_recent_sizes_.end());
  const uint64_t want = PreparedSizeFor(biggest);
  // Epochs this big amortize a new file's metadata cost themselves, and zero-filling ahead
  // would double the bytes written: not worth preparing.
  if (want > kMaxPreparedSegmentBytes) {
    prep_size_ = 0;
  } else if (want > prep_size_ || want * 4 <= prep_size_) {
    // Grow at once; shrink only when far too big (a size that flips would waste the pool).
    prep_size_ = want;
  }
}

bool Wal::PrepareWanted() const {
  if (prep_failed_ || prep_stop_) return false;
  // Log mode: one log file ready beyond the one being written; nothing named ahead.
  if (log_mode_) return prep_log_temps_.empty() && fill_wanted_;
  if (prep_size_ == 0) return false;
  const size_t ahead = PrepareAhead();
  // Names are refilled only once half of them are used: naming one file per epoch would cost a
  // directory sync (a journal commit) per epoch, running concurrently with — and slowing — the
  // epoch's own data sync. In batches it is one directory sync per ahead/2 epochs. The pool
  // holds enough synced temporaries to refill the names at once, so the refill never waits
  // for zeros to be written.
  if (prep_named_.size() <= ahead / 2 && !prep_pool_.empty()) return true;
  if (prep_pool_.size() < PoolTarget(ahead)) return true;
  for (const auto& t : prep_pool_) {
    if (t.second != prep_size_) return true;  // stale size: replace
  }
  return false;
}

size_t Wal::PrepareAhead() const {
  // At most kPreparedBytesAhead of zeros named ahead (a few files at least, when segments are
  // large), so a burst of big epochs does not double the bytes written.
  const uint64_t by_bytes = prep_size_ == 0 ? 0 : kPreparedBytesAhead / prep_size_;
  return std::min<size_t>(options_.prepare_ahead,
                          static_cast<size_t>(std::max<uint64_t>(by_bytes, 4)));
}

bool Wal::PrepareRound(std::unique_lock<std::mutex>& lock) {
  if (!PrepareWanted()) return false;
  if (log_mode_) {
    // A zero-filled, synced log temporary (named when its first frame is written).
    const SyncMode mode = options_.fsync == FsyncPolicy::kNormal ? SyncMode::kData : SyncMode::kFull;
    lock.unlock();
    std::vector<std::string> made;
    Status st = CreatePreparedTemps(prep_fs_, db_path_, options_.log_file_bytes, mode, 1, &made);
    lock.lock();
    for (std::string& t : made) prep_log_temps_.push_back(std::move(t));
    if (!st.ok()) {
      prep_failed_ = true;  // publication goes on through new files
      return true;
    }
    std::lock_guard<std::mutex> g(stats_mu_);
    ++stats_.prepared_files;
    return true;
  }
  const size_t ahead = PrepareAhead();
  const uint64_t size = prep_size_;
  const SyncMode mode = options_.fsync == FsyncPolicy::kNormal ? SyncMode::kData : SyncMode::kFull;
  bool did = false;
  std::vector<std::string> stale;
  for (auto it = prep_pool_.begin(); it != prep_pool_.end();) {
    if (it->second != size) {
      stale.push_back(it->first);
      it = prep_pool_.erase(it);
    } else {
      ++it;
    }
  }
  // 1. Names, once half are used: pool files take the next epoch numbers (under the lock:
  //    ClaimPrepared sees either the name or the raised floor, never a half state), then one
  //    directory sync.
  bool named = false;
  if (prep_named_.size() <= ahead / 2) {
    while (prep_named_.size() < ahead && !prep_pool_.empty()) {
      const uint64_t target =
          prep_named_.empty() ? prep_floor_ : std::max(prep_floor_, prep_named_.rbegin()->first + 1);
      auto [temp, psize] = prep_pool_.back();
      prep_pool_.pop_back();
      Status st = NamePreparedSegment(prep_fs_, temp, db_path_, target);
      if (!st.ok()) {
        prep_fs_->DeleteFile(temp);
        prep_failed_ = true;
        break;
      }
      prep_named_[target] = PreparedFile{psize, false};
      named = true;
    }
  }
  if (named) {
    did = true;
    lock.unlock();
    Status st = prep_fs_->SyncDir(DirName(SegmentPath(db_path_, 0)), SyncMode::kFull);
    lock.lock();
    // Every file named above was named before this sync began (only this round names files;
    // rounds never overlap: the preparer thread, or the flush cycle under the gate).
    if (st.ok()) {
      for (auto& kv : prep_named_) kv.second.synced = true;
    } else {
      prep_failed_ = true;  // names of unknown durability: ClaimPrepared syncs (or gives up)
    }
    std::lock_guard<std::mutex> g(stats_mu_);
    ++stats_.prepared_files;
  }
  if (prep_failed_ || prep_stop_) return did;
  // 2. Pool: temporaries of the wanted size, zeros written and synced (outside the lock).
  const size_t target = PoolTarget(ahead);
  const size_t make = prep_pool_.size() < target ? std::min(kPrepareBatch, target - prep_pool_.size()) : 0;
  if (make > 0 || !stale.empty()) {
    did = true;
    lock.unlock();
    for (const std::string& p : stale) prep_fs_->DeleteFile(p);
    std::vector<std::string> made;
    Status st;
    if (make > 0) st = CreatePreparedTemps(prep_fs_, db_path_, size, mode, make, &made);
    lock.lock();
    for (std::string& t : made) prep_pool_.emplace_back(std::move(t), size);
    if (!st.ok()) prep_failed_ = true;
  }
  return did;
}

void Wal::PreparerLoop() {
  std::unique_lock<std::mutex> lock(prep_mu_);
  while (!prep_stop_) {
    if (PrepareRound(lock)) continue;
    prep_cv_.wait(lock, [&] { return prep_stop_ || PrepareWanted(); });
  }
}

void Wal::StopPreparer() {
  {
    std::lock_guard<std::mutex> g(prep_mu_);
    if (!prep_thread_.joinable()) return;
    prep_stop_ = true;
  }
  prep_cv_.notify_all();
  prep_thread_.join();
  std::lock_guard<std::mutex> g(prep_mu_);
  prep_stop_ = false;
}

void Wal::DropPreparedFiles() {
  if (!prep_on_) return;
  std::map<uint64_t, PreparedFile> named;
  std::vector<std::pair<std::string, uint64_t>> pool;
  {
    std::lock_guard<std::mutex> g(prep_mu_);
    named.swap(prep_named_);
    pool.swap(prep_pool_);
    for (std::string& t : prep_log_temps_) pool.emplace_back(std::move(t), 0);
    prep_log_temps_.clear();
    prep_failed_ = true;  // no more preparation after close
  }
  TrimLogFile();
  // Best effort: whatever survives is all zero and never acknowledged; the next open (or
  // CleanupSegments) removes it.
  for (const auto& kv : named) fs_->DeleteFile(SegmentPath(db_path_, kv.first));
  for (const auto& t : pool) fs_->DeleteFile(t.first);
  if (!named.empty() || !pool.empty()) {
    fs_->SyncDir(DirName(SegmentPath(db_path_, 0)), SyncMode::kFull);
  }
}

Status Wal::FlushCycleLocked(FlushTrigger trigger, FsyncPolicy fsync, bool force_event,
                             bool* had_work) {
  if (had_work != nullptr) *had_work = false;
  if (coord_->failed()) return coord_->FailureStatus();
  const int64_t oldest_pending_ns = first_pending_ns_.load(std::memory_order_relaxed);
  const bool fallback = coord_->AnyFallbackLatched();
  // This seal satisfies every seal request made so far (they were for epochs <= the one sealed
  // now); clearing it before advancing keeps a request that raced with the flusher's wake-up
  // from sealing an extra, empty epoch right after. A request made after this point names an
  // epoch that is still open and stays set.
  if (options_.policy == FlushPolicy::kAdaptive) {
    flush_requested_.store(false, std::memory_order_seq_cst);
  }
  const uint64_t e = coord_->AdvanceEpoch() - 1;
  EpochBatch batch;
  size_t taken = 0;
  coord_->FlushEpoch(e, &batch, &taken);
  if (taken > 0) {
    const uint64_t left = pending_records_.fetch_sub(taken, std::memory_order_seq_cst) - taken;
    first_pending_ns_.store(left > 0 ? NowNs() : 0, std::memory_order_relaxed);
  }
  const bool notify = notify_requested_.exchange(false, std::memory_order_seq_cst) || force_event;
  if (had_work != nullptr) *had_work = taken > 0;
  {
    std::lock_guard<std::mutex> g(stats_mu_);
    ++stats_.epochs_sealed;
  }

  DurableEvent ev;
  ev.epoch = e;
  ev.trigger = trigger;
  ev.records = batch.records.size();
  ev.fallback_active = fallback;
  AnnotateEvent(batch, oldest_pending_ns, notify, &ev);

  if (batch.records.empty()) {
    // An epoch with no records is durable without a file (a file prepared for it is an orphan).
    ClaimPrepared(e, false, nullptr);
    coord_->CompleteEpoch(e);
    coord_->MarkEpochDurable(e);
    {
      std::lock_guard<std::mutex> g(stats_mu_);
      ++stats_.empty_epochs;
      ++stats_.epochs_durable;
    }
    if (notify || taken > 0) {
      ev.durable_epoch = coord_->DurableEpoch();
      Dispatch(ev);
    }
    return Status::OK();
  }

  SegmentWriteOptions wo;
  wo.fsync_policy = fsync;
  wo.format_version = options_.format_version;
  wo.has_prev = has_prev_segment_;
  wo.prev_durable_epoch = prev_segment_epoch_;
  wo.fallback_active = fallback;
  SegmentWriteResult res;
  uint32_t attempts = 0;
  const int64_t t0 = NowNs();
  PreparedFile prepared;
  const bool use_prepared =
      ClaimPrepared(e, true, &prepared) && options_.format_version == kSegmentFormatV2;
  Status st = PublishChecked(e, batch, wo, use_prepared ? &prepared : nullptr, &res, &attempts, &ev);
  const uint64_t write_ns = static_cast<uint64_t>(NowNs() - t0);
  // The records left memory with `batch`; free the lanes (and any fallback latch).
  coord_->CompleteEpoch(e);
  ev.attempts = attempts;
  ev.write_ns = write_ns;

  if (!st.ok()) {
    Status cause = st.WithContext("write_segment(" + std::to_string(e) + ") failed after " +
                                  std::to_string(attempts) + " attempt(s)");
    coord_->MarkEpochFailed(e, cause);
    ev.failed = true;
    ev.fatal = true;
    ev.failed_epoch = e;
    ev.error = coord_->FailureStatus();
    ev.durable_epoch = coord_->DurableEpoch();
    Dispatch(ev);
    return Status::IoError("write_segment(" + std::to_string(e) + ") failed: " + st.message(),
                           st.sys_errno());
  }

  has_prev_segment_ = true;
  prev_segment_epoch_ = e;
  {
    std::lock_guard<std::mutex> g(stats_mu_);
    ++stats_.epochs_durable;
    ++stats_.segments_written;
    stats_.records_written += batch.records.size();
    stats_.bytes_written += res.bytes_written;
    if (fsync != FsyncPolicy::kOff) ++stats_.fsyncs;
    if (stats_.write_latency_ns.size() >= kLatencySamples) {
      stats_.write_latency_ns.erase(stats_.write_latency_ns.begin());
    }
    stats_.write_latency_ns.push_back(write_ns);
    if (stats_.epoch_records.size() >= kLatencySamples) {
      stats_.epoch_records.erase(stats_.epoch_records.begin());
    }
    stats_.epoch_records.push_back(batch.records.size());
  }
  // Stats first, then durability (waiters wake), then the listeners.
  coord_->MarkEpochDurable(e);
  ev.bytes_written = res.bytes_written;
  ev.durable_epoch = coord_->DurableEpoch();
  Dispatch(ev);
  NoteSegmentSize(res.bytes_written);
  RecycleRecords(&batch.records);
  if (prep_on_) {
    if (prep_background_) {
      prep_cv_.notify_one();
    } else {
      // Inline: prepare the next files now, after the epoch's waiters were told.
      std::unique_lock<std::mutex> lock(prep_mu_);
      while (PrepareRound(lock)) {
      }
    }
  }
  return Status::OK();
}

// ---- recycled records --------------------------------------------------------------------------

void Wal::RecycleRecords(std::vector<WalRecord>* records) {
  std::lock_guard<std::mutex> g(spare_mu_);
  for (WalRecord& r : *records) {
    // Only ordinary page images, and a bounded total: a burst of big pages is not kept.
    const size_t bytes = r.after_image.capacity() + r.before_image.capacity();
    if (bytes > kSpareImageMaxBytes || spare_bytes_ + bytes > kSpareBytesMax) break;
    spare_bytes_ += bytes;
    spare_records_.push_back(std::move(r));
  }
  spares_available_.store(!spare_records_.empty(), std::memory_order_relaxed);
  // The records not kept are freed here, with `records`, by the caller.
}

void Wal::TakeSpareRecords(std::vector<WalRecord>* out, size_t max) {
  std::lock_guard<std::mutex> g(spare_mu_);
  while (max-- > 0 && !spare_records_.empty()) {
    WalRecord& r = spare_records_.back();
    spare_bytes_ -= r.after_image.capacity() + r.before_image.capacity();
    out->push_back(std::move(r));
    spare_records_.pop_back();
  }
  spares_available_.store(!spare_records_.empty(), std::memory_order_relaxed);
}

// ---- the flusher thread ----------------------------------------------------------------------

void Wal::FlusherLoop(FsyncPolicy fsync) {
  flusher_id_.store(std::this_thread::get_id(), std::memory_order_release);
  const bool adaptive = options_.policy == FlushPolicy::kAdaptive;
  const auto interval = std::chrono::milliseconds(options_.epoch_interval_ms);
  const int64_t max_delay_ns = static_cast<int64_t>(options_.max_flush_delay_ms) * 1000000;
  auto next_tick = Clock::now() + interval;
  bool last_had_work = false;

  while (!stop_requested_.load(std::memory_order_acquire)) {
    FlushTrigger trigger = FlushTrigger::kAdaptive;
    bool go = false;
    bool resend = false;
    if (adaptive && last_had_work) {
      // Right after an epoch was published its waiters are being resolved and will commit
      // again within microseconds: poll briefly (yielding the CPU) before paying for a
      // condition-variable sleep and wake-up (tens of microseconds on a loaded machine).
      const int64_t until = NowNs() + kSpinBeforeSleepNs;
      while (!HasPendingWork() && !stop_requested_.load(std::memory_order_acquire) &&
             NowNs() < until) {
        std::this_thread::yield();
      }
    }
    {
      std::unique_lock<std::mutex> lock(wake_mu_);
      while (!go && !stop_requested_.load(std::memory_order_acquire)) {
        const auto now = Clock::now();
        const uint64_t pending = pending_records_.load(std::memory_order_seq_cst);
        const int64_t first = first_pending_ns_.load(std::memory_order_relaxed);
        if (drain_requested_.exchange(false, std::memory_order_seq_cst)) {
          trigger = FlushTrigger::kFallback;
          go = true;
        } else if (adaptive && flush_requested_.exchange(false, std::memory_order_seq_cst)) {
          if (pending > 0 ||
              flush_request_epoch_.load(std::memory_order_seq_cst) > coord_->CurrentEpoch()) {
            trigger = pending > 0 ? FlushTrigger::kAdaptive : FlushTrigger::kRequest;
            go = true;
          } else if (notify_requested_.load(std::memory_order_seq_cst)) {
            // The request raced with the seal that covered its epoch: sealing again would only
            // make an empty epoch. But that seal may have read "nobody waits" just before the
            // waiter said otherwise, so send the durable state again instead.
            resend = true;
            go = true;
          }
        } else if (adaptive && pending > 0) {
          trigger = FlushTrigger::kAdaptive;
          go = true;
        } else if (!adaptive && now >= next_tick) {
          trigger = FlushTrigger::kTicker;
          go = true;
        } else if (pending > 0 && max_delay_ns > 0 && first != 0 &&
                   NowNs() - first >= max_delay_ns) {
          trigger = FlushTrigger::kMaxDelay;
          go = true;
        }
        if (go) break;
        // Sleep. Dekker: publish sleeping_, then re-check what producers publish before they
        // read sleeping_ (all seq_cst), so no wake-up is lost.
        sleeping_.store(true, std::memory_order_seq_cst);
        if (HasPendingWork() || stop_requested_.load(std::memory_order_seq_cst)) {
          sleeping_.store(false, std::memory_order_seq_cst);
          continue;
        }
        bool have_deadline = !adaptive;
        auto deadline = next_tick;
        if (max_delay_ns > 0 && pending_records_.load(std::memory_order_seq_cst) > 0) {
          int64_t first_now = first_pending_ns_.load(std::memory_order_relaxed);
          const int64_t now_ns = NowNs();
          if (first_now == 0) first_now = now_ns;  // producer still publishing its timestamp
          auto d = Clock::now() +
                   std::chrono::nanoseconds(std::max<int64_t>(0, first_now + max_delay_ns - now_ns));
          if (!have_deadline || d < deadline) deadline = d;
          have_deadline = true;
        }
        if (have_deadline) {
          wake_cv_.wait_until(lock, deadline);
        } else {
          wake_cv_.wait(lock);
        }
        sleeping_.store(false, std::memory_order_seq_cst);
      }
    }
    if (!go) break;
    if (resend) {
      flush_gate_.Acquire();
      GateHold hold(&flush_gate_);
      if (notify_requested_.exchange(false, std::memory_order_seq_cst)) {
        DurableEvent ev;
        ev.resend = true;
        ev.trigger = FlushTrigger::kRequest;
        ev.durable_epoch = coord_->DurableEpoch();
        ev.epoch = ev.durable_epoch.value_or(0);
        Dispatch(ev);
      }
      last_had_work = false;
      continue;
    }
    Status st;
    {
      flush_gate_.Acquire();
      GateHold hold(&flush_gate_);
      st = FlushCycleLocked(trigger, fsync, /*force_event=*/false, &last_had_work);
    }
    if (!adaptive && trigger == FlushTrigger::kTicker) {
      next_tick += interval;
      const auto now = Clock::now();
      if (next_tick <= now) next_tick = now + interval;
    }
    if (coord_->failed()) break;  // fatal: the flusher stops; Submit reports the failure
  }
  running_.store(false, std::memory_order_release);
}

Status Wal::Start(FsyncPolicy fsync) {
  std::lock_guard<std::mutex> g(run_mu_);
  if (closing_.load(std::memory_order_acquire)) {
    return Status::Closed("WAL " + db_path_ + " is closed");
  }
  if (coord_->failed()) return coord_->FailureStatus();
  if (thread_.joinable()) {
    if (running_.load(std::memory_order_acquire)) {
      return Status::InvalidArgument("coordinator already running");
    }
    thread_.join();  // a loop that ended on its own (failure)
  }
  stop_requested_.store(false, std::memory_order_release);
  fsync_ = fsync;
  running_.store(true, std::memory_order_release);
  try {
    thread_ = std::thread(&Wal::FlusherLoop, this, fsync);
  } catch (const std::exception& ex) {
    running_.store(false, std::memory_order_release);
    return Status::IoError(std::string("failed to start the flusher thread: ") + ex.what());
  }
  if (prep_background_ && fsync != FsyncPolicy::kOff) {
    std::lock_guard<std::mutex> g(prep_mu_);
    if (!prep_thread_.joinable() && !prep_failed_) {
      try {
        prep_thread_ = std::thread(&Wal::PreparerLoop, this);
      } catch (const std::exception&) {
        prep_failed_ = true;  // publication still works, through new files
      }
    }
  }
  return Status::OK();
}

void Wal::Stop() {
  if (std::this_thread::get_id() == flusher_id_.load(std::memory_order_acquire)) {
    // From a listener: cannot join ourselves; the loop ends after this cycle.
    stop_requested_.store(true, std::memory_order_seq_cst);
    return;
  }
  std::lock_guard<std::mutex> g(run_mu_);
  StopPreparer();
  if (!thread_.joinable()) return;
  stop_requested_.store(true, std::memory_order_seq_cst);
  WakeFlusher();
  thread_.join();
  flusher_id_.store(std::thread::id(), std::memory_order_release);
  running_.store(false, std::memory_order_release);
}

Status Wal::Close(bool abort) {
  std::lock_guard<std::mutex> cg(close_mu_);
  if (closed_.load(std::memory_order_acquire)) return close_status_;
  closing_.store(true, std::memory_order_seq_cst);
  coord_->CloseIntake();  // a barrier: every append that got in is visible to the final drain
  Stop();
  Status st;
  DurableEvent ev;
  ev.closed = true;
  ev.trigger = FlushTrigger::kClose;
  {
    flush_gate_.Acquire();
    GateHold hold(&flush_gate_);
    if (!abort && !coord_->failed()) {
      FsyncPolicy fsync;
      {
        std::lock_guard<std::mutex> g(run_mu_);
        fsync = fsync_;
      }
      st = FlushCycleLocked(FlushTrigger::kClose, fsync, /*force_event=*/false);
    } else {
      // After a fatal failure the pending records can never become durable: a non-aborting
      // close must say so instead of reporting success (callers treat OK as "all durable").
      if (!abort && coord_->failed()) st = coord_->FailureStatus();
      coord_->DiscardAll();
      pending_records_.store(0, std::memory_order_seq_cst);
    }
    DropPreparedFiles();
    coord_->MarkClosed();
    closed_.store(true, std::memory_order_release);
    ev.epoch = coord_->CurrentEpoch();
    ev.durable_epoch = coord_->DurableEpoch();
    if (coord_->failed()) {
      ev.failed = true;
      ev.fatal = true;
      ev.failed_epoch = coord_->FailedEpoch().value_or(0);
      ev.error = coord_->FailureStatus();
    }
    Dispatch(ev);
  }
  lock_.reset();
  if (!guard_key_.empty()) {
    std::lock_guard<std::mutex> g(GuardMu());
    GuardSet().erase(guard_key_);
    guard_key_.clear();
  }
  close_status_ = st;
  return st;
}

// ---- listeners -------------------------------------------------------------------------------

uint64_t Wal::AddListener(DurableListener listener) {
  auto l = std::make_shared<Listener>();
  l->fn = std::move(listener);
  std::lock_guard<std::mutex> g(listeners_mu_);
  l->id = next_listener_id_++;
  listeners_.push_back(l);
  return l->id;
}

void Wal::RemoveListener(uint64_t id) {
  {
    std::lock_guard<std::mutex> g(listeners_mu_);
    for (auto it = listeners_.begin(); it != listeners_.end(); ++it) {
      if ((*it)->id == id) {
        (*it)->active.store(false, std::memory_order_release);
        listeners_.erase(it);
        break;
      }
    }
  }
  if (dispatch_thread_.load(std::memory_order_acquire) == std::this_thread::get_id()) return;
  // Wait for an in-progress dispatch (which may hold a copy of the listener) to finish.
  std::lock_guard<std::mutex> d(dispatch_mu_);
}

void Wal::Dispatch(const DurableEvent& ev) {
  std::lock_guard<std::mutex> d(dispatch_mu_);
  dispatch_thread_.store(std::this_thread::get_id(), std::memory_order_release);
  std::vector<std::shared_ptr<Listener>> snapshot;
  {
    std::lock_guard<std::mutex> g(listeners_mu_);
    snapshot = listeners_;
  }
  for (const auto& l : snapshot) {
    if (!l->active.load(std::memory_order_acquire)) continue;
    l->fn(ev);
    events_delivered_.fetch_add(1, std::memory_order_relaxed);
  }
  dispatch_thread_.store(std::thread::id(), std::memory_order_release);
}

// ---- stats -----------------------------------------------------------------------------------

WalStats Wal::Stats() const {
  WalStats s;
  {
    std::lock_guard<std::mutex> g(stats_mu_);
    s = stats_;
  }
  s.submits = submits_.load(std::memory_order_relaxed);
  s.submitted_records = submitted_records_.load(std::memory_order_relaxed);
  s.backpressure = backpressure_.load(std::memory_order_relaxed);
  s.events_delivered = events_delivered_.load(std::memory_order_relaxed);
  const BufferPool& pool = coord_->pool();
  for (size_t i = 0; i < pool.size(); ++i) {
    s.contention += pool.slot(i).contention();
    s.overflow_appends += pool.slot(i).overflow_appends();
    s.fallback_entries += pool.slot(i).fallback_entries();
  }
  FillControlStats(&s);
  return s;
}

}  // namespace pwal
