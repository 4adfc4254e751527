#include "per_core_buffer.h"

#include <algorithm>
#include <iterator>
#include <utility>

namespace pwal {

const char* AppendOutcomeName(AppendOutcome o) {
  switch (o) {
    case AppendOutcome::kAppended: return "appended";
    case AppendOutcome::kAppendedOverflow: return "appended_overflow";
    case AppendOutcome::kBlocked: return "blocked";
    case AppendOutcome::kFull: return "full";
    case AppendOutcome::kFallback: return "fallback";
    case AppendOutcome::kTooLarge: return "too_large";
    case AppendOutcome::kClosed: return "closed";
  }
  return "unknown";
}

PerCoreWalBuffer::PerCoreWalBuffer(size_t slot_index, const BufferConfig& config,
                                   uint64_t append_epoch)
    : slot_index_(slot_index), config_(config), append_epoch_(append_epoch) {}

AppendOutcome PerCoreWalBuffer::Append(std::vector<WalRecord>* records,
                                       uint32_t db_size_if_commit, uint64_t* epoch) {
  size_t cost = 0;
  for (const WalRecord& r : *records) cost += r.AccountedBytes();
  const size_t capacity = config_.capacity_bytes;
  const size_t hard_limit = config_.overflow == OverflowPolicy::kAllocateOverflow
                                ? capacity + config_.overflow_bytes
                                : capacity;

  std::unique_lock<std::mutex> lock(mu_, std::try_to_lock);
  if (!lock.owns_lock()) {
    contention_.fetch_add(1, std::memory_order_relaxed);
    lock.lock();
  }
  if (intake_closed_) return AppendOutcome::kClosed;
  if (cost > hard_limit) return AppendOutcome::kTooLarge;
  Lane& lane = active_lane();
  if (lane.state != LaneState::kWritable) return AppendOutcome::kBlocked;
  if (fallback_.load(std::memory_order_relaxed)) return AppendOutcome::kFallback;

  AppendOutcome outcome = AppendOutcome::kAppended;
  if (lane.bytes + cost > capacity) {
    if (config_.overflow == OverflowPolicy::kBlockWriter) return AppendOutcome::kFull;
    if (lane.bytes + cost > hard_limit) {
      fallback_.store(true, std::memory_order_release);
      fallback_entries_.fetch_add(1, std::memory_order_relaxed);
      return AppendOutcome::kFallback;
    }
    overflow_appends_.fetch_add(1, std::memory_order_relaxed);
    outcome = AppendOutcome::kAppendedOverflow;
  }

  const uint64_t e = append_epoch_;
  for (WalRecord& r : *records) r.epoch = e;
  if (lane.records.empty() && lane.records.capacity() < records->size()) {
    lane.records.swap(*records);
  } else if (records->size() == 1) {
    lane.records.push_back(std::move(records->front()));
  } else {
    lane.records.insert(lane.records.end(), std::make_move_iterator(records->begin()),
                        std::make_move_iterator(records->end()));
  }
  records->clear();
  lane.bytes += cost;
  if (db_size_if_commit > lane.db_size) lane.db_size = db_size_if_commit;
  *epoch = e;
  return outcome;
}

void PerCoreWalBuffer::CloseIntake() {
  std::lock_guard<std::mutex> lock(mu_);
  intake_closed_ = true;
}

bool PerCoreWalBuffer::Seal(uint64_t epoch) {
  std::lock_guard<std::mutex> lock(mu_);
  bool sealed = false;
  Lane& a = active_lane();
  if (a.state == LaneState::kWritable && !a.records.empty()) {
    Lane& f = flush_lane();
    if (f.state == LaneState::kWritable && f.records.empty()) {
      a.state = LaneState::kSealed;
      a.epoch = epoch;
      active_ ^= 1;  // the sealed lane becomes the flush lane; the empty one takes appends
    } else {
      // The flush lane is still busy with an earlier epoch: seal in place; appends are Blocked
      // until CompleteFlush promotes this lane.
      a.state = LaneState::kSealed;
      a.epoch = epoch;
    }
    sealed = true;
  }
  if (epoch + 1 > append_epoch_) append_epoch_ = epoch + 1;
  return sealed;
}

bool PerCoreWalBuffer::BeginFlush(uint64_t epoch, std::vector<WalRecord>* out, size_t* kept,
                                  size_t* taken, uint32_t* db_size) {
  *kept = 0;
  *taken = 0;
  *db_size = 0;
  std::lock_guard<std::mutex> lock(mu_);
  Lane& f = flush_lane();
  if (f.state != LaneState::kSealed || f.epoch != epoch) return false;
  f.state = LaneState::kFlushing;
  *taken = f.records.size();
  *db_size = f.db_size;
  bool all_committed = true;
  for (const WalRecord& r : f.records) {
    if (!r.has_end_seq) {
      all_committed = false;
      break;
    }
  }
  if (all_committed && out->empty()) {
    out->swap(f.records);
    *kept = out->size();
    // The lane got `out`'s (usually empty) storage: give it room for a similar epoch now, on the
    // flushing thread, rather than regrowing it append by append on the producers' threads.
    // Twice the last epoch: adaptive epochs vary in size, and regrowing means moving them all.
    f.records.reserve(std::max<size_t>(*kept * 2, 64));
  } else {
    out->reserve(out->size() + f.records.size());
    for (WalRecord& r : f.records) {
      if (!r.has_end_seq) continue;  // aborted write: dropped at flush
      out->push_back(std::move(r));
      ++*kept;
    }
  }
  f.records.clear();
  return true;
}

void PerCoreWalBuffer::CompleteFlush(uint64_t epoch) {
  std::lock_guard<std::mutex> lock(mu_);
  Lane& f = flush_lane();
  if (f.state == LaneState::kFlushing && f.epoch == epoch) {
    f.state = LaneState::kWritable;
    f.epoch = 0;
    f.records.clear();
    f.bytes = 0;
    f.db_size = 0;
    if (active_lane().state == LaneState::kSealed) active_ ^= 1;  // promote sealed-in-place
  }
  if (fallback_.load(std::memory_order_relaxed) &&
      active_lane().bytes < config_.capacity_bytes) {
    fallback_.store(false, std::memory_order_release);
  }
}

void PerCoreWalBuffer::Clear() {
  std::lock_guard<std::mutex> lock(mu_);
  for (Lane& l : lanes_) {
    l.state = LaneState::kWritable;
    l.epoch = 0;
    l.records.clear();
    l.bytes = 0;
    l.db_size = 0;
  }
  fallback_.store(false, std::memory_order_release);
}

uint64_t PerCoreWalBuffer::append_epoch() const {
  std::lock_guard<std::mutex> lock(mu_);
  return append_epoch_;
}

LaneSnapshot PerCoreWalBuffer::active() const {
  std::lock_guard<std::mutex> lock(mu_);
  const Lane& l = active_lane();
  return LaneSnapshot{l.state, l.epoch, l.records.size(), l.bytes};
}

LaneSnapshot PerCoreWalBuffer::flush() const {
  std::lock_guard<std::mutex> lock(mu_);
  const Lane& l = flush_lane();
  return LaneSnapshot{l.state, l.epoch, l.records.size(), l.bytes};
}

BufferPool::BufferPool(size_t slot_count, const BufferConfig& config, uint64_t first_epoch) {
  slots_.reserve(slot_count);
  for (size_t i = 0; i < slot_count; ++i) {
    slots_.push_back(std::make_unique<PerCoreWalBuffer>(i, config, first_epoch));
  }
}

}  // namespace pwal
