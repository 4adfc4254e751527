// The seed's segment tests, ported one for one (same names in CamelCase), against the POSIX
// file system in a temporary directory, for both format versions where the seed's test is
// format-independent. Plus the v1 golden layout.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <map>

#include "crc32c.h"
#include "segment.h"
#include "segment_test_util.h"
#include "test_util.h"

namespace pwal {
namespace {

using testing::MakeBatch;
using testing::MakeRecord;
using testing::Opts;
using testing::TempDir;

using testing::Fs;

using testing::Slurp;
void Spit(const std::string& path, const std::string& bytes, bool append = false) {
  std::ofstream out(path, std::ios::binary | (append ? std::ios::app : std::ios::trunc));
  out << bytes;
}
bool Exists(const std::string& path) {
  bool e = false;
  EXPECT_TRUE(Fs()->FileExists(path, &e).ok());
  return e;
}
std::string HeaderBytes(uint16_t version, uint64_t epoch, uint32_t count) {
  uint8_t h[kSegmentHeaderSize];
  SegmentHeader hdr;
  hdr.version = version;
  hdr.epoch = epoch;
  hdr.record_count = count;
  EncodeSegmentHeader(hdr, h);
  return std::string(reinterpret_cast<char*>(h), sizeof h);
}

// Recovery, then applying after-images in replay order (the seed's recover_and_apply_segments).
Status RecoverAndApply(const std::string& db, std::map<uint32_t, std::vector<uint8_t>>* pages,
                       const RecoveryOptions& o, RecoveryResult* result) {
  std::vector<WalRecord> records;
  PWAL_RETURN_IF_ERROR(RecoverSegments(Fs(), db, o, result, &records));
  for (WalRecord& r : records) {
    if (!r.after_image.empty()) (*pages)[r.page_id] = std::move(r.after_image);
  }
  return Status::OK();
}

class SegmentSeedTest : public ::testing::TestWithParam<uint16_t> {
 protected:
  SegmentWriteOptions O() const { return Opts(FsyncPolicy::kOff, GetParam()); }
  TempDir dir_;
};

TEST(SegmentSeedTest, SegmentHeaderRoundtrip) {
  const std::string bytes = HeaderBytes(kSegmentFormatV1, 42, 100);
  SegmentHeader parsed;
  ASSERT_TRUE(DecodeSegmentHeader(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), &parsed).ok());
  EXPECT_EQ(parsed.epoch, 42u);
  EXPECT_EQ(parsed.record_count, 100u);
  EXPECT_EQ(parsed.version, kSegmentFormatV1);
}

TEST(SegmentSeedTest, SegmentHeaderInvalidMagic) {
  uint8_t bytes[kSegmentHeaderSize] = {};
  const uint32_t bad = 0xDEADBEEF;
  std::memcpy(bytes, &bad, 4);
  SegmentHeader parsed;
  Status st = DecodeSegmentHeader(bytes, sizeof bytes, &parsed);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("invalid segment magic"), std::string::npos) << st.ToString();
}

TEST(SegmentSeedTest, SegmentHeaderChecksumMismatch) {
  std::string bytes = HeaderBytes(kSegmentFormatV1, 42, 100);
  bytes[8] ^= static_cast<char>(0xFF);
  SegmentHeader parsed;
  Status st = DecodeSegmentHeader(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), &parsed);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("checksum mismatch"), std::string::npos) << st.ToString();
}

TEST(SegmentSeedTest, SegmentPathGeneration) {
  EXPECT_EQ(SegmentPath("/tmp/mydb.sqlite", 0x123456789ABCDEF0ull),
            "/tmp/mydb.sqlite-wal-seg-123456789abcdef0");
  EXPECT_EQ(SegmentPath("mydb", 1), "mydb-wal-seg-0000000000000001");
}

