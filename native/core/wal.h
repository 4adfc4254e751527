// Wal: one open parallel write-ahead log (the seed's ParallelWalCoordinator plus a native
// flusher thread), and the process-wide registry that shares one Wal per path.
//
// Data flow: producers call Submit() from any thread; a batch becomes WalRecords in the caller's
// slot (PerCoreWalBuffer, see per_core_buffer.h) tagged with the slot's append epoch. The flusher
// thread (one per running Wal) seals an epoch (EpochCoordinator::AdvanceEpoch), builds its
// EpochBatch, publishes it through the segment layer (WriteSegment: encode + CRC + temp file +
// fsync + rename + dir sync, all on the flusher thread), marks the epoch durable and then calls
// every listener ONCE for that epoch transition (group commit).
//
// THREAD CONTRACTS (summary; each method repeats its own):
// - Submit, CurrentEpoch, DurableEpoch, ThreadSlot, RequestFlush, Stats, IsRunning, IsFailed:
//   any thread, concurrently, lock-light (Submit takes exactly one mutex: its slot's).
// - WaitForEpochDurable, AdvanceAndFlush, Start, Stop, Close: any thread EXCEPT the flusher
//   thread (i.e. never from inside a listener); they may block.
// - AddListener / RemoveListener: any thread, including from inside a listener. After
//   RemoveListener(id) returns (when not called from a listener) the listener is not running and
//   will never be called again.
// - Listeners run on the flusher thread (or on the thread doing AdvanceAndFlush/Close when the
//   flusher is stopped). They must be quick and must not call blocking Wal methods; the N-API
//   binding forwards each event to its environment through a thread-safe function.
// - The destructor closes (abort=false) if Close was not called; never destroy a Wal from a
//   listener (the registry never does: its last release runs on the releasing thread).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "epoch_coordinator.h"
#include "file_system.h"
#include "per_core_buffer.h"
#include "segment.h"
#include "status.h"
#include "wal_control.h"
#include "wal_record.h"

