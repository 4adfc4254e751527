// DecodeLogFile: frames of consecutive epochs in one preallocated file. One named test per way
// a log file can end (cleanly, torn, damaged before later frames), then every flipped byte and
// every truncation of a small log: the frames read back are always a prefix of the ones
// written, byte for byte, and anything else is reported as damage.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "log_file.h"
#include "segment.h"
#include "segment_test_util.h"

namespace pwal {
namespace {

using testing::MakeBatch;
using testing::MakeRecord;

constexpr size_t kFileSize = 8 * kLogFrameAlign;

EpochBatch Batch(uint64_t epoch, size_t image_bytes = 100) {
  return MakeBatch(epoch, {MakeRecord(epoch * 10, epoch, 1, epoch * 100,
                                      std::vector<uint8_t>(image_bytes, static_cast<uint8_t>(epoch))),
                           MakeRecord(epoch * 10 + 1, epoch, 2, epoch * 100 + 1,
                                      std::vector<uint8_t>(image_bytes / 2, 0x5A))});
}

std::string Frame(uint64_t epoch, std::optional<uint64_t> prev, size_t image_bytes = 100,
                  bool frame_flag = true) {
  SegmentWriteOptions o;
  o.frame = frame_flag;
  o.has_prev = prev.has_value();
  o.prev_durable_epoch = prev.value_or(0);
  std::string bytes;
  EXPECT_TRUE(EncodeSegment(Batch(epoch, image_bytes), o, &bytes, nullptr).ok());
  return bytes;
}

// A log file holding `frames` at consecutive aligned slots, zeros elsewhere; *offsets gets
// where each one starts.
std::vector<uint8_t> Log(const std::vector<std::string>& frames, std::vector<uint64_t>* offsets = nullptr,
                         size_t size = kFileSize) {
  std::vector<uint8_t> file(size, 0);
  uint64_t off = 0;
  for (const std::string& f : frames) {
    EXPECT_LE(off + f.size(), size);
    std::memcpy(file.data() + off, f.data(), f.size());
    if (offsets) offsets->push_back(off);
    off = (off + f.size() + kLogFrameAlign - 1) / kLogFrameAlign * kLogFrameAlign;
  }
  return file;
}

std::vector<uint8_t> ThreeFrames(std::vector<uint64_t>* offsets = nullptr) {
  return Log({Frame(5, 4), Frame(6, 5, 5000), Frame(9, 6)}, offsets);
}

TEST(LogFileTest, FramesAreReadInOrderWithViewsIntoTheFile) {
  std::vector<uint64_t> offsets;
  std::vector<uint8_t> file = ThreeFrames(&offsets);
  LogFileView v;
  DecodeLogFile(file.data(), file.size(), &v);
  ASSERT_FALSE(v.damage_offset.has_value()) << v.damage.ToString();
  ASSERT_EQ(v.frames.size(), 3u);
  EXPECT_EQ(v.frame_offsets, offsets);
  EXPECT_EQ(offsets[1], kLogFrameAlign);
  EXPECT_EQ(offsets[2], 3 * kLogFrameAlign);  // the 5000-byte images take two slots
  const uint64_t epochs[] = {5, 6, 9};
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(v.frames[i].header.epoch, epochs[i]);
    ASSERT_EQ(v.frames[i].records.size(), 2u);
    const RecordView& r = v.frames[i].records[0];
    EXPECT_EQ(r.epoch, epochs[i]);
    // The view points into the file, at the image written for this epoch.
    ASSERT_LE(r.after_offset + r.after_len, file.size());
    EXPECT_EQ(file[r.after_offset], static_cast<uint8_t>(epochs[i]));
  }
  EXPECT_TRUE(IsLogFileImage(file.data(), file.size()));
}

TEST(LogFileTest, AnUnwrittenLogFileHasNoFrames) {
  std::vector<uint8_t> file(kFileSize, 0);
  LogFileView v;
  DecodeLogFile(file.data(), file.size(), &v);
  EXPECT_TRUE(v.frames.empty());
  EXPECT_FALSE(v.damage_offset.has_value());
  EXPECT_FALSE(IsLogFileImage(file.data(), file.size()));
}

TEST(LogFileTest, AFrameThatFillsTheFileExactlyEndsIt) {
  const std::string f = Frame(3, std::nullopt);
  std::vector<uint8_t> file = Log({f}, nullptr, kLogFrameAlign);
  LogFileView v;
  DecodeLogFile(file.data(), file.size(), &v);
  EXPECT_EQ(v.frames.size(), 1u);
  EXPECT_FALSE(v.damage_offset.has_value());
}

TEST(LogFileTest, ATornLastFrameIsDamageWithNothingAfterIt) {
  std::vector<uint64_t> offsets;
  std::vector<uint8_t> file = ThreeFrames(&offsets);
  file[offsets[2] + 40] ^= 0x01;  // a record of the last frame
  LogFileView v;
  DecodeLogFile(file.data(), file.size(), &v);
  EXPECT_EQ(v.frames.size(), 2u);
  ASSERT_TRUE(v.damage_offset.has_value());
  EXPECT_EQ(*v.damage_offset, offsets[2]);
  EXPECT_FALSE(v.frame_after_damage);
  EXPECT_NE(v.damage.message().find("offset " + std::to_string(offsets[2])), std::string::npos);
}

TEST(LogFileTest, ALastFrameWhoseHeaderSectorWasLostIsDamageNotTheEnd) {
  std::vector<uint64_t> offsets;
  std::vector<uint8_t> file = ThreeFrames(&offsets);
  std::memset(file.data() + offsets[2], 0, kSegmentHeaderSize);  // the rest of it was written
  LogFileView v;
  DecodeLogFile(file.data(), file.size(), &v);
  EXPECT_EQ(v.frames.size(), 2u);
  ASSERT_TRUE(v.damage_offset.has_value());
  EXPECT_EQ(*v.damage_offset, offsets[2]);
  EXPECT_FALSE(v.frame_after_damage);
}

TEST(LogFileTest, DamageBeforeAWholeLaterFrameIsReportedAsSuch) {
  std::vector<uint64_t> offsets;
  std::vector<uint8_t> file = ThreeFrames(&offsets);
  file[offsets[1] + 100] ^= 0x80;  // inside the middle frame
  LogFileView v;
  DecodeLogFile(file.data(), file.size(), &v);
  EXPECT_EQ(v.frames.size(), 1u);
  EXPECT_EQ(v.damage_offset.value_or(0), offsets[1]);
  EXPECT_TRUE(v.frame_after_damage);
}

TEST(LogFileTest, ALaterHeaderWhoseFrameDoesNotDecodeIsNotAFrameAfterTheDamage) {
  std::vector<uint64_t> offsets;
  std::vector<uint8_t> file = ThreeFrames(&offsets);
  file[offsets[1] + 100] ^= 0x80;
  file[offsets[2] + 60] ^= 0x80;  // the later frame's header holds, its records do not
  LogFileView v;
  DecodeLogFile(file.data(), file.size(), &v);
  EXPECT_EQ(v.damage_offset.value_or(0), offsets[1]);
  EXPECT_FALSE(v.frame_after_damage);
}

TEST(LogFileTest, NonZeroBytesBetweenFramesAreDamage) {
  std::vector<uint64_t> offsets;
  std::vector<uint8_t> file = ThreeFrames(&offsets);
  file[offsets[1] - 1] = 1;  // the gap after the first frame
  LogFileView v;
  DecodeLogFile(file.data(), file.size(), &v);
  EXPECT_EQ(v.frames.size(), 0u);
  EXPECT_EQ(v.damage_offset.value_or(1), 0u);
  EXPECT_TRUE(v.frame_after_damage);
  EXPECT_NE(v.damage.message().find("between frames"), std::string::npos);
}

TEST(LogFileTest, NonZeroBytesAfterTheLastFrameAreDamage) {
  std::vector<uint64_t> offsets;
  std::vector<uint8_t> file = ThreeFrames(&offsets);
  file[kFileSize - 1] = 7;
  LogFileView v;
  DecodeLogFile(file.data(), file.size(), &v);
  EXPECT_EQ(v.frames.size(), 3u);
  EXPECT_TRUE(v.damage_offset.has_value());
  EXPECT_FALSE(v.frame_after_damage);
}

TEST(LogFileTest, ASegmentWithoutTheFrameFlagIsNotAFrame) {
  std::vector<uint8_t> file = Log({Frame(5, 4), Frame(6, 5, 100, /*frame_flag=*/false)});
  LogFileView v;
  DecodeLogFile(file.data(), file.size(), &v);
  EXPECT_EQ(v.frames.size(), 1u);
  EXPECT_EQ(v.damage_offset.value_or(0), kLogFrameAlign);
  EXPECT_NE(v.damage.message().find("frame flag"), std::string::npos);
}

TEST(LogFileTest, AFrameThatDoesNotCertifyThePreviousOneIsDamage) {
  std::vector<uint8_t> file = Log({Frame(5, 4), Frame(6, 4)});  // 6 links past 5
  LogFileView v;
  DecodeLogFile(file.data(), file.size(), &v);
  EXPECT_EQ(v.frames.size(), 1u);
  EXPECT_NE(v.damage.message().find("does not certify"), std::string::npos);
}

TEST(LogFileTest, EpochsMustAscend) {
  std::vector<uint8_t> file = Log({Frame(5, 4), Frame(5, 4)});
  LogFileView v;
  DecodeLogFile(file.data(), file.size(), &v);
  EXPECT_EQ(v.frames.size(), 1u);
  EXPECT_NE(v.damage.message().find("does not follow"), std::string::npos);
}

TEST(LogFileTest, HeaderFlagsPaddedAndFrameTogetherAreRefused) {
  // Headers sealed with a valid CRC: the frame flag alone is accepted, both flags are not.
  uint8_t head[kSegmentHeaderSize];
  SegmentHeader h{kSegmentFormatV2, 5, 2, kSegmentFlagFrame};
  EncodeSegmentHeader(h, head);
  SegmentHeader got;
  EXPECT_TRUE(DecodeSegmentHeader(head, sizeof head, &got).ok());
  h.flags = kSegmentFlagPadded | kSegmentFlagFrame;
  EncodeSegmentHeader(h, head);
  EXPECT_FALSE(DecodeSegmentHeader(head, sizeof head, &got).ok());
}

TEST(LogFileTest, AFrameReadAloneIsAPaddedSegment) {
  std::vector<uint8_t> file = Log({Frame(5, 4)}, nullptr, kLogFrameAlign);
  SegmentView v;
  EXPECT_TRUE(DecodeSegmentView(file.data(), file.size(), &v).ok());
  EXPECT_EQ(v.header.epoch, 5u);
}

// Every byte flipped, one at a time: the flip is always reported as damage, and no frame whose
// bytes it altered is returned (the frames returned are the ones written, byte for byte).
TEST(LogFileTest, EveryFlippedByteIsCaughtAndNoAlteredFrameIsReturned) {
  std::vector<uint64_t> offsets;
  const std::vector<std::string> frames = {Frame(5, 4, 60), Frame(6, 5, 60)};
  const std::vector<uint8_t> clean = Log(frames, &offsets, 2 * kLogFrameAlign + 512);
  for (size_t i = 0; i < clean.size(); ++i) {
    std::vector<uint8_t> file = clean;
    file[i] ^= 0x10;
    LogFileView v;
    DecodeLogFile(file.data(), file.size(), &v);
    ASSERT_TRUE(v.damage_offset.has_value()) << "flip at " << i << " went unnoticed";
    for (size_t k = 0; k < v.frames.size(); ++k) {
      ASSERT_EQ(v.frame_offsets[k], offsets[k]);
      ASSERT_FALSE(i >= offsets[k] && i < offsets[k] + frames[k].size())
          << "frame " << k << " was returned with byte " << i << " flipped";
    }
    // The damage is where the flip is, or at the slot of the frame it is in.
    ASSERT_LE(*v.damage_offset, i);
  }
}

// Every truncation: a prefix of the frames, never more, never altered; damage reported unless
// the cut falls in zeros after the last whole frame.
TEST(LogFileTest, EveryTruncationGivesAPrefixOfTheFrames) {
  std::vector<uint64_t> offsets;
  const std::vector<uint8_t> clean = Log({Frame(5, 4, 60), Frame(6, 5, 60)}, &offsets, 2 * kLogFrameAlign);
  for (size_t n = 0; n <= clean.size(); ++n) {
    LogFileView v;
    DecodeLogFile(clean.data(), n, &v);
    ASSERT_LE(v.frames.size(), 2u);
    for (size_t k = 0; k < v.frames.size(); ++k) ASSERT_EQ(v.frames[k].header.epoch, 5u + k);
    EXPECT_FALSE(v.frame_after_damage) << n;
  }
}

}  // namespace
}  // namespace pwal