TEST_P(SegmentSeedTest, SegmentWriteAndRead) {
  const std::string db = dir_.Join("test.db");
  WalRecord a = MakeRecord(1, 5, 1, 100, std::vector<uint8_t>(32, 1), true, std::vector<uint8_t>(32, 0));
  WalRecord b = MakeRecord(2, 5, 2, 101, std::vector<uint8_t>(64, 2), false);
  b.txn_epoch = 1;
  SegmentWriteResult wr;
  ASSERT_TRUE(WriteSegment(Fs(), db, MakeBatch(5, {a, b}, {1, 1}), O(), &wr).ok());
  EXPECT_GT(wr.bytes_written, kSegmentHeaderSize);
  const std::string seg = SegmentPath(db, 5);
  EXPECT_EQ(wr.path, seg);
  SegmentContents c;
  ASSERT_TRUE(ReadSegment(Fs(), seg, &c).ok());
  EXPECT_EQ(c.header.epoch, 5u);
  EXPECT_EQ(c.header.record_count, 2u);
  ASSERT_EQ(c.records.size(), 2u);
  EXPECT_EQ(c.records[0].txn_id, 1u);
  EXPECT_EQ(c.records[0].page_id, 1u);
  EXPECT_EQ(c.records[0].before_image.size(), 32u);
  EXPECT_EQ(c.records[0].after_image.size(), 32u);
  EXPECT_TRUE(c.records[0].has_end_seq);
  EXPECT_EQ(c.records[0].end_seq, 100u);
  EXPECT_EQ(c.records[1].txn_id, 2u);
  EXPECT_EQ(c.records[1].txn_epoch, 1u);
  EXPECT_EQ(c.records[1].page_id, 2u);
  EXPECT_EQ(c.records[1].before_image.size(), 0u);
  EXPECT_EQ(c.records[1].after_image.size(), 64u);
  EXPECT_FALSE(c.records[1].has_end_seq);
  EXPECT_EQ(c.certificate.has_value(), GetParam() == kSegmentFormatV2);
  ASSERT_TRUE(DeleteSegment(Fs(), seg).ok());
  EXPECT_FALSE(Exists(seg));
}

TEST(SegmentSeedTest, DeserializeRecordRejectsInvalidEndSeqFlag) {
  std::string bytes;
  SerializeRecord(MakeRecord(1, 5, 1, 100, std::vector<uint8_t>(8, 0xAA), false), &bytes);
  const size_t end_seq_flag_offset = 8 + 4 + 8 + 4 + 8;
  bytes[end_seq_flag_offset] = 2;
  WalRecord r;
  Status st = DeserializeRecord(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), &r);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("invalid end_seq flag"), std::string::npos) << st.ToString();
}

TEST(SegmentSeedTest, DeserializeRecordRejectsTrailingBytes) {
  std::string bytes;
  SerializeRecord(MakeRecord(1, 5, 1, 100, std::vector<uint8_t>(8, 0xAA), false), &bytes);
  bytes += "junk";
  WalRecord r;
  Status st = DeserializeRecord(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), &r);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("trailing bytes"), std::string::npos) << st.ToString();
}

TEST_P(SegmentSeedTest, ReadSegmentRejectsImpossibleRecordCountBeforeAllocation) {
  const std::string seg = SegmentPath(dir_.Join("impossible-count.db"), 1);
  Spit(seg, HeaderBytes(GetParam(), 1, UINT32_MAX));
  SegmentContents c;
  Status st = ReadSegment(Fs(), seg, &c);
  ASSERT_EQ(st.code(), Status::Code::kCorruption);
  EXPECT_NE(st.message().find("exceeds maximum possible"), std::string::npos) << st.ToString();
  EXPECT_NE(st.message().find(seg), std::string::npos) << "error names the file: " << st.ToString();
}

