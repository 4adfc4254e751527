// EpochCoordinator: advance/seal/flush, durable epoch order, failure latch, waiters.
#include "epoch_coordinator.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <thread>
#include <vector>

namespace pwal {
namespace {

using Clock = std::chrono::steady_clock;

std::vector<WalRecord> One(uint64_t txn, uint32_t page = 1, size_t image = 8) {
  WalRecord r;
  r.txn_id = txn;
  r.page_id = page;
  r.begin_seq = txn;
  r.has_end_seq = true;
  r.end_seq = txn;
  r.after_image.assign(image, static_cast<uint8_t>(txn));
  std::vector<WalRecord> v;
  v.push_back(std::move(r));
  return v;
}

BufferConfig Cfg() {
  BufferConfig c;
  c.capacity_bytes = 1 << 20;
  return c;
}

TEST(EpochCoordinator, Creation) {
  EpochCoordinator c(4, Cfg());
  EXPECT_EQ(c.CurrentEpoch(), 0u);
  EXPECT_EQ(c.DurableEpoch(), std::nullopt);
  EXPECT_FALSE(c.IsDurable(0));
}

TEST(EpochCoordinator, AdvanceSealsThePreviousEpochAndMovesAppendsForward) {
  EpochCoordinator c(4, Cfg());
  uint64_t e;
  auto b = One(1);
  ASSERT_EQ(c.Append(0, &b, 10, &e), AppendOutcome::kAppended);
  EXPECT_EQ(e, 0u);
  auto b2 = One(2);
  ASSERT_EQ(c.Append(2, &b2, 12, &e), AppendOutcome::kAppended);
  EXPECT_EQ(c.AdvanceEpoch(), 1u);
  EXPECT_EQ(c.CurrentEpoch(), 1u);
  EXPECT_EQ(c.CurrentAppendEpoch(), 1u);
  auto b3 = One(3);
  ASSERT_EQ(c.Append(0, &b3, 0, &e), AppendOutcome::kAppended);
  EXPECT_EQ(e, 1u);

  EpochBatch batch;
  size_t taken = 0;
  EXPECT_EQ(c.FlushEpoch(0, &batch, &taken), 2u);
  EXPECT_EQ(taken, 2u);
  EXPECT_EQ(batch.epoch, 0u);
  ASSERT_EQ(batch.records.size(), 2u);
  EXPECT_EQ(batch.records_per_core, (std::vector<uint32_t>{1, 1}));
  EXPECT_EQ(batch.db_size_pages, 12u);
  for (const auto& r : batch.records) EXPECT_EQ(r.epoch, 0u);
  c.CompleteEpoch(0);
  EXPECT_TRUE(c.MarkEpochDurable(0));
  EXPECT_EQ(c.DurableEpoch(), std::optional<uint64_t>(0));
}

TEST(EpochCoordinator, AnEmptyEpochFlushesNothing) {
  EpochCoordinator c(2, Cfg());
  c.AdvanceEpoch();
  EpochBatch batch;
  EXPECT_EQ(c.FlushEpoch(0, &batch), 0u);
  EXPECT_TRUE(batch.records.empty());
  EXPECT_TRUE(c.MarkEpochDurable(0));
}

TEST(EpochCoordinator, DurableEpochOnlyGrowsInOrder) {
  EpochCoordinator c(1, Cfg(), 5, 4);
  EXPECT_EQ(c.DurableEpoch(), std::optional<uint64_t>(4));
  EXPECT_FALSE(c.MarkEpochDurable(6)) << "6 before 5";
  EXPECT_TRUE(c.MarkEpochDurable(5));
  EXPECT_FALSE(c.MarkEpochDurable(5));
  EXPECT_FALSE(c.MarkEpochDurable(3));
  EXPECT_EQ(c.DurableEpoch(), std::optional<uint64_t>(5));
}

TEST(EpochCoordinator, AFailedEpochIsNeverPassed) {
  EpochCoordinator c(1, Cfg());
  EXPECT_TRUE(c.MarkEpochDurable(0));
  c.MarkEpochFailed(1, Status::IoError("disk on fire", 5));
  EXPECT_TRUE(c.failed());
  EXPECT_FALSE(c.MarkEpochDurable(1));
  EXPECT_FALSE(c.MarkEpochDurable(2));
  EXPECT_EQ(c.DurableEpoch(), std::optional<uint64_t>(0));
  Status st = c.WaitUntilEpochDurable(2, Clock::now() + std::chrono::seconds(5));
  EXPECT_EQ(st.code(), Status::Code::kIoError);
  EXPECT_NE(st.message().find("WAL failed at epoch 1: disk on fire"), std::string::npos)
      << st.ToString();
  EXPECT_TRUE(c.WaitUntilEpochDurable(0, Clock::now()).ok());
}

TEST(EpochCoordinator, WaitersWakeWhenTheirEpochBecomesDurable) {
  EpochCoordinator c(1, Cfg());
  std::atomic<int> ok{0};
  std::vector<std::thread> ts;
  for (int i = 0; i < 4; ++i) {
    ts.emplace_back([&] {
      if (c.WaitUntilEpochDurable(2, Clock::now() + std::chrono::seconds(30)).ok()) ++ok;
    });
  }
  for (uint64_t e = 0; e <= 2; ++e) ASSERT_TRUE(c.MarkEpochDurable(e));
  for (auto& t : ts) t.join();
  EXPECT_EQ(ok.load(), 4);
}

TEST(EpochCoordinator, WaitTimesOutAndCloseRejects) {
  EpochCoordinator c(1, Cfg());
  Status st = c.WaitUntilEpochDurable(0, Clock::now() + std::chrono::milliseconds(10));
  EXPECT_EQ(st.code(), Status::Code::kTimeout);
  std::thread t([&] {
    Status s = c.WaitUntilEpochDurable(0, Clock::now() + std::chrono::seconds(30));
    EXPECT_EQ(s.code(), Status::Code::kClosed);
  });
  c.MarkClosed();
  t.join();
}

// Producers append to their own slots while one flusher advances and collects: every record
// lands exactly once, in the epoch it was tagged with, and the epoch each Append returned.
TEST(EpochCoordinator, ConcurrentAppendAndAdvanceLoseNothing) {
  constexpr int kThreads = 4, kPer = 3000;
  EpochCoordinator c(kThreads, Cfg());
  std::atomic<bool> done{false};
  std::vector<std::vector<std::pair<uint64_t, uint64_t>>> acked(kThreads);  // (txn, epoch)
  std::map<uint64_t, uint64_t> collected;  // txn -> epoch
  std::thread flusher([&] {
    auto drain = [&] {
      uint64_t e = c.AdvanceEpoch() - 1;
      EpochBatch b;
      c.FlushEpoch(e, &b);
      for (const auto& r : b.records) {
        ASSERT_EQ(r.epoch, e);
        ASSERT_TRUE(collected.emplace(r.txn_id, e).second) << "duplicate txn " << r.txn_id;
      }
      c.CompleteEpoch(e);
      ASSERT_TRUE(c.MarkEpochDurable(e));
    };
    while (!done.load()) drain();
    drain();
  });
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < kPer; ++i) {
        const uint64_t txn = static_cast<uint64_t>(t) * kPer + i + 1;
        auto b = One(txn);
        uint64_t e;
        ASSERT_EQ(c.Append(t, &b, 0, &e), AppendOutcome::kAppended);
        acked[t].emplace_back(txn, e);
      }
    });
  }
  for (auto& t : ts) t.join();
  done = true;
  flusher.join();
  ASSERT_EQ(collected.size(), static_cast<size_t>(kThreads * kPer));
  for (const auto& v : acked) {
    for (const auto& [txn, e] : v) EXPECT_EQ(collected.at(txn), e) << "txn " << txn;
  }
}

}  // namespace
}  // namespace pwal
