#include "epoch_coordinator.h"

#include <string>

namespace pwal {

EpochCoordinator::EpochCoordinator(size_t slot_count, const BufferConfig& config,
                                   uint64_t first_epoch, std::optional<uint64_t> durable)
    : pool_(slot_count, config, first_epoch),
      current_(first_epoch),
      append_(first_epoch),
      next_expected_(first_epoch) {
  if (durable.has_value()) {
    has_durable_ = true;
    durable_ = *durable;
    has_durable_flag_.store(true, std::memory_order_release);
    durable_atomic_.store(*durable, std::memory_order_release);
  }
}

std::optional<uint64_t> EpochCoordinator::DurableEpoch() const {
  std::lock_guard<std::mutex> lock(durable_mu_);
  if (!has_durable_) return std::nullopt;
  return durable_;
}

bool EpochCoordinator::IsDurable(uint64_t epoch) const {
  // Lock-free fast path: durable_atomic_ is published after has_durable_flag_.
  if (!has_durable_flag_.load(std::memory_order_acquire)) return false;
  return epoch <= durable_atomic_.load(std::memory_order_acquire);
}

AppendOutcome EpochCoordinator::Append(size_t slot, std::vector<WalRecord>* records,
                                       uint32_t db_size_if_commit, uint64_t* epoch) {
  return pool_.slot(slot).Append(records, db_size_if_commit, epoch);
}

void EpochCoordinator::CloseIntake() {
  for (size_t i = 0; i < pool_.size(); ++i) pool_.slot(i).CloseIntake();
}

bool EpochCoordinator::AnyFallbackLatched() const {
  for (size_t i = 0; i < pool_.size(); ++i) {
    if (pool_.slot(i).fallback_latched()) return true;
  }
  return false;
}

uint64_t EpochCoordinator::AdvanceEpoch() {
  std::lock_guard<std::mutex> lock(advance_mu_);
  const uint64_t sealed = current_.load(std::memory_order_relaxed);
  current_.store(sealed + 1, std::memory_order_release);
  for (size_t i = 0; i < pool_.size(); ++i) pool_.slot(i).Seal(sealed);
  append_.store(sealed + 1, std::memory_order_release);
  return sealed + 1;
}

size_t EpochCoordinator::FlushEpoch(uint64_t epoch, EpochBatch* out, size_t* taken) {
  out->epoch = epoch;
  out->records.clear();
  out->records_per_core.clear();
  out->db_size_pages = 0;
  size_t contributing = 0;
  size_t total_taken = 0;
  for (size_t i = 0; i < pool_.size(); ++i) {
    size_t kept = 0, t = 0;
    uint32_t db_size = 0;
    if (!pool_.slot(i).BeginFlush(epoch, &out->records, &kept, &t, &db_size)) continue;
    total_taken += t;
    if (db_size > out->db_size_pages) out->db_size_pages = db_size;
    if (kept > 0) {
      out->records_per_core.push_back(static_cast<uint32_t>(kept));
      ++contributing;
    }
  }
  if (taken != nullptr) *taken = total_taken;
  return contributing;
}

void EpochCoordinator::CompleteEpoch(uint64_t epoch) {
  for (size_t i = 0; i < pool_.size(); ++i) pool_.slot(i).CompleteFlush(epoch);
}

void EpochCoordinator::DiscardAll() {
  for (size_t i = 0; i < pool_.size(); ++i) pool_.slot(i).Clear();
}

bool EpochCoordinator::MarkEpochDurable(uint64_t epoch) {
  {
    std::lock_guard<std::mutex> lock(durable_mu_);
    if (failed_epoch_.has_value()) return false;
    if (epoch != next_expected_) return false;
    durable_ = epoch;
    has_durable_ = true;
    next_expected_ = epoch + 1;
    durable_atomic_.store(epoch, std::memory_order_release);
    has_durable_flag_.store(true, std::memory_order_release);
  }
  durable_cv_.notify_all();
  return true;
}

void EpochCoordinator::MarkEpochFailed(uint64_t epoch, const Status& cause) {
  {
    std::lock_guard<std::mutex> lock(durable_mu_);
    if (failed_epoch_.has_value()) return;
    failed_epoch_ = epoch;
    failure_ = Status::IoError("WAL failed at epoch " + std::to_string(epoch) + ": " +
                                   cause.message(),
                               cause.sys_errno());
    failed_flag_.store(true, std::memory_order_release);
  }
  durable_cv_.notify_all();
}

void EpochCoordinator::MarkClosed() {
  {
    std::lock_guard<std::mutex> lock(durable_mu_);
    closed_ = true;
  }
  durable_cv_.notify_all();
}

Status EpochCoordinator::FailureStatus() const {
  std::lock_guard<std::mutex> lock(durable_mu_);
  return failure_;
}

std::optional<uint64_t> EpochCoordinator::FailedEpoch() const {
  std::lock_guard<std::mutex> lock(durable_mu_);
  return failed_epoch_;
}

Status EpochCoordinator::WaitStep(uint64_t epoch, std::chrono::steady_clock::time_point deadline,
                                  bool* durable) {
  *durable = false;
  std::unique_lock<std::mutex> lock(durable_mu_);
  auto verdict = [&](bool* done) -> Status {
    *done = true;
    if (has_durable_ && epoch <= durable_) {
      *durable = true;
      return Status::OK();
    }
    if (failed_epoch_.has_value() && epoch >= *failed_epoch_) return failure_;
    if (closed_) {
      return Status::Closed("WAL closed before epoch " + std::to_string(epoch) +
                            " became durable");
    }
    *done = false;
    return Status::OK();
  };
  bool done = false;
  Status st = verdict(&done);
  if (done) return st;
  if (std::chrono::steady_clock::now() >= deadline) {
    return Status::Timeout("timed out waiting for epoch " + std::to_string(epoch) +
                           " to become durable");
  }
  const bool had = has_durable_;
  const uint64_t before = durable_;
  durable_cv_.wait_until(lock, deadline, [&] {
    return (has_durable_ && epoch <= durable_) || had != has_durable_ || before != durable_ ||
           failed_epoch_.has_value() || closed_;
  });
  st = verdict(&done);
  if (done) return st;
  if (std::chrono::steady_clock::now() >= deadline) {
    return Status::Timeout("timed out waiting for epoch " + std::to_string(epoch) +
                           " to become durable");
  }
  return Status::OK();
}

Status EpochCoordinator::WaitUntilEpochDurable(uint64_t epoch,
                                               std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    bool durable = false;
    Status st = WaitStep(epoch, deadline, &durable);
    if (!st.ok() || durable) return st;
  }
}

}  // namespace pwal
