// Corruption: one named test per way a segment can be damaged (LevelDB style), then exhaustive
// bit flips and truncations of a small v2 segment, decoded directly and through recovery on the
// in-memory file system. The invariant: altered bytes are never returned as data.
#include <gtest/gtest.h>

#include <cstring>

#include "crc32c.h"
#include "fault_file_system.h"
#include "segment.h"
#include "segment_test_util.h"

namespace pwal {
namespace {

using testing::MakeBatch;
using testing::MakeRecord;
using testing::Opts;

uint32_t Get32(const std::string& s, size_t at) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(s[at + i]);
  return v;
}
void Put32(std::string* s, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) (*s)[at + i] = static_cast<char>(v >> (8 * i));
}
void Put64(std::string* s, size_t at, uint64_t v) {
  for (int i = 0; i < 8; ++i) (*s)[at + i] = static_cast<char>(v >> (8 * i));
}
uint32_t Crc(const std::string& s, size_t at, size_t n, uint32_t seed = 0) {
  return crc32c::Extend(seed, reinterpret_cast<const uint8_t*>(s.data()) + at, n);
}

// Recomputes every checksum of a v2 segment after a test edited it, following docs/format.md
// independently of the encoder, so a content check (not a checksum) is what must fire.
void ResealV2(std::string* s) {
  Put32(s, 20, Crc(*s, 0, 20));
  uint32_t running = Crc(*s, 0, 24);
  size_t pos = 24;
  const uint32_t count = Get32(*s, 16);
  for (uint32_t i = 0; i < count; ++i) {
    const uint32_t len = Get32(*s, pos);
    running = Crc(*s, pos, 4 + len, running);
    Put32(s, pos + 4 + len, running);
    pos += 4 + len + 4;
  }
  const uint32_t lanes = Get32(*s, pos + 48);
  const size_t cert = 52 + 4 * lanes;
  running = Crc(*s, pos, cert, running);
  Put32(s, pos + cert, running);
}
// Re-CRCs just the header (v1 has no other checksum).
void ResealHeader(std::string* s) { Put32(s, 20, Crc(*s, 0, 20)); }

// Offsets inside the first record of a segment (length prefix at 24, body at 28).
constexpr size_t kBody = 28;
constexpr size_t kTxnId = kBody + 0;
constexpr size_t kRecEpoch = kBody + 12;
constexpr size_t kPageId = kBody + 20;
constexpr size_t kEndFlag = kBody + 32;

std::string Encode(uint16_t version, const EpochBatch& b, SegmentWriteOptions o = Opts()) {
  o.format_version = version;
  std::string out;
  EXPECT_TRUE(EncodeSegment(b, o, &out, nullptr).ok());
  return out;
}

// Two records (no end_seq on the first so the flag is at a fixed offset), two lanes.
EpochBatch Small(uint64_t epoch = 5) {
  return MakeBatch(epoch,
                   {MakeRecord(1, epoch, 1, 100, {0xA1, 0xA2, 0xA3}, false, {0xB1}),
                    MakeRecord(2, epoch, 2, 101, std::vector<uint8_t>(8, 0xC4))},
                   {1, 1});
}

Status Decode(const std::string& s, SegmentContents* c = nullptr) {
  SegmentContents local;
  return DecodeSegment(reinterpret_cast<const uint8_t*>(s.data()), s.size(), c ? c : &local);
}

void ExpectCorrupt(const std::string& s, const char* substring) {
  Status st = Decode(s);
  ASSERT_EQ(st.code(), Status::Code::kCorruption) << st.ToString();
  EXPECT_NE(st.message().find(substring), std::string::npos) << st.ToString();
}

class CorruptionTest : public ::testing::TestWithParam<uint16_t> {
 protected:
  bool v2() const { return GetParam() == kSegmentFormatV2; }
  std::string Good() { return Encode(GetParam(), Small()); }
  void Reseal(std::string* s) { v2() ? ResealV2(s) : ResealHeader(s); }
};

