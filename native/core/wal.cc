// Wal (contracts in wal.h): open and the scan of the log's tail, submission, waiting, the
// lifecycle (start, stop, close), listeners and stats. The flusher side is in wal_flusher.cc,
// log files in wal_log_files.cc, prepared files in wal_prepared.cc, checkpoints in
// wal_checkpoint.cc, the control surface in wal_control.cc.
#include "wal.h"

#include "log_file.h"
#include "wal_internal.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <set>
#include <string>
#include <utility>

namespace pwal {

namespace {

using wal_internal::Clock;
using wal_internal::NowNs;

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
// Recycled records (RecycleRecords, wal_flusher.cc): a producer takes this many at a time (one
// lock per batch of commits, not per commit).
constexpr size_t kSpareRecordsPerTake = 256;
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

void Wal::HoldSealForTurn(size_t resolved_records) {
  if (options_.policy != FlushPolicy::kAdaptive || options_.turn_hold_ns <= 0) return;
  // Commits already waiting that are at least half as many as those being resolved: the turn
  // would add no more than they are, and holding would leave the flusher idle for the turn
  // while they wait (at 1,024 commits in flight the closed loop keeps two halves, one syncing
  // while the other is resolved; holding for each turn cost ~40 us a cycle, ~10%). Seal them.
  const uint64_t pending = pending_records_.load(std::memory_order_seq_cst);
  if (pending >= std::max<size_t>(1, resolved_records / 2)) return;
  if (turn_hold_skip_.load(std::memory_order_relaxed) > 0) {
    turn_hold_skip_.fetch_sub(1, std::memory_order_relaxed);
    return;
  }
  // The start first: the flusher reads it after seeing the flag (both seq_cst).
  turn_hold_since_ns_.store(NowNs(), std::memory_order_seq_cst);
  turn_held_.store(true, std::memory_order_seq_cst);
  turn_holds_.fetch_add(1, std::memory_order_relaxed);
}

void Wal::EndTurn() {
  if (turn_held_.exchange(false, std::memory_order_seq_cst)) {
    turn_hold_backoff_.store(0, std::memory_order_relaxed);  // ended in time
  }
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
  s.turn_holds = turn_holds_.load(std::memory_order_relaxed);
  s.turn_holds_expired = turn_holds_expired_.load(std::memory_order_relaxed);
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
