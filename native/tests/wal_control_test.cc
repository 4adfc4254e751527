// The control hooks of Wal (wal_control.cc): lane routing, modes and fallbacks, shadow compare
// against a corrupting file system, the fsync histogram, per-epoch event fields.
#include "wal_control.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <mutex>
#include <thread>
#include <vector>

#include "failing_file_system.h"
#include "segment.h"
#include "test_util.h"
#include "wal.h"
#include "wal_test_util.h"

namespace pwal {
namespace {

using ::pwal::testing::TempDir;

struct OneFrame {
  std::vector<uint8_t> image;
  SubmitFrame frame;
  SubmitBatch batch;
  OneFrame(uint64_t txn, size_t size = 128) {
    image.assign(size, static_cast<uint8_t>(txn));
    frame = SubmitFrame{1, image.data(), image.size(), 0};
    batch.txn_id = txn;
    batch.commit_seq = txn;
    batch.frames = &frame;
    batch.frame_count = 1;
  }
};

using ::pwal::testing::Stopped;

using ::pwal::testing::MustOpen;

// Lane counts of the certificate of the single segment of `db`.
std::vector<uint32_t> LaneCounts(const std::string& db) {
  std::vector<SegmentEntry> segs;
  EXPECT_TRUE(ListSegments(FileSystem::Default(), db, &segs).ok());
  EXPECT_FALSE(segs.empty());
  SegmentContents c;
  EXPECT_TRUE(ReadSegment(FileSystem::Default(), segs.back().path, &c).ok());
  return c.certificate ? c.certificate->lane_record_counts : std::vector<uint32_t>{};
}

TEST(WalControl, ShouldShadowCompareFollowsTheSeed) {
  EXPECT_TRUE(ShouldShadowCompare(WalMode::kShadowCompare, -1, 5));
  EXPECT_FALSE(ShouldShadowCompare(WalMode::kConservative, 1000, 1));
  EXPECT_FALSE(ShouldShadowCompare(WalMode::kAuto, -1, 1));
  EXPECT_FALSE(ShouldShadowCompare(WalMode::kAuto, 0, 1));
  EXPECT_TRUE(ShouldShadowCompare(WalMode::kAuto, 2, 1));
  EXPECT_TRUE(ShouldShadowCompare(WalMode::kAuto, 2, 2));
  EXPECT_FALSE(ShouldShadowCompare(WalMode::kAuto, 2, 3));
  EXPECT_TRUE(ShouldShadowCompare(WalMode::kAuto, 2, 1001));
  EXPECT_TRUE(ShouldShadowCompare(WalMode::kAuto, 5000, 999));
}

TEST(WalControl, HistogramQuantilesAreBoundedAndOrdered) {
  LatencyHistogram h;
  EXPECT_EQ(h.Quantile(0.5), 0u);
  for (uint64_t i = 1; i <= 1000; ++i) h.Record(i * 1000);
  EXPECT_EQ(h.count(), 1000u);
  EXPECT_EQ(h.max(), 1000000u);
  const uint64_t p50 = h.Quantile(0.5), p99 = h.Quantile(0.99);
  EXPECT_GE(p50, 500000u);
  EXPECT_LE(p50, 500000u * 120 / 100);
  EXPECT_GE(p99, 990000u);
  EXPECT_LE(p99, h.max());
  EXPECT_LE(p50, p99);
}

TEST(WalControl, ConservativeAndLaneCountRouteEveryThreadToFewerLanes) {
  for (int variant = 0; variant < 3; ++variant) {
    TempDir dir;
    const std::string db = dir.Join("t.db");
    WalOptions o = Stopped(8);
    if (variant == 1) o.control.mode = WalMode::kConservative;
    if (variant == 2) o.control.lane_count = 1;
    auto wal = MustOpen(db, o);
    EXPECT_EQ(wal->EffectiveLaneCount(), variant == 0 ? 8u : 1u);
    for (size_t slot = 0; slot < 4; ++slot) {
      OneFrame f(slot + 1);
      ASSERT_TRUE(wal->Submit(slot, f.batch, nullptr).ok());
    }
    ASSERT_TRUE(wal->AdvanceAndFlush(5000, nullptr).ok());
    EXPECT_EQ(LaneCounts(db).size(), variant == 0 ? 4u : 1u) << "variant " << variant;
    ASSERT_TRUE(wal->Close().ok());
  }
}

TEST(WalControl, SetModeEntersAndLeavesOperatorForced) {
  TempDir dir;
  auto wal = MustOpen(dir.Join("t.db"), Stopped(4));
  EXPECT_EQ(wal->SetMode(WalMode::kConservative), FallbackReason::kNone);
  EXPECT_EQ(wal->ActiveFallback(), FallbackReason::kOperatorForced);
  EXPECT_EQ(wal->EffectiveLaneCount(), 1u);
  EXPECT_EQ(wal->SetMode(WalMode::kAuto), FallbackReason::kOperatorForced);
  EXPECT_EQ(wal->ActiveFallback(), FallbackReason::kNone);
  EXPECT_EQ(wal->EffectiveLaneCount(), 4u);
  WalStats s = wal->Stats();
  EXPECT_EQ(s.fallbacks[static_cast<size_t>(FallbackReason::kOperatorForced)], 1u);
  ASSERT_TRUE(wal->Close().ok());
}

TEST(WalControl, OversizedBatchesTakeLaneZeroAndAreCounted) {
  TempDir dir;
  const std::string db = dir.Join("t.db");
  WalOptions o = Stopped(8);
  o.control.max_parallel_commit_bytes = 1000;
  auto wal = MustOpen(db, o);
  std::mutex mu;
  std::vector<DurableEvent> events;
  wal->AddListener([&](const DurableEvent& ev) {
    std::lock_guard<std::mutex> g(mu);
    events.push_back(ev);
  });
  OneFrame small(1, 100), big(2, 4000), big2(3, 4000);
  ASSERT_TRUE(wal->Submit(3, small.batch, nullptr).ok());
  ASSERT_TRUE(wal->Submit(5, big.batch, nullptr).ok());
  ASSERT_TRUE(wal->Submit(6, big2.batch, nullptr).ok());
  ASSERT_TRUE(wal->AdvanceAndFlush(5000, nullptr).ok());
  // slot 3 (small) and lane 0 (both big ones)
  std::vector<uint32_t> lanes = LaneCounts(db);
  std::sort(lanes.begin(), lanes.end());
  EXPECT_EQ(lanes, (std::vector<uint32_t>{1, 2}));
  EXPECT_EQ(wal->Stats().fallbacks[static_cast<size_t>(FallbackReason::kLaneOverflow)], 2u);
  {
    std::lock_guard<std::mutex> g(mu);
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(events.back().overflow_batches, 2u);
    EXPECT_EQ(events.back().records, 3u);
    EXPECT_EQ(events.back().lanes, 2u);
    EXPECT_TRUE(events.back().has_seq);
    EXPECT_EQ(events.back().commit_seq_lo, 1u);
    EXPECT_EQ(events.back().commit_seq_hi, 3u);
    EXPECT_EQ(events.back().batch_bytes, 3 * kRecordOverheadBytes + 8100);
  }
  ASSERT_TRUE(wal->Close().ok());
}

TEST(WalControl, ShadowCompareCatchesASilentCorruptionAndRewritesTheEpoch) {
  TempDir dir;
  const std::string db = dir.Join("t.db");
  FailingFileSystem failing(FileSystem::Default());
  FailSpec spec;
  spec.op = FailOp::kCorrupt;
  failing.Arm(spec);
  WalOptions o = Stopped(2);
  o.fs = &failing;
  o.control.mode = WalMode::kShadowCompare;
  auto wal = MustOpen(db, o);
  std::mutex mu;
  std::vector<DurableEvent> events;
  wal->AddListener([&](const DurableEvent& ev) {
    std::lock_guard<std::mutex> g(mu);
    events.push_back(ev);
  });
  OneFrame f(1, 300);
  ASSERT_TRUE(wal->Submit(0, f.batch, nullptr).ok());
  ASSERT_TRUE(wal->AdvanceAndFlush(5000, nullptr).ok());
  EXPECT_EQ(failing.failures(), 1u);
  EXPECT_EQ(wal->ActiveFallback(), FallbackReason::kPublicationMismatch);
  WalStats s = wal->Stats();
  EXPECT_EQ(s.shadow_diverged, 1u);
  EXPECT_EQ(s.shadow_clean, 1u);  // the rewrite
  {
    std::lock_guard<std::mutex> g(mu);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].shadow_verdict, static_cast<uint8_t>(ShadowVerdict::kDiverged));
    EXPECT_EQ(events[0].fallback_reason, static_cast<uint8_t>(FallbackReason::kPublicationMismatch));
    EXPECT_EQ(events[0].attempts, 2u);
  }
  RecoveryResult r;
  std::vector<WalRecord> records;
  ASSERT_TRUE(RecoverSegments(FileSystem::Default(), db, RecoveryOptions(), &r, &records).ok());
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].after_image, f.image);
  EXPECT_TRUE(r.certificates.at(0).fallback_active);
  ASSERT_TRUE(wal->Close().ok());
}