namespace pwal {

enum class FlushPolicy {
  kTicker,    // the seed's fixed interval: seal every epoch_interval_ms (empty epochs included)
  kAdaptive,  // default: seal as soon as records/waiters are pending and no write is running
};

// The publish step, injectable for tests. Default: WriteSegment(fs, db_path, batch, opts, res).
// Called on the flusher thread; each call must write a NEW file (never re-sync a failed one).
using PublishFn = std::function<Status(const EpochBatch& batch, const SegmentWriteOptions& options,
                                       SegmentWriteResult* result)>;

// Prepared segment files (docs/durability.md): files of future epochs created ahead of time
// (zeros written and synced, final name, directory synced), so that publishing an epoch is one
// in-place overwrite plus one data sync instead of create + sync + rename + directory sync.
enum class PrepareMode {
  kAuto,        // kBackground when the file system is the default POSIX one, the format is
                // v2, fsync is not off and no publish hook is set; else kOff
  kOff,         // every epoch is published through a new temporary file
  kInline,      // the flush cycle prepares after publishing (deterministic; crash tests)
  kBackground,  // a preparer thread (started and stopped with the flusher) keeps files ready
};

// How log files get their blocks (WalOptions::log_fill).
enum class LogFill {
  kAuto,    // by the rate at which frames take slots (per 100 ms): zero-filled while the disk
            // has bandwidth to spare, grown by appends under heavy load (NoteFrameSize in
            // wal_log_files.cc)
  kAlways,  // always zero-filled by the preparer (an epoch waits for none: without one ready
            // the next log file is grown by appends)
  kNever,   // always grown by appends
};

struct WalOptions {
  size_t slot_count = kDefaultSlotCount;                   // 1..65535
  size_t buffer_capacity_bytes = kDefaultBufferCapacity;   // per slot lane (48 B + images/record)
  OverflowPolicy overflow = OverflowPolicy::kBlockWriter;
  uint32_t epoch_interval_ms = 10;   // ticker period (kTicker)
  FlushPolicy policy = FlushPolicy::kAdaptive;
  // Upper bound on how long a pending record waits before its epoch is sealed (both policies;
  // under kTicker pending records are sealed after min(interval, this)). 0 = no extra bound.
  uint32_t max_flush_delay_ms = 10;
  FsyncPolicy fsync = FsyncPolicy::kFull;
  uint16_t format_version = kSegmentFormatV2;
  uint32_t max_write_attempts = 3;   // >= 1; each attempt writes a fresh temporary file
  bool start_flusher = true;         // Open starts the flusher thread (seed: created stopped)
  // Open deletes a newest segment that does not decode (a torn tail from a crash; never
  // acknowledged) so the log continues from a valid chain. Off: Open fails with Corruption.
  bool discard_torn_tail = true;
  FileSystem* fs = nullptr;          // nullptr = FileSystem::Default(); must outlive the Wal
  PublishFn publish;                 // tests only; empty = WriteSegment on fs
  PrepareMode prepare = PrepareMode::kAuto;
  uint32_t prepare_ahead = 64;       // prepared files kept named ahead of the current epoch
                                     // (refilled, with one directory sync, at half)
  // Log files (log_file.h; needs preparation on and format v2): epochs are written as frames
  // into a preallocated log file of this many bytes (a multiple of kLogFrameAlign), one
  // positioned write + one data sync each, instead of one prepared file per epoch. 0: off.
  uint64_t log_file_bytes = 64u << 20;
  // Whether log files are zero-filled ahead (a frame is then a write + a data sync into blocks
  // already on disk) or grown by appending (each frame's sync also makes the new size durable).
  // Zero-filling makes small frames cheaper but writes every byte twice, which under a heavy
  // load costs more than it saves. kAuto follows the rate of slots taken (NoteFrameSize in
  // wal_log_files.cc).
  LogFill log_fill = LogFill::kAuto;
  // Tests only: the monotonic clock (nanoseconds) LogFill::kAuto measures rates with.
  std::function<int64_t()> clock_ns;
  // The longest the adaptive flusher holds a seal for a consumer's turn (HoldSealForTurn).
  // 0: never holds.
  int64_t turn_hold_ns = 250 * 1000;
  // How a checkpoint frees a file it has taken out of the log (Wal::Checkpoint): shrunk by this
  // many bytes at a time, pausing this long after each step, then deleted. Freeing 64 MiB at
  // once (one unlink) kept a CPU and the journal busy for 15-25 ms on the bench machine, and
  // every commit in flight waited behind it. 0 bytes: deleted at once.
  uint64_t checkpoint_step_bytes = 4u << 20;
  int64_t checkpoint_step_pause_ns = 2 * 1000 * 1000;
  WalControlOptions control;         // mode, lanes, batch limit, shadow sampling (wal_control.h)
};

// Why the flusher sealed an epoch (the adaptive policy's decision, for decision records).
enum class FlushTrigger {
  kTicker,        // interval elapsed
  kAdaptive,      // records pending and the writer idle
  kRequest,       // RequestFlush / a waiter
  kMaxDelay,      // max_flush_delay_ms elapsed with records pending
  kBackpressure,  // a slot reported full
  kFallback,      // AllocateOverflow latched the fallback: serialized drain
  kManual,        // AdvanceAndFlush
  kClose,         // Close(abort=false) final drain
};
const char* FlushTriggerName(FlushTrigger t);

// Delivered once per epoch transition (never per commit).
struct DurableEvent {
  // Largest epoch known durable after this event (nullopt: none yet). Every epoch <= it is
  // durable; commits tagged with such an epoch may be acknowledged.
  std::optional<uint64_t> durable_epoch;
  uint64_t epoch = 0;            // the epoch this event is about
  bool failed = false;           // this epoch could not be made durable
  bool fatal = false;            // the Wal is failed: every epoch >= failed_epoch is rejected
  uint64_t failed_epoch = 0;
  Status error;                  // cause when failed (IoError naming the epoch)
  bool resend = false;           // not a transition: the durable state sent again, for a waiter
                                 // whose (empty) epoch became durable without an event of its own
  bool closed = false;           // final event of Close: epochs > durable_epoch are rejected
                                 // with Closed (abort) — settle every remaining waiter
  // Decision/trace data for the epoch.
  FlushTrigger trigger = FlushTrigger::kAdaptive;
  uint64_t records = 0;
  uint64_t bytes_written = 0;    // 0 for an empty epoch (no file)
  uint32_t attempts = 0;         // publish attempts (1 = first write succeeded)
  uint64_t write_ns = 0;         // publish duration (encode + write + fsync + rename + dirsync)
  bool fallback_active = false;
  // Control/trace fields (filled by AnnotateEvent/PublishChecked; cheap counters only).
  uint8_t mode = 0;                 // WalMode configured when the epoch was sealed
  uint8_t fallback_reason = 0;      // FallbackReason active after the cycle (0: none)
  uint8_t shadow_verdict = 0;       // ShadowVerdict of this epoch's segment
  uint32_t lanes = 0;               // slots that contributed records
  uint32_t lane_count = 0;          // routing lanes in force
  uint64_t batch_bytes = 0;         // accounted bytes sealed (48 per record + images)
  uint64_t oldest_pending_ns = 0;   // age of the oldest pending record at the seal (0: none)
  uint64_t prev_write_ns = 0;       // publish time of the previous segment
  uint64_t fsync_ns = 0;            // time spent in fsync/dir sync during this publish
  uint64_t overflow_batches = 0;    // batches routed to lane 0 by max_parallel_commit_bytes
  uint64_t contention_delta = 0;    // slot lock contention since the previous seal
  bool waiters = false;             // a waiter asked for this transition
  bool has_seq = false;
  uint64_t commit_seq_lo = 0;
  uint64_t commit_seq_hi = 0;
};

using DurableListener = std::function<void(const DurableEvent&)>;

struct WalStats {
  uint64_t epochs_sealed = 0;
  uint64_t epochs_durable = 0;
  uint64_t empty_epochs = 0;
  uint64_t segments_written = 0;
  uint64_t records_written = 0;
  uint64_t bytes_written = 0;
  uint64_t fsyncs = 0;              // publishes that synced (one per segment when fsync != off)
  uint64_t write_failures = 0;      // failed publish attempts (each rewritten to a new file)
  uint64_t submits = 0;
  uint64_t submitted_records = 0;
  uint64_t backpressure = 0;        // Submit refused: slot full
  uint64_t contention = 0;          // slot try_lock failures (another thread held the slot)
  uint64_t overflow_appends = 0;    // AllocateOverflow appends beyond capacity
  uint64_t fallback_entries = 0;    // times the fallback latch was set
  uint64_t events_delivered = 0;
  uint64_t prepared_files = 0;      // prepared files created (zeros synced; per-epoch files named, log files pooled)
  uint64_t prepared_publishes = 0;  // epochs published in place: into a prepared file, or as a frame of a log file
  uint64_t log_files_filled = 0;    // log files started in a zero-filled temporary
  uint64_t log_files_appended = 0;  // log files started empty and grown by appending frames
  uint64_t turn_holds = 0;          // seals held for a consumer's turn (HoldSealForTurn)
  uint64_t turn_holds_expired = 0;  // ... of which ran out before the turn ended
  // Recent publish latencies in nanoseconds (newest last, at most 256).
  std::vector<uint64_t> write_latency_ns;
  std::vector<uint64_t> epoch_records;  // records per recent non-empty epoch (at most 256)
  // Control (wal_control.cc).
  uint8_t mode = 0;                 // WalMode configured
  uint8_t fallback_reason = 0;      // FallbackReason active (0: none)
  uint32_t lane_count = 0;
  uint64_t fallbacks[kFallbackReasonCount] = {};  // entries by reason (index 0 unused)
  uint64_t shadow_clean = 0;
  uint64_t shadow_diverged = 0;
  uint64_t fsync_count = 0;         // timed file and directory syncs
  uint64_t fsync_p50_ns = 0;
  uint64_t fsync_p99_ns = 0;
  uint64_t fsync_max_ns = 0;
};

struct SubmitFrame {
  uint32_t page_number = 0;       // != 0
  const uint8_t* page_data = nullptr;
  size_t page_size = 0;           // <= kMaxImageBytes
  uint32_t db_size_if_commit = 0;
};

struct SubmitBatch {
  uint64_t txn_id = 0;            // != 0
  uint32_t txn_epoch = 0;
  uint64_t commit_seq = 0;
  const SubmitFrame* frames = nullptr;
  size_t frame_count = 0;
};

class Wal {
 public:
  // Opens the log of `db_path`: takes the advisory lock "<db_path>-wal.lock" (Locked when
  // another process — or another Wal in this process — holds it), scans the newest segment on
  // disk so the first epoch is max+1 (history is never overwritten), starts the flusher unless
  // options.start_flusher is false. Any thread.
  static Status Open(const std::string& db_path, const WalOptions& options,
                     std::shared_ptr<Wal>* out);

