// PerCoreWalBuffer: one slot of the per-thread record buffer pool (the seed's per-core buffer).
//
// A slot is double-buffered: the ACTIVE lane takes appends; the FLUSH lane holds an epoch that
// was sealed and is being written. Lane states: Writable -> Sealed{epoch} -> Flushing{epoch} ->
// Writable. Seal(e) moves a non-empty active lane to the flush lane when that one is Writable
// (empty); otherwise the active lane is sealed in place and appends are Blocked until the flush
// lane completes. Appends to a sealed lane are Blocked.
//
// Capacity is per lane, in accounted bytes (48 + images per record). Overflow policy:
//   kBlockWriter:      an append that does not fit is refused (kFull), nothing appended.
//   kAllocateOverflow: up to kOverflowBytes more are queued (kAppendedOverflow); past that the
//                      fallback latch is set (kFallback, nothing appended) until the lane is
//                      drained (CompleteFlush), which the owner must force serially.
// A batch append is all-or-nothing.
//
// THREADS: every method is thread-safe (one mutex per slot). Append uses try_lock first and
// counts a failure as contention before blocking.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "wal_record.h"

namespace pwal {

constexpr size_t kDefaultSlotCount = 128;
constexpr size_t kDefaultBufferCapacity = 4u << 20;   // 4 MiB per lane
constexpr size_t kOverflowBytes = 8u << 20;           // AllocateOverflow headroom

enum class OverflowPolicy { kBlockWriter, kAllocateOverflow };

enum class LaneState { kWritable, kSealed, kFlushing };

enum class AppendOutcome {
  kAppended,
  kAppendedOverflow,  // appended beyond capacity (AllocateOverflow)
  kBlocked,           // the active lane is sealed
  kFull,              // BlockWriter: does not fit
  kFallback,          // AllocateOverflow exhausted: fallback latched, drain required
  kTooLarge,          // the batch can never fit in an empty lane
  kClosed,            // intake closed (Wal::Close)
};
const char* AppendOutcomeName(AppendOutcome o);

struct BufferConfig {
  size_t capacity_bytes = kDefaultBufferCapacity;
  OverflowPolicy overflow = OverflowPolicy::kBlockWriter;
  size_t overflow_bytes = kOverflowBytes;
};

struct LaneSnapshot {
  LaneState state = LaneState::kWritable;
  uint64_t epoch = 0;      // for Sealed / Flushing
  size_t records = 0;
  size_t bytes = 0;
};

class PerCoreWalBuffer {
 public:
  PerCoreWalBuffer(size_t slot_index, const BufferConfig& config, uint64_t append_epoch);

  // Appends all of *records (moved from on success) tagging each with the slot's append epoch,
  // which is returned in *epoch. db_size_if_commit: largest db size of the batch (0 = none);
  // the lane keeps the maximum for the epoch's batch. All or nothing.
  AppendOutcome Append(std::vector<WalRecord>* records, uint32_t db_size_if_commit,
                       uint64_t* epoch);
  // After this every Append returns kClosed (taken under the slot lock: a barrier).
  void CloseIntake();

  // Seals the active lane with `epoch` if it is non-empty, and moves the slot's append epoch to
  // epoch + 1 either way. Returns true if a lane was sealed.
  bool Seal(uint64_t epoch);

  // If the flush lane is Sealed{epoch}: marks it Flushing, appends its records that have an
  // end_seq to *out (aborted ones are dropped), *kept gets how many were kept, *taken how many
  // left the lane (kept + dropped), *db_size the lane's largest dbSizeIfCommit.
  // Returns false (outputs zero) when this slot holds nothing for `epoch`.
  bool BeginFlush(uint64_t epoch, std::vector<WalRecord>* out, size_t* kept, size_t* taken,
                  uint32_t* db_size);
  // Frees the flush lane (Flushing{epoch} -> Writable), clears the fallback latch if the lane
  // that latched it was drained, and promotes an active lane sealed in place.
  void CompleteFlush(uint64_t epoch);
  // Drops everything (abort): both lanes Writable and empty.
  void Clear();

  uint64_t append_epoch() const;
  LaneSnapshot active() const;
  LaneSnapshot flush() const;
  bool fallback_latched() const { return fallback_.load(std::memory_order_acquire); }
  size_t slot_index() const { return slot_index_; }
  uint64_t contention() const { return contention_.load(std::memory_order_relaxed); }
  uint64_t overflow_appends() const { return overflow_appends_.load(std::memory_order_relaxed); }
  uint64_t fallback_entries() const { return fallback_entries_.load(std::memory_order_relaxed); }
  const BufferConfig& config() const { return config_; }

 private:
  struct Lane {
    LaneState state = LaneState::kWritable;
    uint64_t epoch = 0;
    std::vector<WalRecord> records;
    size_t bytes = 0;
    uint32_t db_size = 0;
  };
  Lane& active_lane() { return lanes_[active_]; }
  Lane& flush_lane() { return lanes_[active_ ^ 1]; }
  const Lane& active_lane() const { return lanes_[active_]; }
  const Lane& flush_lane() const { return lanes_[active_ ^ 1]; }

  const size_t slot_index_;
  const BufferConfig config_;
  mutable std::mutex mu_;
  Lane lanes_[2];
  unsigned active_ = 0;
  uint64_t append_epoch_;
  bool intake_closed_ = false;
  std::atomic<bool> fallback_{false};
  std::atomic<uint64_t> contention_{0};
  std::atomic<uint64_t> overflow_appends_{0};
  std::atomic<uint64_t> fallback_entries_{0};
};

// One buffer per slot; slots are picked per thread (see ThreadSlot in wal.h).
class BufferPool {
 public:
  BufferPool(size_t slot_count, const BufferConfig& config, uint64_t first_epoch);
  size_t size() const { return slots_.size(); }
  PerCoreWalBuffer& slot(size_t i) { return *slots_[i]; }
  const PerCoreWalBuffer& slot(size_t i) const { return *slots_[i]; }

 private:
  std::vector<std::unique_ptr<PerCoreWalBuffer>> slots_;
};

}  // namespace pwal