TEST_P(CorruptionTest, EmptyFile) { ExpectCorrupt("", "truncated"); }

TEST_P(CorruptionTest, TruncatedHeader) { ExpectCorrupt(Good().substr(0, 23), "truncated"); }

TEST_P(CorruptionTest, BadMagic) {
  std::string s = Good();
  s[0] ^= 1;
  ExpectCorrupt(s, "invalid segment magic");
}

TEST_P(CorruptionTest, UnsupportedVersion) {
  std::string s = Good();
  s[4] = 3;
  ResealHeader(&s);
  ExpectCorrupt(s, "unsupported segment version: 3");
}

TEST_P(CorruptionTest, HeaderChecksumMismatch) {
  std::string s = Good();
  s[9] ^= 0x40;  // epoch
  ExpectCorrupt(s, "checksum mismatch");
}

TEST_P(CorruptionTest, RecordCountImpossibleForFileSize) {
  std::string s = Good();
  Put32(&s, 16, 1000);
  ResealHeader(&s);
  ExpectCorrupt(s, "exceeds maximum possible");
}

TEST_P(CorruptionTest, RecordLengthOverMaximum) {
  std::string s = Good();
  Put32(&s, 24, static_cast<uint32_t>(kSegmentRecordMaxSize + 1));
  ExpectCorrupt(s, "exceeds maximum");
  ExpectCorrupt(s, "record 0");
}

TEST_P(CorruptionTest, RecordLengthBeyondFile) {
  std::string s = Good();
  Put32(&s, 24, static_cast<uint32_t>(s.size()));
  ExpectCorrupt(s, "record 0: truncated");
}

TEST_P(CorruptionTest, TrailingBytes) { ExpectCorrupt(Good() + "junk", "trailing bytes"); }

TEST_P(CorruptionTest, InvalidEndSeqFlag) {
  std::string s = Good();
  s[kEndFlag] = 2;
  Reseal(&s);
  ExpectCorrupt(s, "invalid end_seq flag");
  ExpectCorrupt(s, "record 0");
}

TEST_P(CorruptionTest, ZeroTxnId) {
  std::string s = Good();
  Put64(&s, kTxnId, 0);
  Reseal(&s);
  ExpectCorrupt(s, "invalid txn_id (zero)");
}

TEST_P(CorruptionTest, ZeroPageId) {
  std::string s = Good();
  Put32(&s, kPageId, 0);
  Reseal(&s);
  ExpectCorrupt(s, "invalid page_id (zero)");
}

TEST_P(CorruptionTest, RecordFromAnotherEpoch) {
  std::string s = Good();
  Put64(&s, kRecEpoch, 4);
  Reseal(&s);
  ExpectCorrupt(s, "segment epoch 5 contains record from epoch 4");
}

TEST_P(CorruptionTest, AfterImageOverMaximum) {
  // A record whose after_image length field says 65537 (the body is sized to match, so the
  // image limit is what fires, before the bytes are copied).
  EpochBatch b = MakeBatch(5, {MakeRecord(1, 5, 1, 1, {}, false)});
  std::string s = Encode(GetParam(), b);
  const size_t after_len_at = kBody + 33 + 4;  // no end_seq, empty before image
  Put32(&s, after_len_at, static_cast<uint32_t>(kMaxImageBytes + 1));
  const std::string image(kMaxImageBytes + 1, 'x');
  s.insert(after_len_at + 4, image);
  Put32(&s, 24, Get32(s, 24) + static_cast<uint32_t>(image.size()));
  Reseal(&s);
  ExpectCorrupt(s, "after_image length");
}

TEST_P(CorruptionTest, BeforeImageOverMaximum) {
  std::string s = Good();
  Put32(&s, kEndFlag + 1, static_cast<uint32_t>(kMaxImageBytes + 1));
  Reseal(&s);
  ExpectCorrupt(s, "before_image length");
}