  ~Wal();
  Wal(const Wal&) = delete;
  Wal& operator=(const Wal&) = delete;

  // Appends the batch's frames as records in `slot` (use ThreadSlot(SlotCount())), all or none.
  // Mapping (the seed's): txn token, epoch = slot append epoch, page_id = page_number,
  // begin_seq = end_seq = commit_seq, after_image = page data, before_image empty.
  // InvalidArgument: page 0, txn 0, image > 65536, no frames, slot out of range, batch larger
  // than a lane can ever hold. Backpressure: slot full (BlockWriter) or the fallback latch is
  // set (AllocateOverflow) — nothing appended, a drain is requested; retry after the next event.
  // Closed after Close; IoError "WAL failed at epoch N: ..." once failed. *epoch gets the epoch
  // the commit belongs to: it is durable once DurableEpoch() >= *epoch.
  // Any thread; one mutex (the slot's); wakes the flusher only when it sleeps.
  Status Submit(size_t slot, const SubmitBatch& batch, uint64_t* epoch);
  // Submit, but waits (up to timeout_ms) for room instead of returning Backpressure.
  // Any thread except the flusher.
  Status SubmitWait(size_t slot, const SubmitBatch& batch, uint32_t timeout_ms, uint64_t* epoch);

  uint64_t CurrentEpoch() const;                 // any thread
  std::optional<uint64_t> DurableEpoch() const;  // any thread
  size_t SlotCount() const { return options_.slot_count; }
  const std::string& db_path() const { return db_path_; }
  const WalOptions& options() const { return options_; }

