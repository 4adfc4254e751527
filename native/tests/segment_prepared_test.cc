// Segment files made ahead of time by the standalone writer (PrepareSegmentFiles), and
// WriteSegment's in-place write into them: the prepared file is not a segment until written; a
// write fills it in place (padded) or extends it; an epoch is written once, also when two
// writers race; a failed write or sync leaves no segment and harms no other; and power loss at
// every step of the in-place write shows the whole segment or none of it.
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <cerrno>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "crash_test_util.h"
#include "fault_file_system.h"
#include "segment.h"
#include "segment_test_util.h"
#include "test_util.h"

namespace pwal {
namespace {

using Op = FaultInjectingFileSystem::Op;
using Tear = FaultInjectingFileSystem::TearMode;
using testing::MakeBatch;
using testing::MakeRecord;
using testing::Opts;
using testing::SimpleBatch;

const char* kDb = "/d/t.db";

const char* OpName(Op op) {
  static const char* names[] = {"Open", "Write", "Sync", "Rename", "DirSync", "Delete", "Read", "List"};
  return names[static_cast<int>(op)];
}

std::string CrashName(FsyncPolicy policy, Tear tear) {
  static const char* policies[] = {"Full", "Normal", "Off"};
  static const char* tears[] = {"Drop", "CutShort", "ZeroFill", "Garbage", "Random"};
  return std::string(policies[static_cast<int>(policy)]) + tears[static_cast<int>(tear)];
}

std::vector<uint64_t> Listed(FileSystem* fs, const std::string& db) {
  std::vector<SegmentEntry> entries;
  EXPECT_TRUE(ListSegments(fs, db, &entries).ok());
  std::vector<uint64_t> epochs;
  for (const SegmentEntry& e : entries) epochs.push_back(e.epoch);
  return epochs;
}

class SegmentPreparedTest : public ::testing::Test {
 protected:
  void SetUp() override { fs_.MakeDir("/d"); }
  void Prepare(uint64_t first, uint64_t count, uint64_t size = 4096) {
    uint64_t made = 0;
    ASSERT_TRUE(PrepareSegmentFiles(&fs_, kDb, first, count, size, FsyncPolicy::kFull, &made).ok());
    ASSERT_EQ(made, count);
  }
  FaultInjectingFileSystem fs_;
};

TEST_F(SegmentPreparedTest, PreparedFilesAreDurableZerosAndNotSegments) {
  Prepare(1, 3, 4096);
  for (uint64_t e = 1; e <= 3; ++e) {
    std::string bytes;
    ASSERT_TRUE(fs_.GetFile(SegmentPath(kDb, e), &bytes));
    EXPECT_EQ(bytes, std::string(4096, '\0'));
  }
  EXPECT_TRUE(Listed(&fs_, kDb).empty());
  // Names and contents survive power loss: both were synced before the call returned.
  fs_.PowerLoss(Tear::kRandom, 3);
  for (uint64_t e = 1; e <= 3; ++e) {
    std::string bytes;
    ASSERT_TRUE(fs_.GetFile(SegmentPath(kDb, e), &bytes)) << e;
    EXPECT_EQ(bytes, std::string(4096, '\0'));
  }
  // No pool temporary is left behind.
  EXPECT_EQ(fs_.Names("/d").size(), 3u);
}

TEST_F(SegmentPreparedTest, PrepareValidatesBeforeCreatingAnything) {
  uint64_t made = 7;
  EXPECT_EQ(PrepareSegmentFiles(&fs_, kDb, 1, 0, 4096, FsyncPolicy::kFull, &made).code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(PrepareSegmentFiles(&fs_, kDb, 1, kMaxPrepareSegmentFiles + 1, 4096, FsyncPolicy::kFull, &made).code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(PrepareSegmentFiles(&fs_, kDb, 1, 1, 23, FsyncPolicy::kFull, &made).code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(PrepareSegmentFiles(&fs_, kDb, 1, 1, kMaxPreparedSegmentBytes + 1, FsyncPolicy::kFull, &made).code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(PrepareSegmentFiles(&fs_, kDb, UINT64_MAX, 2, 4096, FsyncPolicy::kFull, &made).code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(made, 0u);
  EXPECT_TRUE(fs_.Names("/d").empty());
}

TEST_F(SegmentPreparedTest, EpochsThatHaveAFileAreLeftAlone) {
  SegmentWriteResult wr;
  ASSERT_TRUE(WriteSegment(&fs_, kDb, SimpleBatch(2), Opts(FsyncPolicy::kFull), &wr).ok());
  std::string before;
  ASSERT_TRUE(fs_.GetFile(SegmentPath(kDb, 2), &before));
  uint64_t made = 0;
  ASSERT_TRUE(PrepareSegmentFiles(&fs_, kDb, 1, 3, 4096, FsyncPolicy::kFull, &made).ok());
  EXPECT_EQ(made, 2u);
  std::string after;
  ASSERT_TRUE(fs_.GetFile(SegmentPath(kDb, 2), &after));
  EXPECT_EQ(after, before);
  EXPECT_EQ(fs_.Names("/d").size(), 3u) << "the temporary for epoch 2 is removed";
}

TEST_F(SegmentPreparedTest, WriteFillsThePreparedFileInPlace) {
  Prepare(1, 2, 4096);
  const uint64_t syncs = fs_.CallCount(Op::kSync);
  const uint64_t dir_syncs = fs_.CallCount(Op::kDirSync);
  const uint64_t renames = fs_.CallCount(Op::kRename);
  SegmentWriteResult wr;
  ASSERT_TRUE(WriteSegment(&fs_, kDb, SimpleBatch(1), Opts(FsyncPolicy::kFull), &wr).ok());
  // One data sync; no new name, so neither a rename nor a directory sync.
  EXPECT_EQ(fs_.CallCount(Op::kSync), syncs + 1);
  EXPECT_EQ(fs_.CallCount(Op::kDirSync), dir_syncs);
  EXPECT_EQ(fs_.CallCount(Op::kRename), renames);
  std::string bytes;
  ASSERT_TRUE(fs_.GetFile(SegmentPath(kDb, 1), &bytes));
  EXPECT_EQ(bytes.size(), 4096u) << "written in place, not replaced";
  EXPECT_EQ(bytes.substr(wr.bytes_written), std::string(4096 - wr.bytes_written, '\0'));
  SegmentContents c;
  ASSERT_TRUE(ReadSegment(&fs_, SegmentPath(kDb, 1), &c).ok());
  EXPECT_EQ(c.header.flags, kSegmentFlagPadded);
  ASSERT_EQ(c.records.size(), 1u);
  ASSERT_TRUE(c.certificate.has_value());
  EXPECT_EQ(c.certificate->certificate_crc32c, wr.certificate.certificate_crc32c)
      << "the result reports the certificate as written (resealed)";
  EXPECT_EQ(Listed(&fs_, kDb), (std::vector<uint64_t>{1}));
  // Durable once WriteSegment returned.
  fs_.PowerLoss(Tear::kRandom, 11);
  RecoveryResult rr;
  std::vector<WalRecord> records;
  ASSERT_TRUE(RecoverSegments(&fs_, kDb, RecoveryOptions{}, &rr, &records).ok());
  EXPECT_EQ(rr.epochs, (std::vector<uint64_t>{1}));
  EXPECT_FALSE(rr.torn_tail);
}

TEST_F(SegmentPreparedTest, ASegmentLargerThanThePreparedFileExtendsIt) {
  Prepare(1, 1, 64);
  const EpochBatch b = MakeBatch(1, {MakeRecord(1, 1, 1, 1, std::vector<uint8_t>(500, 0x5A))});
  SegmentWriteResult wr;
  ASSERT_TRUE(WriteSegment(&fs_, kDb, b, Opts(FsyncPolicy::kNormal), &wr).ok());
  std::string bytes;
  ASSERT_TRUE(fs_.GetFile(SegmentPath(kDb, 1), &bytes));
  EXPECT_EQ(bytes.size(), wr.bytes_written);
  SegmentContents c;
  ASSERT_TRUE(ReadSegment(&fs_, SegmentPath(kDb, 1), &c).ok());
  EXPECT_EQ(c.header.flags, 0) << "no padding: the exact unpadded encoding";
  fs_.PowerLoss(Tear::kRandom, 5);
  ASSERT_TRUE(ReadSegment(&fs_, SegmentPath(kDb, 1), &c).ok());
}

TEST_F(SegmentPreparedTest, AnEpochIsWrittenOnce) {
  Prepare(1, 1);
  SegmentWriteResult wr;
  ASSERT_TRUE(WriteSegment(&fs_, kDb, SimpleBatch(1), Opts(FsyncPolicy::kFull), &wr).ok());
  std::string first;
  ASSERT_TRUE(fs_.GetFile(SegmentPath(kDb, 1), &first));
  EpochBatch other = SimpleBatch(1);
  other.records[0].after_image.assign(16, 0xEE);
  Status st = WriteSegment(&fs_, kDb, other, Opts(FsyncPolicy::kFull), &wr);
  EXPECT_EQ(st.code(), Status::Code::kAlreadyExists) << st.ToString();
  std::string again;
  ASSERT_TRUE(fs_.GetFile(SegmentPath(kDb, 1), &again));
  EXPECT_EQ(again, first);
}

TEST_F(SegmentPreparedTest, ANonZeroFileUnderTheNameIsNeverOverwritten) {
  // Not a prepared file: a header that is not all zero (here, a damaged segment).
  std::string junk(4096, '\0');
  junk[3] = 1;
  fs_.PutFile(SegmentPath(kDb, 1), junk);
  SegmentWriteResult wr;
  EXPECT_EQ(WriteSegment(&fs_, kDb, SimpleBatch(1), Opts(FsyncPolicy::kFull), &wr).code(),
            Status::Code::kAlreadyExists);
  // Too short to hold a header: not a prepared file either.
  fs_.PutFile(SegmentPath(kDb, 2), std::string(10, '\0'));
  EXPECT_EQ(WriteSegment(&fs_, kDb, SimpleBatch(2), Opts(FsyncPolicy::kFull), &wr).code(),
            Status::Code::kAlreadyExists);
  std::string bytes;
  ASSERT_TRUE(fs_.GetFile(SegmentPath(kDb, 1), &bytes));
  EXPECT_EQ(bytes, junk);
}

TEST_F(SegmentPreparedTest, VersionOneIsNeverWrittenInPlace) {
  Prepare(1, 1);
  SegmentWriteResult wr;
  EXPECT_EQ(WriteSegment(&fs_, kDb, SimpleBatch(1), Opts(FsyncPolicy::kFull, kSegmentFormatV1), &wr).code(),
            Status::Code::kAlreadyExists);
  std::string bytes;
  ASSERT_TRUE(fs_.GetFile(SegmentPath(kDb, 1), &bytes));
  EXPECT_EQ(bytes, std::string(4096, '\0'));
}

TEST(SegmentResealTest, ResealingEqualsEncodingWithTheFlag) {
  std::mt19937_64 rng(9);
  for (int round = 0; round < 20; ++round) {
    std::vector<WalRecord> records;
    const size_t n = rng() % 6;
    for (size_t i = 0; i < n; ++i) {
      records.push_back(MakeRecord(1 + i, 4, 1 + rng() % 9, 10 + i,
                                   testing::RandomBytes(&rng, rng() % 200), rng() % 2 == 0,
                                   testing::RandomBytes(&rng, rng() % 50)));
    }
    const EpochBatch b = MakeBatch(4, records, {static_cast<uint32_t>(n / 2), static_cast<uint32_t>(n - n / 2)});
    SegmentWriteOptions plain = Opts(FsyncPolicy::kOff);
    plain.has_prev = round % 2 == 0;
    plain.prev_durable_epoch = 2;
    SegmentWriteOptions padded = plain;
    padded.padded = true;
    std::string a, want;
    CommitCertificate ca, cwant;
    ASSERT_TRUE(EncodeSegment(b, plain, &a, &ca).ok());
    ASSERT_TRUE(EncodeSegment(b, padded, &want, &cwant).ok());
    uint32_t crc = 0;
    ASSERT_TRUE(ResealSegmentFlags(reinterpret_cast<uint8_t*>(&a[0]), a.size(), kSegmentFlagPadded, &crc).ok());
    EXPECT_EQ(a, want);
    EXPECT_EQ(crc, cwant.certificate_crc32c);
  }
}

TEST(SegmentResealTest, RefusesWhatIsNotAWholeV2Segment) {
  std::string v1;
  ASSERT_TRUE(EncodeSegment(SimpleBatch(1), Opts(FsyncPolicy::kOff, kSegmentFormatV1), &v1, nullptr).ok());
  EXPECT_FALSE(ResealSegmentFlags(reinterpret_cast<uint8_t*>(&v1[0]), v1.size(), kSegmentFlagPadded, nullptr).ok());
  std::string v2;
  ASSERT_TRUE(EncodeSegment(SimpleBatch(1), Opts(FsyncPolicy::kOff), &v2, nullptr).ok());
  for (size_t cut = 0; cut < v2.size(); ++cut) {
    std::string shorter = v2.substr(0, cut);
    EXPECT_FALSE(ResealSegmentFlags(reinterpret_cast<uint8_t*>(&shorter[0]), shorter.size(),
                                    kSegmentFlagPadded, nullptr).ok())
        << cut;
  }
}

// Every call of the in-place write fails in turn (open, the lock-and-read, write, sync), with
// EIO and ENOSPC: the error names the segment, nothing is listed for the epoch, the earlier
// segment is intact, and a retry of the epoch (a new file now) succeeds and survives power loss.
using FaultParam = std::tuple<Op, int>;
class SegmentPreparedFaultTest : public ::testing::TestWithParam<FaultParam> {};

TEST_P(SegmentPreparedFaultTest, FailedCallLeavesNoSegmentAndRetrySucceeds) {
  const Op op = std::get<0>(GetParam());
  const int err = std::get<1>(GetParam());
  FaultInjectingFileSystem fs;
  fs.MakeDir("/d");
  SegmentWriteResult wr;
  ASSERT_TRUE(WriteSegment(&fs, kDb, SimpleBatch(1), Opts(FsyncPolicy::kFull), &wr).ok());
  std::string first;
  ASSERT_TRUE(fs.GetFile(SegmentPath(kDb, 1), &first));
  uint64_t made = 0;
  ASSERT_TRUE(PrepareSegmentFiles(&fs, kDb, 2, 1, 4096, FsyncPolicy::kFull, &made).ok());
  const uint64_t syncs = fs.CallCount(Op::kSync);
  fs.FailNth(op, 1, err);
  Status st = WriteSegment(&fs, kDb, SimpleBatch(2), Opts(FsyncPolicy::kFull), &wr);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.sys_errno(), err) << st.ToString();
  EXPECT_NE(st.message().find(SegmentPath(kDb, 2)), std::string::npos) << st.ToString();
  if (op == Op::kSync) EXPECT_EQ(fs.CallCount(Op::kSync), syncs + 1) << "never synced again";
  fs.ClearFaults();
  if (op == Op::kWrite || op == Op::kSync) {
    bool exists = true;
    ASSERT_TRUE(fs.FileExists(SegmentPath(kDb, 2), &exists).ok());
    EXPECT_FALSE(exists) << "a file whose write or sync failed is deleted";
  }
  EXPECT_EQ(Listed(&fs, kDb), (std::vector<uint64_t>{1}));
  std::string again;
  ASSERT_TRUE(fs.GetFile(SegmentPath(kDb, 1), &again));
  EXPECT_EQ(again, first);

  ASSERT_TRUE(WriteSegment(&fs, kDb, SimpleBatch(2), Opts(FsyncPolicy::kFull), &wr).ok());
  fs.PowerLoss(Tear::kRandom, 5);
  RecoveryResult rr;
  std::vector<WalRecord> records;
  ASSERT_TRUE(RecoverSegments(&fs, kDb, RecoveryOptions{}, &rr, &records).ok());
  EXPECT_EQ(rr.epochs, (std::vector<uint64_t>{1, 2}));
  EXPECT_FALSE(rr.torn_tail);
}

INSTANTIATE_TEST_SUITE_P(
    AllCalls, SegmentPreparedFaultTest,
    ::testing::Combine(::testing::Values(Op::kOpen, Op::kRead, Op::kWrite, Op::kSync),
                       ::testing::Values(EIO, ENOSPC)),
    [](const ::testing::TestParamInfo<FaultParam>& i) {
      return std::string(OpName(std::get<0>(i.param))) +
             (std::get<1>(i.param) == EIO ? "_EIO" : "_ENOSPC");
    });

// Power loss at every step of an in-place write (and right after it returned), with every way
// unsynced bytes can tear: recovery returns the earlier segment and either the whole new one or
// nothing of it, never an error; the whole new one if the write had returned OK.
using CrashParam = std::tuple<FsyncPolicy, Tear>;
class SegmentPreparedCrashTest : public ::testing::TestWithParam<CrashParam> {};

TEST_P(SegmentPreparedCrashTest, SegmentIsWholeOrAbsent) {
  const FsyncPolicy policy = std::get<0>(GetParam());
  const Tear tear = std::get<1>(GetParam());
  const EpochBatch b2 = MakeBatch(2, {MakeRecord(7, 2, 3, 200, std::vector<uint8_t>(300, 0x42)),
                                      MakeRecord(8, 2, 4, 201, std::vector<uint8_t>(700, 0x43))});
  SegmentWriteOptions o = Opts(policy);
  o.has_prev = true;
  o.prev_durable_epoch = 1;
  auto setup = [&](FaultInjectingFileSystem* fs) {
    fs->MakeDir("/d");
    SegmentWriteResult wr;
    ASSERT_TRUE(WriteSegment(fs, kDb, SimpleBatch(1), Opts(FsyncPolicy::kFull), &wr).ok());
    uint64_t made = 0;
    ASSERT_TRUE(PrepareSegmentFiles(fs, kDb, 2, 2, 4096, policy, &made).ok());
  };
  auto write2 = [&](FaultInjectingFileSystem* fs) {
    SegmentWriteResult wr;
    return WriteSegment(fs, kDb, b2, o, &wr).ok();
  };
  testing::CrashAtEveryStep(tear, 2, setup, write2, [&](FaultInjectingFileSystem* fs, bool acked) {
    RecoveryResult rr;
    std::vector<WalRecord> records;
    Status st = RecoverSegments(fs, kDb, RecoveryOptions{}, &rr, &records);
    ASSERT_TRUE(st.ok()) << st.ToString();
    if (rr.epochs.size() == 2) {
      ASSERT_EQ(records.size(), 3u);
      EXPECT_EQ(records[1].after_image, b2.records[0].after_image);
      EXPECT_EQ(records[2].after_image, b2.records[1].after_image);
    } else {
      EXPECT_EQ(rr.epochs, (std::vector<uint64_t>{1}));
      if (policy != FsyncPolicy::kOff) EXPECT_FALSE(acked) << "an acknowledged segment was lost";
    }
  });
}

INSTANTIATE_TEST_SUITE_P(
    PoliciesAndTears, SegmentPreparedCrashTest,
    ::testing::Combine(::testing::Values(FsyncPolicy::kFull, FsyncPolicy::kNormal, FsyncPolicy::kOff),
                       ::testing::Values(Tear::kDrop, Tear::kCutShort, Tear::kZeroFill, Tear::kGarbage,
                                         Tear::kRandom)),
    [](const ::testing::TestParamInfo<CrashParam>& i) {
      return CrashName(std::get<0>(i.param), std::get<1>(i.param));
    });

// Real files: several threads write the same prepared epoch at once, each with its own bytes.
// Exactly one succeeds, the others are refused, and the file holds the winner's segment. Every
// interleaving must give that; it relies on the lock (without it two could see zeros).
TEST(SegmentPreparedPosixTest, OfWritersRacingForOneEpochExactlyOneWins) {
  testing::TempDir dir;
  const std::string db = dir.path() + "/r.db";
  FileSystem* fs = FileSystem::Default();
  for (uint64_t e = 1; e <= 30; ++e) {
    uint64_t made = 0;
    ASSERT_TRUE(PrepareSegmentFiles(fs, db, e, 1, 4096, FsyncPolicy::kOff, &made).ok());
    ASSERT_EQ(made, 1u);
    constexpr int kWriters = 4;
    std::atomic<int> ok{0}, refused{0}, other{0};
    std::atomic<int> winner{-1};
    std::vector<std::thread> threads;
    for (int t = 0; t < kWriters; ++t) {
      threads.emplace_back([&, t] {
        EpochBatch b = SimpleBatch(e);
        b.records[0].after_image.assign(16, static_cast<uint8_t>(0xA0 + t));
        SegmentWriteResult wr;
        Status st = WriteSegment(fs, db, b, Opts(FsyncPolicy::kOff), &wr);
        if (st.ok()) {
          ++ok;
          winner = t;
        } else if (st.code() == Status::Code::kAlreadyExists) {
          ++refused;
        } else {
          ++other;
        }
      });
    }
    for (std::thread& th : threads) th.join();
    ASSERT_EQ(ok.load(), 1) << "epoch " << e;
    ASSERT_EQ(refused.load(), kWriters - 1);
    ASSERT_EQ(other.load(), 0);
    SegmentContents c;
    ASSERT_TRUE(ReadSegment(fs, SegmentPath(db, e), &c).ok());
    ASSERT_EQ(c.records.size(), 1u);
    EXPECT_EQ(c.records[0].after_image, std::vector<uint8_t>(16, static_cast<uint8_t>(0xA0 + winner.load())));
  }
}

// Another writer of the same epoch failed and deleted the prepared file while this one waited
// for its lock (the delete happens under that writer's lock, after this one opened the name).
// This one must notice that its open file has no name any more and publish a new file: writing
// into the unnamed inode would report success for a segment nobody can find.
class DeletesAfterReopen final : public FileSystemWrapper {
 public:
  using FileSystemWrapper::FileSystemWrapper;
  Status ReopenForOverwrite(const std::string& path, std::unique_ptr<WritableFile>* out) override {
    Status st = FileSystemWrapper::ReopenForOverwrite(path, out);
    if (st.ok() && armed_) {
      armed_ = false;
      EXPECT_TRUE(DeleteFile(path).ok());
    }
    return st;
  }
  bool armed_ = true;
};

void ExpectAPreparedFileDeletedAfterTheOpenIsNotWrittenInto(FileSystem* base, const std::string& db) {
  uint64_t made = 0;
  ASSERT_TRUE(PrepareSegmentFiles(base, db, 7, 1, 4096, FsyncPolicy::kFull, &made).ok());
  ASSERT_EQ(made, 1u);
  DeletesAfterReopen fs(base);
  SegmentWriteResult wr;
  ASSERT_TRUE(WriteSegment(&fs, db, SimpleBatch(7), Opts(FsyncPolicy::kFull), &wr).ok());
  EXPECT_FALSE(fs.armed_) << "the write did not open the prepared file";
  SegmentContents c;
  ASSERT_TRUE(ReadSegment(base, SegmentPath(db, 7), &c).ok()) << "the acknowledged segment has no name";
  EXPECT_EQ(c.records.size(), 1u);
  EXPECT_EQ(c.header.epoch, 7u);
}

TEST(SegmentPreparedPosixTest, APreparedFileDeletedAfterTheOpenIsNotWrittenInto) {
  testing::TempDir dir;
  ExpectAPreparedFileDeletedAfterTheOpenIsNotWrittenInto(FileSystem::Default(), dir.path() + "/n.db");
}

TEST_F(SegmentPreparedTest, APreparedFileDeletedAfterTheOpenIsNotWrittenInto) {
  ExpectAPreparedFileDeletedAfterTheOpenIsNotWrittenInto(&fs_, kDb);
}

}  // namespace
}  // namespace pwal