TEST_P(CorruptionTest, FlippedImageByteIsCaughtInV2Only) {
  std::string s = Good();
  s[kEndFlag + 1 + 4] ^= 0x01;  // first byte of record 0's before image
  Status st = Decode(s);
  if (v2()) {
    ASSERT_EQ(st.code(), Status::Code::kCorruption);
    EXPECT_NE(st.message().find("record 0: record checksum mismatch"), std::string::npos) << st.ToString();
  } else {
    EXPECT_TRUE(st.ok()) << "v1 (the seed's format) checks only its header";
  }
}

INSTANTIATE_TEST_SUITE_P(Formats, CorruptionTest, ::testing::Values(kSegmentFormatV1, kSegmentFormatV2),
                         [](const ::testing::TestParamInfo<uint16_t>& i) {
                           return "V" + std::to_string(i.param);
                         });

// ---- v2 only: checksums and certificate ----

TEST(CorruptionV2Test, SecondRecordChecksumNamesRecordOne) {
  std::string s = Encode(kSegmentFormatV2, Small());
  const size_t rec1 = 24 + 4 + Get32(s, 24) + 4;
  s[rec1 + 4 + 40] ^= 0x80;
  ExpectCorrupt(s, "record 1: record checksum mismatch");
}

TEST(CorruptionV2Test, SwappedRecordsAreDetected) {
  // Each record's stored CRC chains over everything before it, so reordering fails.
  std::string s = Encode(kSegmentFormatV2, Small());
  const size_t a_len = 4 + Get32(s, 24) + 4;
  const size_t b_len = 4 + Get32(s, 24 + a_len) + 4;
  std::string swapped = s.substr(0, 24) + s.substr(24 + a_len, b_len) + s.substr(24, a_len) +
                        s.substr(24 + a_len + b_len);
  ExpectCorrupt(swapped, "record 0: record checksum mismatch");
}

size_t CertAt(const std::string& s) {
  size_t pos = 24;
  for (uint32_t i = 0; i < Get32(s, 16); ++i) pos += 4 + Get32(s, pos) + 4;
  return pos;
}

TEST(CorruptionV2Test, CertificateChecksumMismatch) {
  std::string s = Encode(kSegmentFormatV2, Small());
  s[CertAt(s) + 40] ^= 0x01;  // db size
  ExpectCorrupt(s, "certificate checksum mismatch");
}

TEST(CorruptionV2Test, CertificateMissing) {
  std::string s = Encode(kSegmentFormatV2, Small());
  // The declared records no longer fit with a certificate: caught by the count bound.
  ExpectCorrupt(s.substr(0, CertAt(s)), "exceeds maximum possible");
  // With a large record the count bound holds, and the certificate check is what fires.
  std::string t = Encode(kSegmentFormatV2, MakeBatch(5, {MakeRecord(1, 5, 1, 1, std::vector<uint8_t>(100, 1))}));
  ExpectCorrupt(t.substr(0, CertAt(t) + 20), "certificate truncated");
  // And a lane array cut short.
  EpochBatch many_lanes = Small();
  many_lanes.records_per_core.assign(40, 0);
  std::string u = Encode(kSegmentFormatV2, many_lanes);
  ExpectCorrupt(u.substr(0, u.size() - 8), "certificate lane count");
}

TEST(CorruptionV2Test, CertificateBadMagic) {
  std::string s = Encode(kSegmentFormatV2, Small());
  s[CertAt(s)] ^= 0x01;
  ExpectCorrupt(s, "invalid certificate magic");
}

TEST(CorruptionV2Test, CertificateLaneCountImpossible) {
  std::string s = Encode(kSegmentFormatV2, Small());
  Put32(&s, CertAt(s) + 48, 0xFFFFFFFFu);
  ExpectCorrupt(s, "certificate lane count");
}