  // Blocks until `epoch` is durable (OK), the Wal failed at or before it (IoError), the Wal is
  // closed without making it durable (Closed), or timeout (Timeout). Requests flushes as needed.
  // Any thread except the flusher.
  Status WaitForEpochDurable(uint64_t epoch, uint32_t timeout_ms);

  // Seals the current epoch and makes it (and everything before it) durable now, on the calling
  // thread when the flusher is stopped, else serialized with it. *new_epoch (may be null) gets
  // the new current epoch. Returns the publish error ("write_segment(E) failed: ...") if the
  // epoch could not be made durable. Any thread except the flusher.
  Status AdvanceAndFlush(uint32_t timeout_ms, uint64_t* new_epoch);

  // Starts the flusher thread with `fsync` (InvalidArgument "already running" if it runs;
  // Closed after Close). Stop joins it (idempotent); pending records stay buffered.
  // Any thread except the flusher.
  Status Start(FsyncPolicy fsync);
  Status Start() { return Start(options_.fsync); }
  void Stop();
  bool IsRunning() const;  // any thread

  // "A commit is waiting": the adaptive flusher seals at its next opportunity, and the next
  // epoch transition is reported to listeners even if that epoch is empty. Call it when a JS
  // waiter exists for an epoch > DurableEpoch() (again after each event while one remains).
  // Any thread, cheap (no syscall unless the flusher sleeps).
  void RequestFlush();
  // RequestFlush for a waiter of `epoch`: always asks for the next transition to be reported,
  // but only asks for a seal when `epoch` is not sealed yet (epoch >= CurrentEpoch()), so a
  // waiter of an epoch already being written costs nothing extra.
  void RequestFlushFor(uint64_t epoch);
  // Only "report the next epoch transition even if empty" (no seal request): for a listener
  // that starts waiting; the waiter's own RequestFlushFor asks for the seal if one is needed.
  void RequestNotify() { notify_requested_.store(true, std::memory_order_seq_cst); }