TEST_P(SegmentSeedTest, ReadSegmentRejectsRecordCountWithoutMinPayloadSpace) {
  const std::string seg = SegmentPath(dir_.Join("short-records.db"), 1);
  Spit(seg, HeaderBytes(GetParam(), 1, 2) + std::string(8, '\0'));
  SegmentContents c;
  Status st = ReadSegment(Fs(), seg, &c);
  ASSERT_EQ(st.code(), Status::Code::kCorruption);
  EXPECT_NE(st.message().find("exceeds maximum possible"), std::string::npos) << st.ToString();
}

TEST_P(SegmentSeedTest, ReadSegmentRejectsTrailingBytesAfterDeclaredRecords) {
  const std::string db = dir_.Join("trailing-bytes.db");
  SegmentWriteResult wr;
  ASSERT_TRUE(WriteSegment(Fs(), db, MakeBatch(1, {MakeRecord(1, 1, 1, 1, std::vector<uint8_t>(16, 0xCC))}),
                           O(), &wr).ok());
  const std::string seg = SegmentPath(db, 1);
  Spit(seg, "junk", /*append=*/true);
  SegmentContents c;
  Status st = ReadSegment(Fs(), seg, &c);
  ASSERT_EQ(st.code(), Status::Code::kCorruption);
  // v1 has no checksum over the records, so the trailing bytes are what is detected; in v2 the
  // junk is trailing too (the certificate's checksum still holds).
  EXPECT_NE(st.message().find("trailing bytes"), std::string::npos) << st.ToString();
}

TEST_P(SegmentSeedTest, ReadSegmentRejectsOversizedRecordLengthBeforeAllocation) {
  const std::string seg = SegmentPath(dir_.Join("oversized.db"), 1);
  std::string bytes = HeaderBytes(GetParam(), 1, 1) + std::string(4, '\xFF');
  // Enough bytes that a count of 1 is possible, so the length check is what fires.
  bytes += std::string(200, '\0');
  Spit(seg, bytes);
  SegmentContents c;
  Status st = ReadSegment(Fs(), seg, &c);
  ASSERT_EQ(st.code(), Status::Code::kCorruption);
  EXPECT_NE(st.message().find("exceeds maximum"), std::string::npos) << st.ToString();
  EXPECT_NE(st.message().find("record 0"), std::string::npos) << st.ToString();
}

TEST_P(SegmentSeedTest, SegmentWriteAndRecoveryCanonicalizeIntraEpochOrder) {
  const std::string db = dir_.Join("ordered.db");
  WalRecord later = MakeRecord(2, 7, 1, 200, std::vector<uint8_t>(8, 0x22));
  WalRecord earlier = MakeRecord(1, 7, 1, 100, std::vector<uint8_t>(8, 0x11));
  SegmentWriteResult wr;
  ASSERT_TRUE(WriteSegment(Fs(), db, MakeBatch(7, {later, earlier}, {1, 1}), O(), &wr).ok());
  SegmentContents c;
  ASSERT_TRUE(ReadSegment(Fs(), SegmentPath(db, 7), &c).ok());
  ASSERT_EQ(c.records.size(), 2u);
  EXPECT_EQ(c.records[0].begin_seq, 100u);
  EXPECT_EQ(c.records[1].begin_seq, 200u);
  std::map<uint32_t, std::vector<uint8_t>> pages;
  RecoveryResult rr;
  ASSERT_TRUE(RecoverAndApply(db, &pages, RecoveryOptions{}, &rr).ok());
  EXPECT_EQ(pages[1], std::vector<uint8_t>(8, 0x22))
      << "recovery must replay the later commit last even if the batch arrived out of order";
}

TEST_P(SegmentSeedTest, WriteSegmentRejectsRecordEpochMismatch) {
  const std::string db = dir_.Join("mismatch.db");
  SegmentWriteResult wr;
  Status st = WriteSegment(Fs(), db, MakeBatch(5, {MakeRecord(1, 4, 1, 100, std::vector<uint8_t>(8, 0xAB))}),
                           O(), &wr);
  ASSERT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(st.message().find("segment epoch 5 contains record from epoch 4"), std::string::npos)
      << st.ToString();
  EXPECT_FALSE(Exists(SegmentPath(db, 5))) << "failed validation must not create a segment file";
  std::vector<std::string> names;
  ASSERT_TRUE(Fs()->ListDir(dir_.path(), &names).ok());
  EXPECT_TRUE(names.empty()) << "no temporary either";
}