TEST(CorruptionV2Test, CertificateEpochMismatch) {
  std::string s = Encode(kSegmentFormatV2, Small());
  Put64(&s, CertAt(s) + 8, 6);
  ResealV2(&s);
  ExpectCorrupt(s, "certificate epoch 6 does not match segment epoch 5");
}

TEST(CorruptionV2Test, CertificateCommitRangeMismatch) {
  std::string s = Encode(kSegmentFormatV2, Small());
  Put64(&s, CertAt(s) + 24, 999);
  ResealV2(&s);
  ExpectCorrupt(s, "commit-seq range");
}

TEST(CorruptionV2Test, CertificatePageSetMismatch) {
  std::string s = Encode(kSegmentFormatV2, Small());
  Put32(&s, CertAt(s) + 44, 7);
  ResealV2(&s);
  ExpectCorrupt(s, "page-set size");
}

TEST(CorruptionV2Test, CertificateUnknownFlags) {
  std::string s = Encode(kSegmentFormatV2, Small());
  Put32(&s, CertAt(s) + 4, 0x80);
  ResealV2(&s);
  ExpectCorrupt(s, "unknown flags");
}

TEST(CorruptionV2Test, HeaderReservedBytesNonZero) {
  std::string s = Encode(kSegmentFormatV2, Small());
  s[6] = 4;  // bit 0 is the padded flag, bit 1 the frame flag; every other bit is reserved
  ResealV2(&s);
  ExpectCorrupt(s, "reserved");
  s = Encode(kSegmentFormatV2, Small());
  s[7] = 1;
  ResealV2(&s);
  ExpectCorrupt(s, "reserved");
}

// A prepared file: the padded flag allows zero padding after the certificate, and every byte
// of it is checked.
TEST(CorruptionV2Test, PaddedSegmentZeroPaddingIsCheckedByteByByte) {
  std::string s = Encode(kSegmentFormatV2, Small());
  s[6] = 1;  // padded
  ResealV2(&s);
  const size_t n = s.size();
  s.append(700, '\0');
  SegmentContents c;
  ASSERT_TRUE(DecodeSegment(reinterpret_cast<const uint8_t*>(s.data()), s.size(), &c).ok());
  EXPECT_EQ(c.header.flags, kSegmentFlagPadded);
  for (size_t k = n; k < s.size(); k += 97) {
    std::string t = s;
    t[k] = 1;
    ExpectCorrupt(t, "padding");
  }
  // Without the flag, the same zeros are trailing bytes.
  std::string u = Encode(kSegmentFormatV2, Small());
  u.append(700, '\0');
  ExpectCorrupt(u, "trailing bytes");
}

TEST(CorruptionV2Test, ResealedGoodSegmentStillDecodes) {
  // Guards the test helper itself: resealing an untouched segment changes nothing.
  std::string s = Encode(kSegmentFormatV2, Small());
  std::string r = s;
  ResealV2(&r);
  EXPECT_EQ(r, s);
  EXPECT_TRUE(Decode(r).ok());
}

// ---- exhaustive: every bit, every byte, every length ----

TEST(CorruptionExhaustiveTest, EveryBitFlipOfV2IsRejected) {
  const std::string good = Encode(kSegmentFormatV2, Small());
  for (size_t i = 0; i < good.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string s = good;
      s[i] ^= static_cast<char>(1 << bit);
      Status st = Decode(s);
      ASSERT_EQ(st.code(), Status::Code::kCorruption) << "byte " << i << " bit " << bit << " accepted";
    }
  }
}

TEST(CorruptionExhaustiveTest, EveryByteValueAtEveryOffsetOfV2IsRejected) {
  // All 255 other values at each offset (a superset of "flip each byte").
  const std::string good = Encode(kSegmentFormatV2, Small());
  for (size_t i = 0; i < good.size(); ++i) {
    for (int v = 1; v < 256; ++v) {
      std::string s = good;
      s[i] = static_cast<char>(static_cast<uint8_t>(s[i]) ^ v);
      ASSERT_FALSE(Decode(s).ok()) << "byte " << i << " xor " << v << " accepted";
    }
  }
}