  // Sealing after a consumer's turn (adaptive policy). A listener that hands a durable event to
  // a consumer who commits again at once (a JS thread resolving the commits' promises, whose
  // callers commit again in the same turn) calls HoldSealForTurn(n); the consumer calls EndTurn()
  // when its turn is over. In between, the flusher does not seal what is pending, so the new
  // commits join the epoch of those already waiting instead of an epoch of their own one sync
  // later: a closed loop of N commits makes one epoch per sync instead of halves that alternate.
  // `resolved_records` is how many records the event being handed over made durable: when the
  // records already pending are at least half that many, no hold is taken (those commits would
  // wait for a turn that adds no more than they are).
  // A hold lasts at most options.turn_hold_ns. One that runs out switches holds off for the next
  // 2, 4, 8, ... up to kTurnHoldSkip epochs while they keep running out (turns that long overlap
  // better with an epoch sealed at once); a turn that ends in time resets that.
  // Only when an epoch is sealed changes: never what becomes durable, nor in which order.
  // Any thread (HoldSealForTurn typically from a listener, on the flusher thread).
  void HoldSealForTurn(size_t resolved_records);
  void EndTurn();
  static constexpr int kTurnHoldSkip = 64;

  // Stops intake (Submit -> Closed), then: abort=false makes every pending epoch durable;
  // abort=true drops them (their waiters get Closed). Joins the flusher, releases the lock,
  // delivers a final event with closed=true. Idempotent; returns the final publish error if any.
  // Any thread except the flusher.
  Status Close(bool abort = false);
  bool IsClosed() const;   // any thread
  bool IsFailed() const;   // any thread
  Status FailureStatus() const;  // the fatal error, OK if not failed

  uint64_t AddListener(DurableListener listener);  // any thread; returns an id > 0
  void RemoveListener(uint64_t id);               // any thread (see contract above)

  WalStats Stats() const;  // any thread; a snapshot

  // Checkpoint (wal_checkpoint.cc): the application has applied every epoch <= `upto` to its
  // own storage and no longer needs them replayed. Takes the log's oldest files whose epochs
  // are all <= min(upto, DurableEpoch()) out of the log, oldest first: each is renamed to a pool
  // temporary (which readers never list) and the directory synced (fsync policy not off), so
  // that a crash at any point leaves a suffix of the log: recovery never sees a gap. Then frees
  // them (shrunk step by step, options.checkpoint_step_bytes, then deleted; a crash leaves the
  // temporaries to the next open). Whole files only: a log file that also holds a later epoch
  // stays, and so does the newest published file (the next frame's certificate links to it;
  // reopening continues after it). Records of epochs <= upto in kept files still replay (replay
  // is idempotent). Runs beside the flusher (it only touches files the WAL will never write
  // again). A file taken out of the log but not freed (an I/O error, reported) is freed by the
  // next checkpoint. Closed after Close. Any thread except the flusher; serialized with other
  // checkpoints.
  struct CheckpointResult {
    uint64_t files_deleted = 0;
    uint64_t bytes_freed = 0;
    std::optional<uint64_t> first_retained_epoch;  // name epoch of the oldest file left
  };
  Status Checkpoint(uint64_t upto, CheckpointResult* out);

  // Internal access for tests.
  EpochCoordinator* coordinator() { return coord_.get(); }

  // ---- control surface (wal_control.cc) ----
  // Sets the configured mode. kConservative enters the fallback with kOperatorForced (unless
  // a fallback is already active); kAuto/kShadowCompare leave any active fallback. Returns
  // the fallback reason active before the call. Any thread.
  FallbackReason SetMode(WalMode mode);
  WalMode Mode() const;
  FallbackReason ActiveFallback() const;
  // Enters the fallback for `reason` (counted; a no-op if one is already active, except that
  // the entry is still counted). Any thread.
  void EnterFallback(FallbackReason reason);
  // Counts a fallback event that does not change the mode (lane_overflow per batch,
  // controller_evidence_lost, checkpoint_conflict). Any thread.
  void CountFallback(FallbackReason reason);
  // Lanes producers are routed to now (1 while conservative).
  uint32_t EffectiveLaneCount() const;

