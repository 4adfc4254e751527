// Power loss at every I/O step of publication, on the in-memory file system. After the crash
// and reboot, recovery shows the whole new segment or none of it; if WriteSegment had returned
// OK before the crash, the whole segment. Then a random multi-epoch workload crashes at random
// steps: every acknowledged epoch comes back intact, and nothing partial is ever returned.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <tuple>

#include "fault_file_system.h"
#include "segment.h"
#include "crash_test_util.h"
#include "segment_test_util.h"
#include "test_util.h"

namespace pwal {
namespace {

using Tear = FaultInjectingFileSystem::TearMode;
using testing::MakeBatch;
using testing::MakeRecord;
using testing::Opts;

const char* kDb = "/d/t.db";

EpochBatch RandomBatch(std::mt19937_64* rng, uint64_t epoch) {
  std::vector<WalRecord> records;
  const size_t n = 1 + (*rng)() % 4;
  for (size_t i = 0; i < n; ++i) {
    records.push_back(MakeRecord(1 + (*rng)() % 1000, epoch, 1 + (*rng)() % 8, epoch * 1000 + i,
                                 testing::RandomBytes(rng, 1 + (*rng)() % 300)));
  }
  return MakeBatch(epoch, std::move(records), {static_cast<uint32_t>(n)});
}

bool SameRecords(const std::vector<WalRecord>& a, const std::vector<WalRecord>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].txn_id != b[i].txn_id || a[i].epoch != b[i].epoch || a[i].page_id != b[i].page_id ||
        a[i].begin_seq != b[i].begin_seq || a[i].after_image != b[i].after_image ||
        a[i].before_image != b[i].before_image || a[i].has_end_seq != b[i].has_end_seq)
      return false;
  }
  return true;
}

std::vector<WalRecord> Sorted(std::vector<WalRecord> r) {
  SortForReplay(&r);
  return r;
}

using CrashParam = std::tuple<FsyncPolicy, uint16_t, Tear>;

class CrashAtEveryStepTest : public ::testing::TestWithParam<CrashParam> {};

TEST_P(CrashAtEveryStepTest, SegmentIsWholeOrAbsent) {
  const FsyncPolicy policy = std::get<0>(GetParam());
  const uint16_t version = std::get<1>(GetParam());
  const Tear tear = std::get<2>(GetParam());
  std::mt19937_64 rng(42);
  const EpochBatch b1 = RandomBatch(&rng, 1), b2 = RandomBatch(&rng, 2), b3 = RandomBatch(&rng, 3);
  SegmentWriteOptions o = Opts(policy, version);

  auto setup = [&](FaultInjectingFileSystem* fs) {
    fs->MakeDir("/d");
    SegmentWriteResult wr;
    ASSERT_TRUE(WriteSegment(fs, kDb, b1, Opts(FsyncPolicy::kFull, version), &wr).ok());
    ASSERT_TRUE(WriteSegment(fs, kDb, b2, Opts(FsyncPolicy::kFull, version), &wr).ok());
  };
  std::vector<WalRecord> expect12 = Sorted(b1.records);
  for (const WalRecord& r : Sorted(b2.records)) expect12.push_back(r);
  std::vector<WalRecord> expect123 = expect12;
  for (const WalRecord& r : Sorted(b3.records)) expect123.push_back(r);

  auto publish3 = [&](FaultInjectingFileSystem* fs) {
    SegmentWriteResult wr;
    return WriteSegment(fs, kDb, b3, o, &wr).ok();
  };
  testing::CrashAtEveryStep(tear, 3, setup, publish3, [&](FaultInjectingFileSystem* fsp, bool acked) {
    FaultInjectingFileSystem& fs = *fsp;
    RecoveryResult rr;
    std::vector<WalRecord> records;
    Status st = RecoverSegments(&fs, kDb, RecoveryOptions{}, &rr, &records);
    ASSERT_TRUE(st.ok()) << st.ToString();
    if (policy == FsyncPolicy::kOff) {
      // No promise at all, except: never an error, never a record that was not written.
      EXPECT_TRUE(SameRecords(records, expect12) || SameRecords(records, expect123));
      return;
    }
    EXPECT_FALSE(rr.torn_tail) << "a published segment is never torn: " << rr.stop_reason;
    if (acked) {
      ASSERT_EQ(rr.epochs, (std::vector<uint64_t>{1, 2, 3}));
      EXPECT_TRUE(SameRecords(records, expect123));
    } else if (rr.epochs.size() == 3) {
      EXPECT_TRUE(SameRecords(records, expect123));
    } else {
      ASSERT_EQ(rr.epochs, (std::vector<uint64_t>{1, 2}));
      EXPECT_TRUE(SameRecords(records, expect12));
    }
    // Leftover temporaries are never listed and cleanup removes them.
    size_t n;
    ASSERT_TRUE(CleanupSegments(&fs, kDb, &n).ok());
    EXPECT_TRUE(fs.Names("/d").empty());
  });
}