TEST(CorruptionExhaustiveTest, EveryTruncationIsRejected) {
  for (uint16_t version : {kSegmentFormatV1, kSegmentFormatV2}) {
    const std::string good = Encode(version, Small());
    for (size_t n = 0; n < good.size(); ++n) {
      ASSERT_FALSE(Decode(good.substr(0, n)).ok()) << "v" << version << " length " << n;
    }
  }
}

TEST(CorruptionExhaustiveTest, V1FlipsNeverCrashAndNeverChangeTheHeader) {
  // v1 checks only its header: a flip in a record may decode, but never into another epoch or
  // record count, and never crashes (ASan/UBSan watch).
  const std::string good = Encode(kSegmentFormatV1, Small());
  for (size_t i = 0; i < good.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string s = good;
      s[i] ^= static_cast<char>(1 << bit);
      SegmentContents c;
      if (Decode(s, &c).ok()) {
        ASSERT_GE(i, kSegmentHeaderSize);
        EXPECT_EQ(c.header.epoch, 5u);
        EXPECT_EQ(c.records.size(), 2u);
      }
    }
  }
}

// Through recovery: segment 1 and 2 good, segment 3 damaged (as the last one: a torn tail) or
// segment 2 damaged (followed by a valid one: corruption). Altered data never comes back.
class RecoveryCorruptionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs_.MakeDir("/d");
    for (uint64_t e = 1; e <= 3; ++e) {
      SegmentWriteResult wr;
      SegmentWriteOptions o = Opts(FsyncPolicy::kFull);
      o.has_prev = e > 1;
      o.prev_durable_epoch = e - 1;
      ASSERT_TRUE(WriteSegment(&fs_, kDb, Small(e), o, &wr).ok());
      std::string bytes;
      ASSERT_TRUE(fs_.GetFile(wr.path, &bytes));
      good_.push_back(bytes);
    }
  }
  const std::string kDb = "/d/t.db";
  FaultInjectingFileSystem fs_;
  std::vector<std::string> good_;
};

TEST_F(RecoveryCorruptionTest, EveryFlipOfLastSegmentIsATornTail) {
  const std::string path = SegmentPath(kDb, 3);
  for (size_t i = 0; i < good_[2].size(); ++i) {
    std::string s = good_[2];
    s[i] ^= static_cast<char>(1u << (i % 8));
    fs_.PutFile(path, s);
    RecoveryResult rr;
    std::vector<WalRecord> records;
    Status st = RecoverSegments(&fs_, kDb, RecoveryOptions{}, &rr, &records);
    ASSERT_TRUE(st.ok()) << "byte " << i << ": " << st.ToString();
    ASSERT_TRUE(rr.torn_tail) << "byte " << i;
    EXPECT_EQ(rr.epochs, (std::vector<uint64_t>{1, 2}));
    EXPECT_EQ(rr.partial_segments, std::vector<std::string>{path});
    EXPECT_FALSE(rr.stop_reason.empty());
    ASSERT_EQ(records.size(), 4u);
    for (const WalRecord& r : records) ASSERT_LE(r.epoch, 2u);
  }
}

TEST_F(RecoveryCorruptionTest, EveryFlipOfMiddleSegmentIsCorruption) {
  const std::string path = SegmentPath(kDb, 2);
  for (size_t i = 0; i < good_[1].size(); ++i) {
    std::string s = good_[1];
    s[i] ^= static_cast<char>(1u << (i % 8));
    fs_.PutFile(path, s);
    RecoveryResult rr;
    std::vector<WalRecord> records;
    Status st = RecoverSegments(&fs_, kDb, RecoveryOptions{}, &rr, &records);
    ASSERT_FALSE(st.ok()) << "byte " << i;
    ASSERT_EQ(st.code(), Status::Code::kCorruption) << st.ToString();
    EXPECT_NE(st.message().find(path), std::string::npos) << "names the file: " << st.ToString();
    RecoveryOptions skip;
    skip.skip_corrupt = true;
    ASSERT_TRUE(RecoverSegments(&fs_, kDb, skip, &rr, &records).ok());
    EXPECT_EQ(rr.epochs, std::vector<uint64_t>{1});
    EXPECT_EQ(rr.partial_segments, (std::vector<std::string>{path, SegmentPath(kDb, 3)}));
    for (const WalRecord& r : records) ASSERT_EQ(r.epoch, 1u);
  }
}

