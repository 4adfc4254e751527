// Wal's flusher side (contracts in wal.h): the flush gate, the flusher thread's loop, one flush
// cycle (seal, build, publish with retries, mark durable, tell the listeners) and the recycling
// of published records. Runs on the flusher thread, or on a caller's thread that holds the
// flush gate (AdvanceAndFlush, Close).
#include <algorithm>
#include <chrono>
#include <thread>

#include "wal.h"
#include "wal_internal.h"

namespace pwal {

namespace {
using wal_internal::Clock;
using wal_internal::NowNs;

constexpr size_t kLatencySamples = 256;
// After an epoch is published the flusher polls this long (yielding) before it sleeps.
constexpr int64_t kSpinBeforeSleepNs = 100 * 1000;
// Recycled records keep images up to this size, up to this total.
constexpr size_t kSpareImageMaxBytes = 16 * 1024;
constexpr size_t kSpareBytesMax = 16u << 20;
}  // namespace

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

bool Wal::TurnHeld() {
  if (!turn_held_.load(std::memory_order_seq_cst)) return false;
  if (NowNs() - turn_hold_since_ns_.load(std::memory_order_seq_cst) < options_.turn_hold_ns) return true;
  // Ran out: a long turn (a collection, or a consumer whose turns are long: then sealing at
  // once overlaps them better). Skip the next holds, more of them while they keep running out.
  if (turn_held_.exchange(false, std::memory_order_seq_cst)) {
    turn_holds_expired_.fetch_add(1, std::memory_order_relaxed);
    const int row = std::min(turn_hold_backoff_.fetch_add(1, std::memory_order_relaxed) + 1, 6);
    turn_hold_skip_.store(std::min(kTurnHoldSkip, 1 << row), std::memory_order_relaxed);
  }
  return false;
}

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
        } else if (adaptive && pending > 0 &&
                   !(max_delay_ns > 0 && first != 0 && NowNs() - first >= max_delay_ns) &&
                   TurnHeld()) {
          // A consumer is still in the turn that follows the last durable event, committing
          // again: let those commits join this epoch (HoldSealForTurn, wal.h); never past
          // max_flush_delay_ms. Polled, not slept on: a hold lasts tens of microseconds, less
          // than a condition-variable wake-up.
          lock.unlock();
          std::this_thread::yield();
          lock.lock();
          continue;
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

}  // namespace pwal