TEST_P(SegmentSeedTest, WriteSegmentRejectsOversizedPageImageBeforeCreate) {
  const std::string db = dir_.Join("oversized-write.db");
  SegmentWriteResult wr;
  Status st = WriteSegment(
      Fs(), db, MakeBatch(5, {MakeRecord(1, 5, 1, 100, std::vector<uint8_t>(kMaxImageBytes + 1, 0xAB))}), O(),
      &wr);
  ASSERT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(st.message().find("after_image length"), std::string::npos) << st.ToString();
  EXPECT_FALSE(Exists(SegmentPath(db, 5)));
  std::vector<std::string> names;
  ASSERT_TRUE(Fs()->ListDir(dir_.path(), &names).ok());
  EXPECT_TRUE(names.empty());
}

TEST_P(SegmentSeedTest, ListSegments) {
  const std::string db = dir_.Join("test.db");
  for (uint64_t e : {1, 5, 10, 2}) {
    SegmentWriteResult wr;
    ASSERT_TRUE(WriteSegment(Fs(), db, MakeBatch(e, {}), O(), &wr).ok());
  }
  std::vector<SegmentEntry> segs;
  ASSERT_TRUE(ListSegments(Fs(), db, &segs).ok());
  ASSERT_EQ(segs.size(), 4u);
  EXPECT_EQ(segs[0].epoch, 1u);
  EXPECT_EQ(segs[1].epoch, 2u);
  EXPECT_EQ(segs[2].epoch, 5u);
  EXPECT_EQ(segs[3].epoch, 10u);
  for (const auto& s : segs) ASSERT_TRUE(DeleteSegment(Fs(), s.path).ok());
}

TEST_P(SegmentSeedTest, RecoverSegmentsBasic) {
  const std::string db = dir_.Join("test.db");
  for (uint64_t e = 1; e <= 3; ++e) {
    SegmentWriteResult wr;
    ASSERT_TRUE(WriteSegment(Fs(), db,
                             MakeBatch(e, {MakeRecord(e, e, static_cast<uint32_t>(e), e * 100,
                                                      std::vector<uint8_t>(32, static_cast<uint8_t>(e)))}),
                             O(), &wr).ok());
  }
  RecoveryResult rr;
  std::vector<WalRecord> records;
  ASSERT_TRUE(RecoverSegments(Fs(), db, RecoveryOptions{}, &rr, &records).ok());
  EXPECT_EQ(rr.segments_recovered, 3u);
  EXPECT_EQ(rr.records_applied, 3u);
  EXPECT_EQ(rr.epochs, (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_TRUE(rr.partial_segments.empty());
  EXPECT_FALSE(rr.torn_tail);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].epoch, 1u);
  EXPECT_EQ(records[1].epoch, 2u);
  EXPECT_EQ(records[2].epoch, 3u);
  size_t n = 0;
  ASSERT_TRUE(CleanupSegments(Fs(), db, &n).ok());
  EXPECT_EQ(n, 3u);
}