TEST_F(RecoveryCorruptionTest, EveryTruncationOfLastSegmentIsATornTail) {
  const std::string path = SegmentPath(kDb, 3);
  for (size_t n = 0; n < good_[2].size(); ++n) {
    fs_.PutFile(path, good_[2].substr(0, n));
    RecoveryResult rr;
    std::vector<WalRecord> records;
    ASSERT_TRUE(RecoverSegments(&fs_, kDb, RecoveryOptions{}, &rr, &records).ok()) << n;
    EXPECT_TRUE(rr.torn_tail);
    EXPECT_EQ(rr.epochs, (std::vector<uint64_t>{1, 2}));
  }
}

TEST_F(RecoveryCorruptionTest, DiscardTornTailRemovesItSoTheLogCanContinue) {
  const std::string path = SegmentPath(kDb, 3);
  fs_.PutFile(path, good_[2].substr(0, 30));
  RecoveryOptions o;
  o.discard_torn_tail = true;
  RecoveryResult rr;
  std::vector<WalRecord> records;
  ASSERT_TRUE(RecoverSegments(&fs_, kDb, o, &rr, &records).ok());
  EXPECT_TRUE(rr.torn_tail);
  std::string ignored;
  EXPECT_FALSE(fs_.GetFile(path, &ignored));
  // The writer continues at epoch 4 linked to 2; the chain then verifies cleanly.
  SegmentWriteOptions w = Opts(FsyncPolicy::kFull);
  w.has_prev = true;
  w.prev_durable_epoch = 2;
  SegmentWriteResult wr;
  ASSERT_TRUE(WriteSegment(&fs_, kDb, Small(4), w, &wr).ok());
  ASSERT_TRUE(RecoverSegments(&fs_, kDb, RecoveryOptions{}, &rr, &records).ok());
  EXPECT_EQ(rr.epochs, (std::vector<uint64_t>{1, 2, 4}));
  EXPECT_FALSE(rr.torn_tail);
}

TEST_F(RecoveryCorruptionTest, MissingMiddleSegmentIsACertificateGap) {
  ASSERT_TRUE(fs_.DeleteFile(SegmentPath(kDb, 2)).ok());
  RecoveryResult rr;
  std::vector<WalRecord> records;
  Status st = RecoverSegments(&fs_, kDb, RecoveryOptions{}, &rr, &records);
  ASSERT_EQ(st.code(), Status::Code::kCertificateGap) << st.ToString();
  EXPECT_NE(st.message().find("a segment is missing"), std::string::npos) << st.ToString();
  RecoveryOptions skip;
  skip.skip_corrupt = true;
  ASSERT_TRUE(RecoverSegments(&fs_, kDb, skip, &rr, &records).ok());
  EXPECT_EQ(rr.epochs, std::vector<uint64_t>{1}) << "never skipped over";
  EXPECT_EQ(rr.partial_segments, std::vector<std::string>{SegmentPath(kDb, 3)});
}

TEST_F(RecoveryCorruptionTest, MissingFirstSegmentIsNotAGap) {
  // Older segments are legitimately deleted (delete_after_recovery, cleanup).
  ASSERT_TRUE(fs_.DeleteFile(SegmentPath(kDb, 1)).ok());
  RecoveryResult rr;
  std::vector<WalRecord> records;
  ASSERT_TRUE(RecoverSegments(&fs_, kDb, RecoveryOptions{}, &rr, &records).ok());
  EXPECT_EQ(rr.epochs, (std::vector<uint64_t>{2, 3}));
  ASSERT_EQ(rr.certificates.size(), 2u);
  EXPECT_EQ(rr.certificates[1].prev_durable_epoch, 2u);
}