std::string CrashParamName(const ::testing::TestParamInfo<CrashParam>& i) {
  static const char* policies[] = {"Full", "Normal", "Off"};
  static const char* tears[] = {"Drop", "CutShort", "ZeroFill", "Garbage", "Random"};
  return std::string(policies[static_cast<int>(std::get<0>(i.param))]) + "_V" +
         std::to_string(std::get<1>(i.param)) + "_" + tears[static_cast<int>(std::get<2>(i.param))];
}

INSTANTIATE_TEST_SUITE_P(
    Policies, CrashAtEveryStepTest,
    ::testing::Combine(::testing::Values(FsyncPolicy::kFull, FsyncPolicy::kNormal, FsyncPolicy::kOff),
                       ::testing::Values(kSegmentFormatV1, kSegmentFormatV2),
                       ::testing::Values(Tear::kDrop, Tear::kCutShort, Tear::kZeroFill, Tear::kGarbage)),
    CrashParamName);

// A coordinator-like loop: epochs 1..N written with certificate links, a crash at a random
// step, recovery with discard_torn_tail, continue after the newest epoch on disk, repeat.
TEST(CrashWorkloadTest, AcknowledgedEpochsSurviveRepeatedCrashes) {
  for (uint64_t trial = 0; trial < 60; ++trial) {
    SCOPED_TRACE("trial " + std::to_string(trial));
    std::mt19937_64 rng(1000 + trial);
    FaultInjectingFileSystem fs;
    fs.MakeDir("/d");
    std::map<uint64_t, std::vector<WalRecord>> acked;  // epoch -> records in replay order
    uint64_t next_epoch = 1;
    std::optional<uint64_t> last_durable;
    for (int round = 0; round < 4; ++round) {
      fs.CrashAtStep(fs.steps() + 1 + rng() % 40);
      for (int i = 0; i < 8 && !fs.crashed(); ++i) {
        const EpochBatch b = RandomBatch(&rng, next_epoch);
        SegmentWriteOptions o = Opts(rng() % 2 ? FsyncPolicy::kFull : FsyncPolicy::kNormal);
        o.has_prev = last_durable.has_value();
        o.prev_durable_epoch = last_durable.value_or(0);
        SegmentWriteResult wr;
        Status st = WriteSegment(&fs, kDb, b, o, &wr);
        if (st.ok()) {
          acked[b.epoch] = Sorted(b.records);
          last_durable = b.epoch;
        }
        ++next_epoch;  // never reuse an epoch number, written or not
      }
      fs.PowerLoss(static_cast<Tear>(rng() % 5), rng());

      RecoveryOptions ro;
      ro.discard_torn_tail = true;
      RecoveryResult rr;
      std::vector<WalRecord> records;
      Status st = RecoverSegments(&fs, kDb, ro, &rr, &records);
      ASSERT_TRUE(st.ok()) << st.ToString();
      EXPECT_FALSE(rr.torn_tail);
      // Exactly the acknowledged epochs (an unacknowledged one may also have made it whole).
      std::vector<WalRecord> expect;
      for (uint64_t e : rr.epochs) {
        if (acked.count(e) == 0) continue;
        for (const WalRecord& r : acked[e]) expect.push_back(r);
      }
      for (const auto& a : acked) {
        ASSERT_TRUE(std::find(rr.epochs.begin(), rr.epochs.end(), a.first) != rr.epochs.end())
            << "acknowledged epoch " << a.first << " lost";
      }
      std::vector<WalRecord> got_acked;
      for (const WalRecord& r : records) {
        if (acked.count(r.epoch)) got_acked.push_back(r);
      }
      EXPECT_TRUE(SameRecords(got_acked, expect));
      // An unacknowledged epoch that survived is whole: adopt it as durable now.
      for (uint64_t e : rr.epochs) {
        if (acked.count(e) == 0) {
          std::vector<WalRecord> rs;
          for (const WalRecord& r : records) {
            if (r.epoch == e) rs.push_back(r);
          }
          acked[e] = rs;
        }
      }
      std::optional<uint64_t> max;
      ASSERT_TRUE(MaxDurableEpoch(&fs, kDb, &max).ok());
      last_durable = max;
      if (max && *max >= next_epoch) next_epoch = *max + 1;
    }
  }
}

}  // namespace
}  // namespace pwal
