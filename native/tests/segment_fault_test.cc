// Fault injection through the FileSystem interface: every I/O call WriteSegment makes fails in
// turn, with EIO and with ENOSPC. Each time: the error comes back with its errno, nothing is
// visible under the final name, no temporary is left, earlier segments are byte-for-byte intact,
// and a retry of the same epoch succeeds and survives power loss.
#include <gtest/gtest.h>

#include <cerrno>
#include <atomic>
#include <thread>
#include <tuple>

#include "fault_file_system.h"
#include "segment.h"
#include "segment_test_util.h"
#include "test_util.h"

namespace pwal {
namespace {

using Op = FaultInjectingFileSystem::Op;
using testing::Opts;
using testing::SimpleBatch;

const char* OpLabel(Op op) {
  switch (op) {
    case Op::kOpen: return "Open";
    case Op::kWrite: return "Write";
    case Op::kSync: return "Sync";
    case Op::kRename: return "Rename";
    case Op::kDirSync: return "DirSync";
    case Op::kDelete: return "Delete";
    case Op::kRead: return "Read";
    case Op::kList: return "List";
    default: return "X";
  }
}

class SegmentFaultTest : public ::testing::TestWithParam<std::tuple<Op, int, FsyncPolicy>> {
 protected:
  void SetUp() override {
    fs_.MakeDir("/d");
    for (uint64_t e = 1; e <= 2; ++e) {
      SegmentWriteResult wr;
      ASSERT_TRUE(WriteSegment(&fs_, kDb, SimpleBatch(e), Opts(FsyncPolicy::kFull), &wr).ok());
      std::string bytes;
      ASSERT_TRUE(fs_.GetFile(wr.path, &bytes));
      before_.push_back(bytes);
    }
  }
  void ExpectEarlierSegmentsIntact() {
    for (uint64_t e = 1; e <= 2; ++e) {
      std::string bytes;
      ASSERT_TRUE(fs_.GetFile(SegmentPath(kDb, e), &bytes));
      EXPECT_EQ(bytes, before_[e - 1]);
    }
  }
  const std::string kDb = "/d/t.db";
  FaultInjectingFileSystem fs_;
  std::vector<std::string> before_;
};

TEST_P(SegmentFaultTest, FailedCallLeavesNoSegmentAndRetrySucceeds) {
  const Op op = std::get<0>(GetParam());
  const int err = std::get<1>(GetParam());
  const FsyncPolicy policy = std::get<2>(GetParam());
  fs_.FailNth(op, 1, err);
  const uint64_t syncs_before = fs_.CallCount(Op::kSync);
  SegmentWriteResult wr;
  Status st = WriteSegment(&fs_, kDb, SimpleBatch(3), Opts(policy), &wr);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Status::Code::kIoError) << st.ToString();
  EXPECT_EQ(st.sys_errno(), err) << st.ToString();
  EXPECT_NE(st.message().find(SegmentPath(kDb, 3)), std::string::npos) << st.ToString();
  if (op == Op::kSync) {
    EXPECT_EQ(fs_.CallCount(Op::kSync), syncs_before + 1) << "a failed sync is never retried";
  }
  // Nothing under the final name, no temporary, earlier segments untouched.
  EXPECT_EQ(fs_.Names("/d"), (std::vector<std::string>{"t.db-wal-seg-0000000000000001",
                                                         "t.db-wal-seg-0000000000000002"}));
  ExpectEarlierSegmentsIntact();
  RecoveryResult rr;
  std::vector<WalRecord> records;
  ASSERT_TRUE(RecoverSegments(&fs_, kDb, RecoveryOptions{}, &rr, &records).ok());
  EXPECT_EQ(rr.epochs, (std::vector<uint64_t>{1, 2}));