TEST_F(RecoveryCorruptionTest, ForeignSegmentInsideTheChainIsAGap) {
  // A segment the chain does not know about (an extra epoch between 2 and 3).
  SegmentWriteResult wr;
  fs_.PutFile(SegmentPath(kDb, 0x2a), Encode(kSegmentFormatV2, Small(0x2a)));
  // Epoch 0x2a > 3, so it sits after 3 and carries no link: accepted as an unlinked tail.
  RecoveryResult rr;
  std::vector<WalRecord> records;
  ASSERT_TRUE(RecoverSegments(&fs_, kDb, RecoveryOptions{}, &rr, &records).ok());
  EXPECT_EQ(rr.epochs, (std::vector<uint64_t>{1, 2, 3, 0x2a}));
  // Now a linked segment 0x2b claiming 3 as its predecessor: 0x2a is in between.
  SegmentWriteOptions w = Opts();
  w.has_prev = true;
  w.prev_durable_epoch = 3;
  ASSERT_TRUE(WriteSegment(&fs_, kDb, Small(0x2b), w, &wr).ok());
  Status st = RecoverSegments(&fs_, kDb, RecoveryOptions{}, &rr, &records);
  ASSERT_EQ(st.code(), Status::Code::kCertificateGap) << st.ToString();
  EXPECT_NE(st.message().find("uncertified segment"), std::string::npos) << st.ToString();
}

TEST_F(RecoveryCorruptionTest, MismatchedEpochInLastSegmentIsNotATornTail) {
  fs_.PutFile(SegmentPath(kDb, 4), good_[2]);  // epoch 3's bytes under epoch 4's name
  RecoveryResult rr;
  std::vector<WalRecord> records;
  Status st = RecoverSegments(&fs_, kDb, RecoveryOptions{}, &rr, &records);
  ASSERT_EQ(st.code(), Status::Code::kCorruption);
  EXPECT_NE(st.message().find("mismatched epoch"), std::string::npos);
}

}  // namespace
}  // namespace pwal

namespace pwal {
namespace {

TEST(CorruptionV2Test, RecordsOutOfReplayOrder) {
  // Swap the two records and reseal every checksum: a content check must still refuse it.
  std::string s = Encode(kSegmentFormatV2, Small());
  const size_t a_len = 4 + Get32(s, 24) + 4;
  const size_t b_len = 4 + Get32(s, 24 + a_len) + 4;
  std::string swapped = s.substr(0, 24) + s.substr(24 + a_len, b_len) + s.substr(24, a_len) +
                        s.substr(24 + a_len + b_len);
  ResealV2(&swapped);
  ExpectCorrupt(swapped, "record 1: record out of replay order");
}

}  // namespace
}  // namespace pwal