TEST_P(SegmentSeedTest, RecoverSegmentsRejectsHeaderFilenameEpochMismatch) {
  const std::string db = dir_.Join("rename.db");
  SegmentWriteResult wr;
  ASSERT_TRUE(WriteSegment(Fs(), db, MakeBatch(5, {MakeRecord(1, 5, 1, 100, std::vector<uint8_t>(8, 0xAA))}),
                           O(), &wr).ok());
  const std::string renamed = SegmentPath(db, 3);
  ASSERT_EQ(std::rename(SegmentPath(db, 5).c_str(), renamed.c_str()), 0);
  RecoveryResult rr;
  std::vector<WalRecord> records;
  Status st = RecoverSegments(Fs(), db, RecoveryOptions{}, &rr, &records);
  ASSERT_EQ(st.code(), Status::Code::kCorruption);
  EXPECT_NE(st.message().find("mismatched epoch"), std::string::npos) << st.ToString();
  RecoveryOptions skip;
  skip.skip_corrupt = true;
  ASSERT_TRUE(RecoverSegments(Fs(), db, skip, &rr, &records).ok());
  EXPECT_EQ(rr.segments_recovered, 0u);
  EXPECT_EQ(rr.partial_segments, std::vector<std::string>{renamed});
  EXPECT_TRUE(records.empty());
}

TEST_P(SegmentSeedTest, RecoverAndApplySegmentsSkipCorruptStopsAtFirstBadEpoch) {
  const std::string db = dir_.Join("prefix.db");
  for (uint64_t e = 1; e <= 3; ++e) {
    SegmentWriteResult wr;
    ASSERT_TRUE(WriteSegment(Fs(), db, testing::SimpleBatch(e), O(), &wr).ok());
  }
  Spit(SegmentPath(db, 2), std::string(8, '\xFF'));
  std::map<uint32_t, std::vector<uint8_t>> pages;
  RecoveryOptions skip;
  skip.skip_corrupt = true;
  RecoveryResult rr;
  ASSERT_TRUE(RecoverAndApply(db, &pages, skip, &rr).ok());
  EXPECT_EQ(rr.segments_recovered, 1u);
  EXPECT_EQ(rr.records_applied, 1u);
  EXPECT_EQ(rr.epochs, std::vector<uint64_t>{1});
  EXPECT_EQ(rr.partial_segments, (std::vector<std::string>{SegmentPath(db, 2), SegmentPath(db, 3)}));
  EXPECT_EQ(pages[1], std::vector<uint8_t>(16, 1)) << "recovery must stop before epoch 3";
  // Strict mode: damage followed by a valid segment is corruption, not a torn tail.
  pages.clear();
  Status st = RecoverAndApply(db, &pages, RecoveryOptions{}, &rr);
  EXPECT_EQ(st.code(), Status::Code::kCorruption) << st.ToString();
}

TEST_P(SegmentSeedTest, RecoverAndApplySegments) {
  const std::string db = dir_.Join("test.db");
  for (uint64_t e = 1; e <= 3; ++e) {
    SegmentWriteResult wr;
    ASSERT_TRUE(WriteSegment(Fs(), db,
                             MakeBatch(e, {MakeRecord(e, e, 1, e * 100,
                                                      std::vector<uint8_t>(32, static_cast<uint8_t>(e)))}),
                             O(), &wr).ok());
  }
  std::map<uint32_t, std::vector<uint8_t>> pages;
  RecoveryOptions o;
  o.delete_after_recovery = true;
  RecoveryResult rr;
  ASSERT_TRUE(RecoverAndApply(db, &pages, o, &rr).ok());
  EXPECT_EQ(rr.segments_recovered, 3u);
  EXPECT_EQ(pages[1], std::vector<uint8_t>(32, 3)) << "should have epoch 3 content";
  std::vector<SegmentEntry> remaining;
  ASSERT_TRUE(ListSegments(Fs(), db, &remaining).ok());
  EXPECT_TRUE(remaining.empty()) << "segments should be deleted after recovery";
}

TEST_P(SegmentSeedTest, MaxDurableEpoch) {
  const std::string db = dir_.Join("test.db");
  std::optional<uint64_t> max;
  ASSERT_TRUE(MaxDurableEpoch(Fs(), db, &max).ok());
  EXPECT_FALSE(max.has_value());
  for (uint64_t e : {5, 10, 3}) {
    SegmentWriteResult wr;
    ASSERT_TRUE(WriteSegment(Fs(), db, MakeBatch(e, {}), O(), &wr).ok());
  }
  ASSERT_TRUE(MaxDurableEpoch(Fs(), db, &max).ok());
  EXPECT_EQ(max, std::optional<uint64_t>(10));
  size_t n;
  ASSERT_TRUE(CleanupSegments(Fs(), db, &n).ok());
  ASSERT_TRUE(MaxDurableEpoch(Fs(), db, &max).ok());
  EXPECT_FALSE(max.has_value());
}