void CheckFsyncTimesRecorded(PrepareMode prepare) {
  TempDir dir;
  WalOptions o = Stopped(1);
  o.fsync = FsyncPolicy::kNormal;
  o.prepare = prepare;
  auto wal = MustOpen(dir.Join("t.db"), o);
  ASSERT_TRUE(wal->Start(FsyncPolicy::kNormal).ok());
  for (uint64_t i = 1; i <= 3; ++i) {
    OneFrame f(i);
    uint64_t e = 0;
    ASSERT_TRUE(wal->Submit(0, f.batch, &e).ok());
    ASSERT_TRUE(wal->WaitForEpochDurable(e, 5000).ok());
  }
  WalStats s = wal->Stats();
  // A segment published through a new file costs a file sync and a directory sync; one written
  // into a prepared file costs a single data sync (preparation I/O is not counted).
  EXPECT_GE(s.fsync_count, 2 * s.segments_written - s.prepared_publishes);
  EXPECT_GE(s.fsync_count, 3u);
  EXPECT_GT(s.fsync_max_ns, 0u);
  EXPECT_LE(s.fsync_p50_ns, s.fsync_p99_ns);
  EXPECT_LE(s.fsync_p99_ns, s.fsync_max_ns);
  ASSERT_TRUE(wal->Close().ok());
}

TEST(WalControl, FsyncTimesAreRecorded) { CheckFsyncTimesRecorded(PrepareMode::kAuto); }

TEST(WalControl, FsyncTimesAreRecordedWithoutPreparedFiles) {
  CheckFsyncTimesRecorded(PrepareMode::kOff);
}

}  // namespace
}  // namespace pwal