 private:
  Wal(std::string db_path, const WalOptions& options);
  struct Listener;

  void FlusherLoop(FsyncPolicy fsync);
  // One seal -> collect -> publish -> durable cycle. Caller holds flush_gate_.
  // *had_work gets whether the cycle sealed any record.
  Status FlushCycleLocked(FlushTrigger trigger, FsyncPolicy fsync, bool force_event,
                          bool* had_work = nullptr);
  struct PreparedFile {
    uint64_t size = 0;
    bool synced = false;  // a directory sync completed after it was named
  };
  Status PublishWithRetries(const EpochBatch& batch, const SegmentWriteOptions& options,
                            const PreparedFile* prepared, SegmentWriteResult* result,
                            uint32_t* attempts);
  // Prepared files. ClaimPrepared: epoch e is being sealed; numbers <= e are never named again,
  // lower named files are orphans (deleted), and e's file (if any, and if the epoch has records)
  // is handed to the caller, its name made durable. Caller holds flush_gate_.
  bool ClaimPrepared(uint64_t e, bool has_records, PreparedFile* out);
  // One round of preparation work (refill the pool, name files ahead, sync the directory).
  // Called with `lock` (on prep_mu_) held; releases it during I/O. Returns whether it did work.
  bool PrepareRound(std::unique_lock<std::mutex>& lock);
  bool PrepareWanted() const;  // prep_mu_ held: a round has work (names at or below half)
  size_t PrepareAhead() const;  // prep_mu_ held: files to keep named for the current size
  // Synced temporaries kept in the pool: enough to refill the names at once.
  static size_t PoolTarget(size_t ahead) { return ahead - ahead / 2; }
  void PreparerLoop();
  void StopPreparer();
  void NoteSegmentSize(uint64_t bytes);
  void DropPreparedFiles();  // Close: delete every prepared file and pool temporary
  // Log files. WriteLogFrame: attempt 1 of an epoch in log mode. Writes the frame into the
  // current log file, or starts a new one from a prepared log temporary (write, sync, name,
  // directory sync). *tried: an I/O was attempted (false: no log file available, nothing
  // written; the caller publishes the ordinary way). A failed write or sync abandons the file
  // for good. Caller holds flush_gate_.
  Status WriteLogFrame(const EpochBatch& batch, const SegmentWriteOptions& options,
                       SegmentWriteResult* result, bool* tried);
  // kAuto: counts the slot bytes a frame takes and, once per window, decides from their rate
  // whether the preparer zero-fills the next log file. Flusher (flush_gate_ holder) only.
  void NoteFrameSize(uint64_t bytes);
  // Flusher: keeps `records` (a published epoch's) for reuse, up to a bound; frees the rest.
  void RecycleRecords(std::vector<WalRecord>* records);
  // Producers: moves up to `max` spare records into *out (empty when none are spare).
  void TakeSpareRecords(std::vector<WalRecord>* out, size_t max);
  void CloseLogFile();  // flush_gate_ held (or the flusher stopped): the file stays on disk
  // Close: the current log file is cut after its last frame (its unused zeros go) and synced.
  void TrimLogFile();
  void Dispatch(const DurableEvent& ev);
  // Control hooks (wal_control.cc).
  size_t RouteSlot(size_t slot, const SubmitBatch& batch);
  Status PublishChecked(uint64_t epoch, const EpochBatch& batch, const SegmentWriteOptions& options,
                        const PreparedFile* prepared, SegmentWriteResult* result,
                        uint32_t* attempts, DurableEvent* ev);
  // Compares what was submitted with what `where` says was written (a segment file, or a
  // frame of a log file at its offset).
  ShadowVerdict ShadowCompareSegment(const EpochBatch& batch, const SegmentWriteOptions& options,
                                     const SegmentWriteResult& where);
  void AnnotateEvent(const EpochBatch& batch, int64_t oldest_pending_ns, bool waiters,
                     DurableEvent* ev);
  void FillControlStats(WalStats* s) const;
  void InitControl();
  void WakeFlusher();
  void NoteRequestedEpoch(uint64_t epoch);
  void RequestSeal(uint64_t epoch);  // a seal (adaptive) and a report are wanted for `epoch`
  bool HasPendingWork() const;
  bool TurnHeld();  // flusher: a hold is on and has not run out (ends it when it has)
  // Checkpoint's second half: shrinks and deletes the files in retired_ (under checkpoint_mu_);
  // keeps those whose deletion failed and returns the first such error.
  Status FreeRetiredFiles(FileSystem* fs);