namespace pwal {
namespace {

// Prepared segment files (docs/durability.md): an unwritten file (>= 24 bytes, zero header) is
// not a segment. At the tail it is not even listed; in the middle it is skipped only when the
// next segment's certificate proves nothing acknowledged is missing.
TEST(PreparedFileRecoveryTest, UnwrittenFilesAreSkippedOnlyWithAProvenChain) {
  const std::string db = "/p/t.db";
  auto write = [&](FaultInjectingFileSystem* fs, uint64_t e, bool has_prev, uint64_t prev) {
    SegmentWriteResult wr;
    SegmentWriteOptions o;
    o.has_prev = has_prev;
    o.prev_durable_epoch = prev;
    ASSERT_TRUE(WriteSegment(fs, db, Small(e), o, &wr).ok());
  };
  {
    // 1, 2(unwritten orphan), 3 linking to 1, 4 and 5 unwritten (tail).
    FaultInjectingFileSystem fs;
    fs.MakeDir("/p");
    write(&fs, 1, false, 0);
    fs.PutFile(SegmentPath(db, 2), std::string(4096, '\0'));
    write(&fs, 3, true, 1);
    fs.PutFile(SegmentPath(db, 4), std::string(4096, '\0'));
    fs.PutFile(SegmentPath(db, 5), std::string(8192, '\0'));
    std::vector<SegmentEntry> listed, raw;
    ASSERT_TRUE(ListSegments(&fs, db, &listed).ok());
    ASSERT_TRUE(ListSegmentFiles(&fs, db, &raw).ok());
    EXPECT_EQ(listed.size(), 3u);  // 1, 2, 3: the tail zeros are not listed
    EXPECT_EQ(raw.size(), 5u);
    std::optional<uint64_t> max;
    ASSERT_TRUE(MaxDurableEpoch(&fs, db, &max).ok());
    EXPECT_EQ(max, std::optional<uint64_t>(3));
    RecoveryResult rr;
    std::vector<WalRecord> records;
    Status st = RecoverSegments(&fs, db, RecoveryOptions{}, &rr, &records);
    ASSERT_TRUE(st.ok()) << st.ToString();
    EXPECT_EQ(rr.epochs, (std::vector<uint64_t>{1, 3}));
    EXPECT_EQ(rr.unwritten_skipped, 1u);
    EXPECT_FALSE(rr.torn_tail);
    size_t n = 0;
    ASSERT_TRUE(CleanupSegments(&fs, db, &n).ok());
    EXPECT_EQ(fs.Names("/p").size(), 0u);  // prepared files go too
  }
  {
    // 1, 2(unwritten), 3 linking to 2 (a lost acknowledged segment 2): a gap.
    FaultInjectingFileSystem fs;
    fs.MakeDir("/p");
    write(&fs, 1, false, 0);
    fs.PutFile(SegmentPath(db, 2), std::string(4096, '\0'));
    write(&fs, 3, true, 2);
    RecoveryResult rr;
    std::vector<WalRecord> records;
    EXPECT_EQ(RecoverSegments(&fs, db, RecoveryOptions{}, &rr, &records).code(),
              Status::Code::kCertificateGap);
  }
  {
    // 1, 2(unwritten), 3 without a link: nothing proves 2 was never acknowledged.
    FaultInjectingFileSystem fs;
    fs.MakeDir("/p");
    write(&fs, 1, false, 0);
    fs.PutFile(SegmentPath(db, 2), std::string(4096, '\0'));
    write(&fs, 3, false, 0);
    RecoveryResult rr;
    std::vector<WalRecord> records;
    EXPECT_FALSE(RecoverSegments(&fs, db, RecoveryOptions{}, &rr, &records).ok());
  }
  {
    // A zero header with data after it (a torn publish whose header sector never landed) at
    // the tail is unwritten too; a short all-zero file is NOT (it stays a torn tail).
    FaultInjectingFileSystem fs;
    fs.MakeDir("/p");
    write(&fs, 1, false, 0);
    std::string torn(4096, '\0');
    torn[100] = 7;
    fs.PutFile(SegmentPath(db, 2), torn);
    RecoveryResult rr;
    std::vector<WalRecord> records;
    ASSERT_TRUE(RecoverSegments(&fs, db, RecoveryOptions{}, &rr, &records).ok());
    EXPECT_EQ(rr.epochs, std::vector<uint64_t>{1});
    EXPECT_FALSE(rr.torn_tail);
    fs.PutFile(SegmentPath(db, 2), std::string(10, '\0'));
    ASSERT_TRUE(RecoverSegments(&fs, db, RecoveryOptions{}, &rr, &records).ok());
    EXPECT_TRUE(rr.torn_tail);
  }
}

}  // namespace
}  // namespace pwal