TEST_P(SegmentSeedTest, CleanupSegments) {
  const std::string db = dir_.Join("test.db");
  for (uint64_t e = 1; e <= 5; ++e) {
    SegmentWriteResult wr;
    ASSERT_TRUE(WriteSegment(Fs(), db, MakeBatch(e, {}), O(), &wr).ok());
  }
  // A stale temporary from a crashed writer: never listed, removed by cleanup.
  const std::string stale = SegmentPath(db, 6) + ".tmp-1-0";
  Spit(stale, "partial");
  std::vector<SegmentEntry> segs;
  ASSERT_TRUE(ListSegments(Fs(), db, &segs).ok());
  EXPECT_EQ(segs.size(), 5u);
  size_t n = 0;
  ASSERT_TRUE(CleanupSegments(Fs(), db, &n).ok());
  EXPECT_EQ(n, 5u);
  ASSERT_TRUE(ListSegments(Fs(), db, &segs).ok());
  EXPECT_TRUE(segs.empty());
  EXPECT_FALSE(Exists(stale));
}

INSTANTIATE_TEST_SUITE_P(Formats, SegmentSeedTest,
                         ::testing::Values(kSegmentFormatV1, kSegmentFormatV2),
                         [](const ::testing::TestParamInfo<uint16_t>& i) {
                           return "V" + std::to_string(i.param);
                         });

// ---- beyond the seed: publication on POSIX ----

TEST(SegmentPublishTest, NeverReplacesAnExistingSegment) {
  TempDir dir;
  const std::string db = dir.Join("t.db");
  SegmentWriteResult wr;
  ASSERT_TRUE(WriteSegment(Fs(), db, testing::SimpleBatch(4), Opts(FsyncPolicy::kFull), &wr).ok());
  const std::string before = Slurp(SegmentPath(db, 4));
  EpochBatch other = testing::SimpleBatch(4);
  other.records[0].after_image.assign(16, 0x77);
  Status st = WriteSegment(Fs(), db, other, Opts(FsyncPolicy::kFull), &wr);
  EXPECT_EQ(st.code(), Status::Code::kAlreadyExists) << st.ToString();
  EXPECT_EQ(Slurp(SegmentPath(db, 4)), before);
  std::vector<std::string> names;
  ASSERT_TRUE(Fs()->ListDir(dir.path(), &names).ok());
  EXPECT_EQ(names.size(), 1u) << "no temporary left behind";
}

TEST(SegmentPublishTest, EveryPolicyWritesTheSameBytes) {
  TempDir dir;
  std::string first;
  for (FsyncPolicy p : {FsyncPolicy::kFull, FsyncPolicy::kNormal, FsyncPolicy::kOff}) {
    const std::string db = dir.Join("p" + std::to_string(static_cast<int>(p)) + ".db");
    SegmentWriteResult wr;
    ASSERT_TRUE(WriteSegment(Fs(), db, testing::SimpleBatch(9), Opts(p), &wr).ok());
    const std::string bytes = Slurp(SegmentPath(db, 9));
    EXPECT_EQ(bytes.size(), wr.bytes_written);
    if (first.empty()) first = bytes;
    EXPECT_EQ(bytes, first);
  }
}