  const std::string db_path_;
  WalOptions options_;
  FileSystem* fs_;
  std::unique_ptr<TimingFileSystem> timing_fs_;  // wraps the configured fs; fs_ points at it
  FileSystem* prep_fs_ = nullptr;                // the configured fs (preparation I/O, untimed)
  WalControlState control_;
  std::unique_ptr<FileLock> lock_;
  std::unique_ptr<EpochCoordinator> coord_;

  // Serializes flush cycles (flusher thread vs AdvanceAndFlush/Close). A mutex + condition
  // variable gate rather than std::timed_mutex (whose clocklock TSan does not model).
  class FlushGate {
   public:
    bool AcquireUntil(std::chrono::steady_clock::time_point deadline);
    void Acquire();
    void Release();
   private:
    std::mutex mu_;
    std::condition_variable cv_;
    bool busy_ = false;
  };
  struct GateHold {
    explicit GateHold(FlushGate* g) : g_(g) {}
    ~GateHold() { if (g_ != nullptr) g_->Release(); }
    FlushGate* g_;
  };
  FlushGate flush_gate_;
  bool has_prev_segment_ = false;      // guarded by flush_gate_
  uint64_t prev_segment_epoch_ = 0;    // guarded by flush_gate_

  // Flusher thread state.
  mutable std::mutex run_mu_;          // guards thread_, start/stop
  std::thread thread_;
  std::atomic<bool> running_{false};
  std::atomic<bool> stop_requested_{false};
  std::atomic<std::thread::id> flusher_id_{};

  // Wake-up protocol (Dekker on seq_cst atomics): producers bump pending_/requested_, then read
  // sleeping_; the flusher sets sleeping_, then re-reads pending_/requested_ before waiting.
  std::mutex wake_mu_;
  std::condition_variable wake_cv_;
  std::atomic<bool> sleeping_{false};
  std::atomic<bool> flush_requested_{false};    // adaptive: seal now
  std::atomic<uint64_t> flush_request_epoch_{0};  // 1 + the newest epoch a seal was asked for
  std::atomic<bool> drain_requested_{false};    // both policies: backpressure/fallback drain
  std::atomic<bool> notify_requested_{false};  // next transition reported even if empty
  std::atomic<uint64_t> pending_records_{0};
  std::atomic<int64_t> first_pending_ns_{0};   // steady-clock ns of the oldest pending record
  // HoldSealForTurn / EndTurn. A heuristic: the races between them only move a seal.
  std::atomic<bool> turn_held_{false};
  std::atomic<int64_t> turn_hold_since_ns_{0};
  std::atomic<int> turn_hold_skip_{0};     // holds still to skip
  std::atomic<int> turn_hold_backoff_{0};  // holds that ran out in a row
  std::atomic<uint64_t> turn_holds_{0};
  std::atomic<uint64_t> turn_holds_expired_{0};

  std::atomic<bool> closing_{false};
  std::atomic<bool> closed_{false};
  std::mutex close_mu_;
  Status close_status_;                      // guarded by close_mu_
  std::string guard_key_;                    // in-process open guard entry (canonical path)
  FsyncPolicy fsync_ = FsyncPolicy::kFull;   // guarded by run_mu_: policy of the last Start
  std::mutex checkpoint_mu_;                 // one Checkpoint at a time
  struct RetiredFile {
    std::string path;  // a pool temporary
    uint64_t size;     // when it was renamed (0: unknown, then it is deleted without shrinking)
  };
  std::vector<RetiredFile> retired_;         // guarded by checkpoint_mu_: out of the log, not freed

