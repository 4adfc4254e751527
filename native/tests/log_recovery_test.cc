// RecoverSegments over log files (log_file.h) mixed with plain segment files: frames are
// applied in order and chained across files; one named test per way a log file can end
// (cleanly, torn in the newest file, torn before a file that certifies past it, damaged where a
// later file certifies the damaged frame, damaged before a whole later frame, superseded by
// the retry of a failed frame write).
#include <gtest/gtest.h>

#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "fault_file_system.h"
#include "log_file.h"
#include "segment.h"
#include "segment_test_util.h"

namespace pwal {
namespace {

using testing::MakeBatch;
using testing::MakeRecord;

const char* kDb = "/d/t.db";

// One record on page `epoch` whose after-image is `fill` repeated.
EpochBatch Batch(uint64_t epoch, uint8_t fill) {
  return MakeBatch(epoch, {MakeRecord(epoch, epoch, static_cast<uint32_t>(epoch), epoch * 10,
                                      std::vector<uint8_t>(64, fill))});
}

std::string Image(uint64_t epoch, std::optional<uint64_t> prev, bool frame, uint8_t fill = 0) {
  SegmentWriteOptions o;
  o.frame = frame;
  o.has_prev = prev.has_value();
  o.prev_durable_epoch = prev.value_or(0);
  std::string bytes;
  EXPECT_TRUE(EncodeSegment(Batch(epoch, fill ? fill : static_cast<uint8_t>(epoch)), o, &bytes, nullptr).ok());
  return bytes;
}

// A log file of `slots` slots holding the given frames, one per slot from the start.
std::string LogOf(const std::vector<std::string>& frames, size_t slots = 6) {
  std::string file(slots * kLogFrameAlign, '\0');
  for (size_t k = 0; k < frames.size(); ++k) file.replace(k * kLogFrameAlign, frames[k].size(), frames[k]);
  return file;
}

class LogRecoveryTest : public ::testing::Test {
 protected:
  void SetUp() override { fs_.MakeDir("/d"); }
  void Put(uint64_t epoch, const std::string& bytes) { fs_.PutFile(SegmentPath(kDb, epoch), bytes); }
  Status Recover(RecoveryResult* r, std::vector<WalRecord>* records, RecoveryOptions o = {}) {
    return RecoverSegments(&fs_, kDb, o, r, records);
  }
  FaultInjectingFileSystem fs_;
};

TEST_F(LogRecoveryTest, FramesAreAppliedInOrderBetweenSegmentFiles) {
  Put(1, Image(1, std::nullopt, false));
  Put(2, LogOf({Image(2, 1, true), Image(3, 2, true), Image(5, 3, true)}));
  Put(6, Image(6, 5, false));
  RecoveryResult r;
  std::vector<WalRecord> records;
  ASSERT_TRUE(Recover(&r, &records).ok());
  EXPECT_EQ(r.epochs, (std::vector<uint64_t>{1, 2, 3, 5, 6}));
  EXPECT_EQ(r.segments_recovered, 5u);
  EXPECT_FALSE(r.torn_tail);
  ASSERT_EQ(records.size(), 5u);
  const uint8_t fills[] = {1, 2, 3, 5, 6};
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(records[i].epoch, fills[i]);
    EXPECT_EQ(records[i].after_image, std::vector<uint8_t>(64, fills[i]));
  }
  // The zero-copy form: later frames share the file's bytes.
  std::vector<RecoveredSegment> segs;
  ASSERT_TRUE(RecoverSegmentViews(&fs_, kDb, RecoveryOptions{}, &r, &segs).ok());
  ASSERT_EQ(segs.size(), 5u);
  EXPECT_FALSE(segs[1].shares_bytes);
  EXPECT_TRUE(segs[2].shares_bytes);
  EXPECT_TRUE(segs[3].shares_bytes);
  EXPECT_EQ(segs[2].bytes.size(), 0u);
  EXPECT_FALSE(segs[4].shares_bytes);
}

TEST_F(LogRecoveryTest, ATornLastFrameOfTheNewestLogFileIsATornTailAndTheFileStays) {
  std::string log = LogOf({Image(2, std::nullopt, true), Image(3, 2, true), Image(4, 3, true)});
  log[2 * kLogFrameAlign + 50] ^= 0x04;  // the write of frame 4 was torn by a crash
  Put(2, log);
  RecoveryResult r;
  std::vector<WalRecord> records;
  RecoveryOptions o;
  o.discard_torn_tail = true;
  ASSERT_TRUE(Recover(&r, &records, o).ok());
  EXPECT_EQ(r.epochs, (std::vector<uint64_t>{2, 3}));
  EXPECT_TRUE(r.torn_tail);
  EXPECT_EQ(r.partial_segments, (std::vector<std::string>{SegmentPath(kDb, 2)}));
  EXPECT_NE(r.stop_reason.find("torn tail"), std::string::npos);
  std::string still;
  EXPECT_TRUE(fs_.GetFile(SegmentPath(kDb, 2), &still)) << "a log file with acknowledged frames was deleted";
}

TEST_F(LogRecoveryTest, ATornFrameFollowedByAFileThatCertifiesPastItIsNotAnError) {
  std::string log = LogOf({Image(2, std::nullopt, true), Image(3, 2, true), Image(4, 3, true)});
  log[2 * kLogFrameAlign + 50] ^= 0x04;  // torn; the writer restarted and wrote epoch 4 anew
  Put(2, log);
  Put(4, Image(4, 3, false));
  RecoveryResult r;
  std::vector<WalRecord> records;
  ASSERT_TRUE(Recover(&r, &records).ok());
  EXPECT_EQ(r.epochs, (std::vector<uint64_t>{2, 3, 4}));
  EXPECT_FALSE(r.torn_tail);
}

TEST_F(LogRecoveryTest, ADamagedFrameThatALaterFileCertifiesIsAGap) {
  std::string log = LogOf({Image(2, std::nullopt, true), Image(3, 2, true)});
  log[kLogFrameAlign + 50] ^= 0x04;  // frame 3 was acknowledged (epoch 4 links to it), then damaged
  Put(2, log);
  Put(4, Image(4, 3, false));
  RecoveryResult r;
  std::vector<WalRecord> records;
  Status st = Recover(&r, &records);
  EXPECT_EQ(st.code(), Status::Code::kCertificateGap) << st.ToString();
  RecoveryOptions skip;
  skip.skip_corrupt = true;
  ASSERT_TRUE(Recover(&r, &records, skip).ok());
  EXPECT_EQ(r.epochs, (std::vector<uint64_t>{2}));
  EXPECT_EQ(r.partial_segments, (std::vector<std::string>{SegmentPath(kDb, 4)}));
}

TEST_F(LogRecoveryTest, DamageBeforeAWholeLaterFrameIsCorruptionEvenInTheNewestFile) {
  std::string log = LogOf({Image(2, std::nullopt, true), Image(3, 2, true), Image(4, 3, true)});
  log[kLogFrameAlign + 50] ^= 0x04;  // frame 3 damaged, frame 4 whole after it
  Put(2, log);
  RecoveryResult r;
  std::vector<WalRecord> records;
  Status st = Recover(&r, &records);
  EXPECT_EQ(st.code(), Status::Code::kCorruption) << st.ToString();
  EXPECT_NE(st.message().find("later frame"), std::string::npos);
  RecoveryOptions skip;
  skip.skip_corrupt = true;
  ASSERT_TRUE(Recover(&r, &records, skip).ok());
  EXPECT_EQ(r.epochs, (std::vector<uint64_t>{2}));
  EXPECT_FALSE(r.torn_tail);
  EXPECT_EQ(r.partial_segments, (std::vector<std::string>{SegmentPath(kDb, 2)}));
}

TEST_F(LogRecoveryTest, AFrameSupersededByTheRetryOfItsEpochIsNotApplied) {
  // The write of frame 3 reported an error (so the file was abandoned) but its bytes reached
  // the disk; the epoch was rewritten from memory into a file of its own.
  Put(2, LogOf({Image(2, std::nullopt, true), Image(3, 2, true, 0xAA)}));
  Put(3, Image(3, 2, false, 0xBB));
  RecoveryResult r;
  std::vector<WalRecord> records;
  ASSERT_TRUE(Recover(&r, &records).ok());
  EXPECT_EQ(r.epochs, (std::vector<uint64_t>{2, 3}));
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1].after_image, std::vector<uint8_t>(64, 0xBB)) << "the abandoned frame was applied";
}