TEST(SegmentPublishTest, ReadersIgnoreTemporariesAndForeignNames) {
  TempDir dir;
  const std::string db = dir.Join("t.db");
  Spit(SegmentPath(db, 1) + ".tmp-99-3", "x");
  Spit(db + "-wal-seg-1", "x");                    // not 16 digits
  Spit(db + "-wal-seg-000000000000000G", "x");     // not hex
  Spit(dir.Join("other.db-wal-seg-0000000000000001"), "x");
  std::vector<SegmentEntry> segs;
  ASSERT_TRUE(ListSegments(Fs(), db, &segs).ok());
  EXPECT_TRUE(segs.empty());
}

// Encoding from borrowed records (what the addon's packed path does) gives the same bytes as from
// owned ones, in both formats, for records out of replay order.
TEST(SegmentFormatTest, BorrowedRecordsEncodeTheSameBytes) {
  std::vector<WalRecord> owned;
  for (uint32_t i = 0; i < 20; ++i) {
    WalRecord r = MakeRecord(100 - i, 5, 1 + (i * 7) % 11, (i * 13) % 9,
                             std::vector<uint8_t>(i * 5, static_cast<uint8_t>(i)), i % 3 != 0,
                             std::vector<uint8_t>(i % 4, 0xB0));
    r.txn_epoch = i;
    owned.push_back(std::move(r));
  }
  EpochBatch batch = MakeBatch(5, owned, {12, 8});
  batch.db_size_pages = 33;
  EpochBatchRef ref;
  ref.epoch = batch.epoch;
  ref.records_per_core = batch.records_per_core;
  ref.db_size_pages = batch.db_size_pages;
  for (const WalRecord& r : batch.records) {
    WalRecordRef b;
    static_cast<WalRecordFields&>(b) = r;
    b.before_image = Span(r.before_image);
    b.after_image = Span(r.after_image);
    ref.records.push_back(b);
  }
  for (uint16_t v : {kSegmentFormatV1, kSegmentFormatV2}) {
    SegmentBytes a, b;
    CommitCertificate ca, cb;
    ASSERT_TRUE(EncodeSegment(batch, Opts(FsyncPolicy::kOff, v), &a, &ca).ok());
    ASSERT_TRUE(EncodeSegment(ref, Opts(FsyncPolicy::kOff, v), &b, &cb).ok());
    ASSERT_EQ(a.size(), b.size());
    EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size()), 0) << "version " << v;
    EXPECT_EQ(ca.certificate_crc32c, cb.certificate_crc32c);
  }
  ref.records[3].epoch = 6;  // the same validation
  SegmentBytes c;
  EXPECT_EQ(EncodeSegment(ref, Opts(), &c, nullptr).code(), Status::Code::kInvalidArgument);
}

// ---- v1 golden layout: the seed's bytes, computed by hand here ----

TEST(SegmentFormatTest, V1GoldenLayout) {
  WalRecord r = MakeRecord(0x0102030405060708ull, 0x0A0B0C0Dull, 0x11, 0x99, {0xEE, 0xFF}, true, {0xDD});
  r.txn_epoch = 0x21222324;
  r.end_seq = 0x31;
  std::string bytes;
  ASSERT_TRUE(EncodeSegment(MakeBatch(0x0A0B0C0D, {r}), Opts(FsyncPolicy::kOff, kSegmentFormatV1), &bytes,
                            nullptr).ok());
  std::string expect;
  auto le = [&](uint64_t v, int n) {
    for (int i = 0; i < n; ++i) expect.push_back(static_cast<char>(v >> (8 * i)));
  };
  le(0x5057414C, 4);
  le(1, 2);
  le(0, 2);
  le(0x0A0B0C0D, 8);
  le(1, 4);
  le(crc32c::Value(reinterpret_cast<const uint8_t*>(expect.data()), 20), 4);
  const size_t body = 8 + 4 + 8 + 4 + 8 + 1 + 8 + 4 + 1 + 4 + 2;
  le(body, 4);
  le(0x0102030405060708ull, 8);
  le(0x21222324, 4);
  le(0x0A0B0C0D, 8);
  le(0x11, 4);
  le(0x99, 8);
  le(1, 1);
  le(0x31, 8);
  le(1, 4);
  expect.push_back('\xDD');
  le(2, 4);
  expect.append("\xEE\xFF");
  EXPECT_EQ(bytes.size(), expect.size());
  EXPECT_EQ(bytes, expect);
  // The header CRC of a known header, as a fixed constant (guards the CRC variant too).
  EXPECT_EQ(crc32c::Value(reinterpret_cast<const uint8_t*>("123456789"), 9), 0xE3069283u);
}

