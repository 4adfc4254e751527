// EpochCoordinator: the seed's EpochOrderCoordinator — epochs over a BufferPool.
//
// - AdvanceEpoch bumps the current epoch, seals every non-empty active lane with the previous
//   epoch (moving each slot's append epoch forward), then moves the append epoch forward.
// - FlushEpoch(e) collects the sealed lanes' records of e (dropping records with no end_seq)
//   and per-slot counts into an EpochBatch; CompleteEpoch(e) frees the lanes afterwards.
// - MarkEpochDurable(e): the durable epoch only grows, one epoch at a time in order, and never
//   reaches or passes a failed epoch. MarkEpochFailed(e) latches failure (waiters >= e fail).
// - Waiters block on a condition variable (C++ callers; JS uses Wal listeners).
//
// THREADS: all methods are thread-safe. AdvanceEpoch/FlushEpoch/CompleteEpoch/Mark* are meant
// to be called by one flushing thread at a time (the Wal serializes them); Append and the
// readers may run concurrently with them from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <vector>

#include "per_core_buffer.h"
#include "status.h"
#include "wal_record.h"

namespace pwal {

class EpochCoordinator {
 public:
  // first_epoch: the epoch appends start in. durable: the epoch already durable (e.g. newest
  // segment on disk), if any; it must be < first_epoch.
  EpochCoordinator(size_t slot_count, const BufferConfig& config, uint64_t first_epoch = 0,
                   std::optional<uint64_t> durable = std::nullopt);

  size_t slot_count() const { return pool_.size(); }
  BufferPool& pool() { return pool_; }
  const BufferPool& pool() const { return pool_; }

  uint64_t CurrentEpoch() const { return current_.load(std::memory_order_acquire); }
  uint64_t CurrentAppendEpoch() const { return append_.load(std::memory_order_acquire); }
  std::optional<uint64_t> DurableEpoch() const;
  bool IsDurable(uint64_t epoch) const;

  // Appends to `slot`; records are tagged with the slot's append epoch (returned in *epoch).
  AppendOutcome Append(size_t slot, std::vector<WalRecord>* records, uint32_t db_size_if_commit,
                       uint64_t* epoch);
  // Every slot refuses appends from now on (kClosed).
  void CloseIntake();
  // True if any slot's fallback latch is set.
  bool AnyFallbackLatched() const;

  // Returns the new current epoch; the sealed one is the return value - 1.
  uint64_t AdvanceEpoch();
  // Collects epoch e into *out (records, per-slot counts of contributing slots, db size).
  // *taken (may be null) gets the records that left the lanes, dropped aborted ones included.
  // Returns the number of slots that contributed. Call CompleteEpoch(e - 1) first.
  size_t FlushEpoch(uint64_t epoch, EpochBatch* out, size_t* taken = nullptr);
  void CompleteEpoch(uint64_t epoch);
  // Drops every buffered record (Close(abort)).
  void DiscardAll();

  // False (nothing changes) if epoch is not the next one in order or the log failed.
  bool MarkEpochDurable(uint64_t epoch);
  void MarkEpochFailed(uint64_t epoch, const Status& cause);
  // Wakes waiters with Closed for epochs not durable.
  void MarkClosed();

  bool failed() const { return failed_flag_.load(std::memory_order_acquire); }
  // The fatal status ("WAL failed at epoch N: cause"), OK if not failed.
  Status FailureStatus() const;
  std::optional<uint64_t> FailedEpoch() const;

  // Blocks until epoch is durable / failed / closed / deadline.
  Status WaitUntilEpochDurable(uint64_t epoch, std::chrono::steady_clock::time_point deadline);
  // One bounded wait: returns OK with *durable=true when the epoch is durable, OK with
  // *durable=false after the durable epoch changed (or a spurious wake-up) without reaching it,
  // Timeout at the deadline, IoError when failed at/before epoch, Closed when closed.
  Status WaitStep(uint64_t epoch, std::chrono::steady_clock::time_point deadline, bool* durable);

 private:
  BufferPool pool_;
  std::mutex advance_mu_;
  std::atomic<uint64_t> current_;
  std::atomic<uint64_t> append_;

  mutable std::mutex durable_mu_;
  std::condition_variable durable_cv_;
  bool has_durable_ = false;       // guarded by durable_mu_
  uint64_t durable_ = 0;           // guarded by durable_mu_
  uint64_t next_expected_;         // guarded by durable_mu_: the epoch that may become durable
  bool closed_ = false;            // guarded by durable_mu_
  std::optional<uint64_t> failed_epoch_;  // guarded by durable_mu_
  Status failure_;                 // guarded by durable_mu_
  std::atomic<bool> failed_flag_{false};
  std::atomic<bool> has_durable_flag_{false};
  std::atomic<uint64_t> durable_atomic_{0};
};

}  // namespace pwal