TEST_F(LogRecoveryTest, AnUnwrittenLogFileAtTheTailIsNotASegment) {
  Put(2, LogOf({Image(2, std::nullopt, true)}));
  Put(3, std::string(4 * kLogFrameAlign, '\0'));  // prepared, never written
  RecoveryResult r;
  std::vector<WalRecord> records;
  ASSERT_TRUE(Recover(&r, &records).ok());
  EXPECT_EQ(r.epochs, (std::vector<uint64_t>{2}));
  EXPECT_FALSE(r.torn_tail);
}

TEST_F(LogRecoveryTest, ALogFileWhoseFirstFrameIsNotItsNamesEpochIsCorrupt) {
  Put(2, LogOf({Image(3, std::nullopt, true)}));
  RecoveryResult r;
  std::vector<WalRecord> records;
  Status st = Recover(&r, &records);
  EXPECT_EQ(st.code(), Status::Code::kCorruption);
  EXPECT_NE(st.message().find("mismatched epoch"), std::string::npos);
}

TEST_F(LogRecoveryTest, ALogFileWhoseFirstFrameIsTornIsATornTailLikeAnySegment) {
  std::string log = LogOf({Image(2, 1, true)});
  log[40] ^= 0x01;
  Put(1, Image(1, std::nullopt, false));
  Put(2, log);
  RecoveryResult r;
  std::vector<WalRecord> records;
  ASSERT_TRUE(Recover(&r, &records).ok());
  EXPECT_EQ(r.epochs, (std::vector<uint64_t>{1}));
  EXPECT_TRUE(r.torn_tail);
}

}  // namespace
}  // namespace pwal