TEST(SegmentFormatTest, V2RoundTripsCertificate) {
  EpochBatch b = MakeBatch(12, {MakeRecord(3, 12, 7, 50, {1}), MakeRecord(4, 12, 7, 60, {2}),
                                MakeRecord(5, 12, 9, 55, {3})},
                           {2, 0, 1});
  b.db_size_pages = 321;
  SegmentWriteOptions o = Opts(FsyncPolicy::kOff);
  o.has_prev = true;
  o.prev_durable_epoch = 10;
  o.fallback_active = true;
  std::string bytes;
  CommitCertificate cert;
  ASSERT_TRUE(EncodeSegment(b, o, &bytes, &cert).ok());
  SegmentContents c;
  ASSERT_TRUE(DecodeSegment(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), &c).ok());
  ASSERT_TRUE(c.certificate.has_value());
  const CommitCertificate& d = *c.certificate;
  EXPECT_EQ(d.certificate_epoch, 12u);
  EXPECT_EQ(d.commit_seq_lo, 50u);
  EXPECT_EQ(d.commit_seq_hi, 60u);
  EXPECT_TRUE(d.has_prev);
  EXPECT_EQ(d.prev_durable_epoch, 10u);
  EXPECT_EQ(d.lane_record_counts, (std::vector<uint32_t>{2, 0, 1}));
  EXPECT_EQ(d.db_size_pages, 321u);
  EXPECT_EQ(d.page_set_size, 2u);
  EXPECT_TRUE(d.fallback_active);
  EXPECT_EQ(d.certificate_crc32c, cert.certificate_crc32c);
  ASSERT_EQ(c.records.size(), 3u);
  EXPECT_EQ(c.records[0].begin_seq, 50u);
  EXPECT_EQ(c.records[1].begin_seq, 55u);
  EXPECT_EQ(c.records[2].begin_seq, 60u);
  // v2 layout spot checks (docs/format.md): header version 2, certificate at the end.
  EXPECT_EQ(static_cast<uint8_t>(bytes[4]), 2);
  const size_t lanes = 3;
  const size_t cert_size = 52 + 4 * lanes + 4;
  EXPECT_EQ(bytes.compare(bytes.size() - cert_size, 4, "CERT"), 0);
}

TEST(SegmentFormatTest, WriterRejectsLinkNotBeforeEpoch) {
  SegmentWriteOptions o = Opts();
  o.has_prev = true;
  o.prev_durable_epoch = 5;
  std::string bytes;
  EXPECT_EQ(EncodeSegment(testing::SimpleBatch(5), o, &bytes, nullptr).code(),
            Status::Code::kInvalidArgument);
}

TEST(SegmentFormatTest, WriterRejectsZeroIdsBeforeCreate) {
  TempDir dir;
  const std::string db = dir.Join("z.db");
  SegmentWriteResult wr;
  EXPECT_EQ(WriteSegment(Fs(), db, MakeBatch(1, {MakeRecord(0, 1, 1, 1, {1})}), Opts(), &wr).code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(WriteSegment(Fs(), db, MakeBatch(1, {MakeRecord(1, 1, 0, 1, {1})}), Opts(), &wr).code(),
            Status::Code::kInvalidArgument);
  std::vector<std::string> names;
  ASSERT_TRUE(Fs()->ListDir(dir.path(), &names).ok());
  EXPECT_TRUE(names.empty());
}

}  // namespace
}  // namespace pwal