  // The epoch is rewritten from memory into a fresh file; it must then survive power loss.
  ASSERT_TRUE(WriteSegment(&fs_, kDb, SimpleBatch(3), Opts(policy), &wr).ok());
  fs_.PowerLoss(FaultInjectingFileSystem::TearMode::kRandom, 7);
  ASSERT_TRUE(RecoverSegments(&fs_, kDb, RecoveryOptions{}, &rr, &records).ok());
  EXPECT_EQ(rr.epochs, (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_FALSE(rr.torn_tail);
  ExpectEarlierSegmentsIntact();
}

INSTANTIATE_TEST_SUITE_P(
    AllCalls, SegmentFaultTest,
    ::testing::Combine(::testing::Values(Op::kOpen, Op::kWrite, Op::kSync, Op::kRename, Op::kDirSync),
                       ::testing::Values(EIO, ENOSPC),
                       ::testing::Values(FsyncPolicy::kFull, FsyncPolicy::kNormal)),
    [](const ::testing::TestParamInfo<std::tuple<Op, int, FsyncPolicy>>& i) {
      return std::string(OpLabel(std::get<0>(i.param))) +
             (std::get<1>(i.param) == EIO ? "_EIO" : "_ENOSPC") +
             (std::get<2>(i.param) == FsyncPolicy::kFull ? "_Full" : "_Normal");
    });

TEST(SegmentFaultSingleTest, PolicyOffMakesNoSyncCalls) {
  FaultInjectingFileSystem fs;
  fs.MakeDir("/d");
  SegmentWriteResult wr;
  ASSERT_TRUE(WriteSegment(&fs, "/d/t.db", SimpleBatch(1), Opts(FsyncPolicy::kOff), &wr).ok());
  EXPECT_EQ(fs.CallCount(Op::kSync), 0u);
  EXPECT_EQ(fs.CallCount(Op::kDirSync), 0u);
  EXPECT_EQ(fs.CallCount(Op::kRename), 1u);
}

TEST(SegmentFaultSingleTest, FullPolicyCallSequence) {
  // create, one write, sync, rename, dir sync: the publication protocol, nothing more.
  FaultInjectingFileSystem fs;
  fs.MakeDir("/d");
  SegmentWriteResult wr;
  ASSERT_TRUE(WriteSegment(&fs, "/d/t.db", SimpleBatch(1), Opts(FsyncPolicy::kFull), &wr).ok());
  EXPECT_EQ(fs.CallCount(Op::kOpen), 1u);
  EXPECT_EQ(fs.CallCount(Op::kWrite), 1u);
  EXPECT_EQ(fs.CallCount(Op::kSync), 1u);
  EXPECT_EQ(fs.CallCount(Op::kRename), 1u);
  EXPECT_EQ(fs.CallCount(Op::kDirSync), 1u);
  EXPECT_EQ(fs.steps(), 5u);
}

TEST(SegmentFaultSingleTest, FailedCleanupOfTemporaryIsRemovedLater) {
  // The write fails and so does deleting the temporary: the temporary stays, is never listed,
  // and CleanupSegments removes it.
  FaultInjectingFileSystem fs;
  fs.MakeDir("/d");
  fs.FailNth(Op::kWrite, 1, EIO);
  fs.FailNth(Op::kDelete, 1, EIO);
  SegmentWriteResult wr;
  ASSERT_FALSE(WriteSegment(&fs, "/d/t.db", SimpleBatch(1), Opts(FsyncPolicy::kFull), &wr).ok());
  ASSERT_EQ(fs.Names("/d").size(), 1u);
  std::vector<SegmentEntry> segs;
  ASSERT_TRUE(ListSegments(&fs, "/d/t.db", &segs).ok());
  EXPECT_TRUE(segs.empty());
  size_t n = 99;
  ASSERT_TRUE(CleanupSegments(&fs, "/d/t.db", &n).ok());
  EXPECT_EQ(n, 0u);
  EXPECT_TRUE(fs.Names("/d").empty());
}

TEST(SegmentFaultSingleTest, DirSyncFailureWithdrawsTheSegment) {
  FaultInjectingFileSystem fs;
  fs.MakeDir("/d");
  fs.FailNth(Op::kDirSync, 1, EIO);
  SegmentWriteResult wr;
  Status st = WriteSegment(&fs, "/d/t.db", SimpleBatch(1), Opts(FsyncPolicy::kFull), &wr);
  ASSERT_EQ(st.sys_errno(), EIO);
  EXPECT_TRUE(fs.Names("/d").empty()) << "not reported durable, so not left visible";
}

TEST(SegmentFaultSingleTest, ReadFailuresAreIoErrorsNotCorruption) {
  FaultInjectingFileSystem fs;
  fs.MakeDir("/d");
  SegmentWriteResult wr;
  ASSERT_TRUE(WriteSegment(&fs, "/d/t.db", SimpleBatch(1), Opts(FsyncPolicy::kFull), &wr).ok());
  fs.FailNth(Op::kRead, 1, EIO, /*persistent=*/true);
  RecoveryResult rr;
  std::vector<WalRecord> records;
  RecoveryOptions skip;
  skip.skip_corrupt = true;
  Status st = RecoverSegments(&fs, "/d/t.db", skip, &rr, &records);
  EXPECT_EQ(st.code(), Status::Code::kIoError) << "an unreadable disk is not a torn tail";
  fs.ClearFaults();
  fs.FailNth(Op::kList, 1, EIO);
  EXPECT_EQ(RecoverSegments(&fs, "/d/t.db", RecoveryOptions{}, &rr, &records).code(),
            Status::Code::kIoError);
}

TEST(SegmentFaultSingleTest, MissingDirectoryFailsBeforeAnyFile) {
  FaultInjectingFileSystem fs;
  SegmentWriteResult wr;
  Status st = WriteSegment(&fs, "/missing/t.db", SimpleBatch(1), Opts(FsyncPolicy::kFull), &wr);
  EXPECT_EQ(st.code(), Status::Code::kNotFound) << st.ToString();
}

// Publication is safe against itself: threads writing distinct epochs all succeed; threads racing
// for one epoch produce exactly one segment, and every loser gets AlreadyExists (TSan watches).
TEST(SegmentConcurrencyTest, DistinctEpochsFromManyThreads) {
  for (bool posix : {false, true}) {
    FaultInjectingFileSystem mem;
    mem.MakeDir("/d");
    testing::TempDir tmp;
    FileSystem* fs = posix ? FileSystem::Default() : static_cast<FileSystem*>(&mem);
    const std::string db = posix ? tmp.Join("t.db") : "/d/t.db";
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (uint64_t i = 0; i < 10; ++i) {
          SegmentWriteResult wr;
          if (!WriteSegment(fs, db, SimpleBatch(1 + t * 10 + i), Opts(FsyncPolicy::kOff), &wr).ok()) ++failures;
        }
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(failures.load(), 0);
    RecoveryResult rr;
    std::vector<WalRecord> records;
    ASSERT_TRUE(RecoverSegments(fs, db, RecoveryOptions{}, &rr, &records).ok());
    EXPECT_EQ(rr.segments_recovered, 40u);
  }
}

TEST(SegmentConcurrencyTest, RaceForOneEpochHasOneWinner) {
  testing::TempDir tmp;
  const std::string db = tmp.Join("t.db");
  std::vector<std::thread> threads;
  std::atomic<int> ok{0}, exists{0}, other{0};
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      EpochBatch b = SimpleBatch(7);
      b.records[0].after_image.assign(16, static_cast<uint8_t>(t));
      SegmentWriteResult wr;
      Status st = WriteSegment(FileSystem::Default(), db, b, Opts(FsyncPolicy::kNormal), &wr);
      if (st.ok()) ++ok;
      else if (st.code() == Status::Code::kAlreadyExists) ++exists;
      else ++other;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(exists.load(), 5);
  EXPECT_EQ(other.load(), 0);
  std::vector<std::string> names;
  ASSERT_TRUE(FileSystem::Default()->ListDir(tmp.path(), &names).ok());
  EXPECT_EQ(names.size(), 1u) << "losers leave no temporaries";
}

}  // namespace
}  // namespace pwal