  // Listeners.
  std::mutex listeners_mu_;
  std::vector<std::shared_ptr<Listener>> listeners_;
  uint64_t next_listener_id_ = 1;
  std::mutex dispatch_mu_;  // held while listeners run
  std::atomic<std::thread::id> dispatch_thread_{};

  // Prepared files (see PrepareMode). prep_mu_ guards everything below it in this block.
  bool prep_on_ = false;
  bool prep_background_ = false;
  std::mutex prep_mu_;
  std::condition_variable prep_cv_;
  uint64_t prep_floor_ = 0;                             // numbers < floor: sealed, never named
  std::map<uint64_t, PreparedFile> prep_named_;         // final-named, unwritten, >= floor
  std::vector<std::pair<std::string, uint64_t>> prep_pool_;  // synced temporaries (path, size)
  uint64_t prep_size_ = 4096;                           // 0: segments too big, not preparing
  std::vector<uint64_t> prep_recent_sizes_;
  bool prep_failed_ = false;                            // an I/O error: preparation stops
  bool log_mode_ = false;                               // set at Open, then constant
  std::vector<std::string> prep_log_temps_;             // synced zero-filled log temporaries
  bool fill_wanted_ = true;                             // the preparer zero-fills log files
  bool prep_stop_ = false;
  std::thread prep_thread_;

  // The log file frames are written to (flush_gate_ holder only).
  std::unique_ptr<WritableFile> log_file_;
  std::string log_path_;
  uint64_t log_off_ = 0;  // next free slot
  bool log_filled_ = false;      // the current log file is zero-filled (else grown by appends)
  // log_fill kAuto: slot bytes taken in the current window, since when, and whether the first
  // window has decided yet.
  uint64_t fill_window_bytes_ = 0;
  int64_t fill_window_start_ns_ = 0;
  bool fill_decided_ = false;

  // Stats (beyond the coordinator's counters).
  // Records of published epochs, kept with their image buffers for producers to reuse
  // (RecycleRecords / TakeSpareRecords): in steady state a commit allocates nothing, and no
  // image is freed by a thread other than the one that allocated it (glibc's arena lock was a
  // hot spot between the JS thread and the flusher).
  std::mutex spare_mu_;
  std::vector<WalRecord> spare_records_;  // guarded by spare_mu_
  size_t spare_bytes_ = 0;                // image capacity held in spare_records_
  std::atomic<bool> spares_available_{false};

  mutable std::mutex stats_mu_;
  WalStats stats_;          // guarded by stats_mu_ (only the flusher-side fields)
  std::atomic<uint64_t> submits_{0};
  std::atomic<uint64_t> submitted_records_{0};
  std::atomic<uint64_t> backpressure_{0};
  std::atomic<uint64_t> events_delivered_{0};
};

// ---- Thread slots --------------------------------------------------------------------------
// The calling OS thread's slot: fixed on first use from a global counter (thread_local), then
// taken modulo slot_count. Any thread.
size_t ThreadSlot(size_t slot_count);
// Test only: the next thread to ask for its first slot gets counter value 0 again.
void ResetThreadSlotCounterForTesting();

// ---- Process-wide registry -----------------------------------------------------------------
// Keyed by the canonical absolute path (symlinks of the directory resolved). The first acquire
// opens the Wal with `options`; later acquires of the same path share it (options ignored) and
// bump a reference count. Any thread (also distinct Node worker threads).
std::shared_ptr<Wal> AcquireWal(const std::string& db_path, const WalOptions& options,
                                Status* status);
// Drops one reference; the last one Close()s the Wal (abort as given) and joins its flusher on
// the calling thread, so no thread outlives the last handle. Returns the Close status.
// Any thread except a Wal's flusher.
Status ReleaseWal(const std::shared_ptr<Wal>& wal, bool abort = false);
// The seed's removeParallelWalCoordinator: drops the path from the registry whatever its count
// and closes it. NotFound if absent.
Status RemoveWal(const std::string& db_path, bool abort = false);
// The registered Wal of a path, or nullptr (does not take a reference).
std::shared_ptr<Wal> FindWal(const std::string& db_path);
// Canonical registry key of a path.
std::string CanonicalWalPath(const std::string& db_path);
size_t RegisteredWalCount();

}  // namespace pwal
