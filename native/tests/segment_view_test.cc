// The zero-copy read path: DecodeSegmentView / RecoverSegmentViews return exactly what the owning
// DecodeSegment / RecoverSegments return (which are built on them), views stay inside the bytes,
// ReadSegmentBytes bounds and detects growth, and the recycled SegmentBytes buffers behave.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstring>
#include <fstream>
#include <iterator>

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

EpochBatch VariedBatch(uint64_t epoch) {
  std::vector<WalRecord> records;
  for (uint32_t i = 0; i < 9; ++i) {
    WalRecord r = MakeRecord(epoch * 100 + (i % 4) + 1, epoch, 1 + (i * 5) % 7, epoch * 1000 + (8 - i),
                             std::vector<uint8_t>(i == 3 ? 0 : i == 4 ? 65536 : 1 + 13 * i,
                                                  static_cast<uint8_t>(0x30 + i)),
                             i % 3 != 0,
                             std::vector<uint8_t>(i % 2 ? 7 * i : 0, static_cast<uint8_t>(i)));
    r.txn_epoch = i;
    if (r.has_end_seq && i % 2) r.end_seq = r.begin_seq + 3;
    records.push_back(std::move(r));
  }
  return MakeBatch(epoch, std::move(records));
}

void ExpectSame(const uint8_t* data, const RecordView& v, const WalRecord& r) {
  EXPECT_EQ(v.txn_id, r.txn_id);
  EXPECT_EQ(v.txn_epoch, r.txn_epoch);
  EXPECT_EQ(v.epoch, r.epoch);
  EXPECT_EQ(v.page_id, r.page_id);
  EXPECT_EQ(v.begin_seq, r.begin_seq);
  EXPECT_EQ(v.has_end_seq, r.has_end_seq);
  EXPECT_EQ(v.end_seq, r.end_seq);
  ASSERT_EQ(v.before_len, r.before_image.size());
  ASSERT_EQ(v.after_len, r.after_image.size());
  // (memcmp with a null pointer is undefined even for length 0: empty vectors have one.)
  if (v.before_len > 0) EXPECT_EQ(0, std::memcmp(data + v.before_offset, r.before_image.data(), v.before_len));
  if (v.after_len > 0) EXPECT_EQ(0, std::memcmp(data + v.after_offset, r.after_image.data(), v.after_len));
}

class SegmentViewTest : public ::testing::TestWithParam<uint16_t> {};

TEST_P(SegmentViewTest, ViewsMatchOwningDecodeAndStayInBounds) {
  std::string bytes;
  ASSERT_TRUE(EncodeSegment(VariedBatch(5), Opts(FsyncPolicy::kOff, GetParam()), &bytes, nullptr).ok());
  const uint8_t* data = reinterpret_cast<const uint8_t*>(bytes.data());
  SegmentView view;
  SegmentContents contents;
  ASSERT_TRUE(DecodeSegmentView(data, bytes.size(), &view).ok());
  ASSERT_TRUE(DecodeSegment(data, bytes.size(), &contents).ok());
  ASSERT_EQ(view.records.size(), contents.records.size());
  EXPECT_EQ(view.certificate.has_value(), GetParam() == kSegmentFormatV2);
  for (size_t i = 0; i < view.records.size(); ++i) {
    const RecordView& v = view.records[i];
    EXPECT_LE(v.before_offset + v.before_len, bytes.size());
    EXPECT_LE(v.after_offset + v.after_len, bytes.size());
    if (i > 0) EXPECT_FALSE(ReplayLessView(v, view.records[i - 1]));
    ExpectSame(data, v, contents.records[i]);
  }
}

TEST_P(SegmentViewTest, EveryTruncationFailsTheSameWayInBothDecoders) {
  std::string bytes;
  ASSERT_TRUE(EncodeSegment(VariedBatch(6), Opts(FsyncPolicy::kOff, GetParam()), &bytes, nullptr).ok());
  for (size_t len = 0; len < bytes.size(); len += (len < 200 ? 1 : 997)) {
    SegmentView view;
    SegmentContents contents;
    const Status a = DecodeSegmentView(reinterpret_cast<const uint8_t*>(bytes.data()), len, &view);
    const Status b = DecodeSegment(reinterpret_cast<const uint8_t*>(bytes.data()), len, &contents);
    EXPECT_FALSE(a.ok()) << len;
    EXPECT_EQ(a.code(), Status::Code::kCorruption) << len;
    EXPECT_EQ(a.message(), b.message()) << len;
  }
}

TEST_P(SegmentViewTest, RecoverSegmentViewsMatchesRecoverSegments) {
  TempDir dir;
  const std::string db = dir.Join("v.db");
  for (uint64_t e = 1; e <= 4; ++e) {
    SegmentWriteOptions o = Opts(FsyncPolicy::kOff, GetParam());
    o.has_prev = GetParam() == kSegmentFormatV2 && e > 1;
    o.prev_durable_epoch = e - 1;
    SegmentWriteResult res;
    ASSERT_TRUE(WriteSegment(Fs(), db, VariedBatch(e), o, &res).ok());
  }
  RecoveryResult ra, rb;
  std::vector<RecoveredSegment> segments;
  std::vector<WalRecord> records;
  ASSERT_TRUE(RecoverSegmentViews(Fs(), db, RecoveryOptions{}, &ra, &segments).ok());
  ASSERT_TRUE(RecoverSegments(Fs(), db, RecoveryOptions{}, &rb, &records).ok());
  EXPECT_EQ(ra.epochs, rb.epochs);
  EXPECT_EQ(ra.records_applied, rb.records_applied);
  EXPECT_EQ(ra.bytes_read, rb.bytes_read);
  ASSERT_EQ(segments.size(), 4u);
  size_t k = 0;
  for (const RecoveredSegment& s : segments) {
    EXPECT_EQ(s.view.header.epoch, s.epoch);
    EXPECT_EQ(s.bytes.size(), Slurp(s.path).size());
    for (const RecordView& v : s.view.records) ExpectSame(s.bytes.data(), v, records[k++]);
  }
  EXPECT_EQ(k, records.size());
}

INSTANTIATE_TEST_SUITE_P(Formats, SegmentViewTest, ::testing::Values(kSegmentFormatV1, kSegmentFormatV2));

TEST(SegmentBytesTest, ReadRejectsAFileThatGrewAndBoundsBeforeAllocating) {
  TempDir dir;
  const std::string db = dir.Join("g.db");
  SegmentWriteResult res;
  ASSERT_TRUE(WriteSegment(Fs(), db, VariedBatch(1), Opts(), &res).ok());
  SegmentBytes bytes;
  ASSERT_TRUE(ReadSegmentBytes(Fs(), res.path, &bytes).ok());
  EXPECT_EQ(bytes.size(), res.bytes_written);
  {
    std::ofstream out(res.path, std::ios::binary | std::ios::app);
    out << "x";
  }
  SegmentView view;
  Status st = ReadSegmentView(Fs(), res.path, &bytes, &view);
  EXPECT_EQ(st.code(), Status::Code::kCorruption);
  EXPECT_NE(st.message().find("trailing"), std::string::npos) << st.message();
  // A header claiming one record but a 1 GiB file: refused from the header, nothing read.
  std::string head(kSegmentHeaderSize, '\0');
  SegmentHeader h;
  h.record_count = 1;
  EncodeSegmentHeader(h, reinterpret_cast<uint8_t*>(&head[0]));
  const std::string big = dir.Join("g.db-wal-seg-0000000000000002");
  {
    std::ofstream out(big, std::ios::binary);
    out << head;
  }
  ASSERT_EQ(0, ::truncate(big.c_str(), 1 << 30));
  st = ReadSegmentBytes(Fs(), big, &bytes);
  EXPECT_EQ(st.code(), Status::Code::kCorruption);
  EXPECT_NE(st.message().find("exceeds the maximum"), std::string::npos) << st.message();
}

TEST(SegmentBytesTest, ZeroPadToKeepsTheBytesAndAppendsZeros) {
  // Small (exact capacity: the contents move) and pooled (rounded capacity: in place).
  for (size_t n : {size_t{100}, size_t{70000}}) {
    SegmentBytes b;
    b.Allocate(n);
    std::memset(b.data(), 0x5a, n);
    const size_t to = (n + 4095) / 4096 * 4096;
    b.ZeroPadTo(to);
    ASSERT_EQ(b.size(), to);
    for (size_t i = 0; i < n; ++i) ASSERT_EQ(b.data()[i], 0x5a) << i;
    for (size_t i = n; i < to; ++i) ASSERT_EQ(b.data()[i], 0) << i;
    b.ZeroPadTo(n);  // never shrinks
    EXPECT_EQ(b.size(), to);
  }
}

TEST(SegmentBytesTest, RecycledBuffersAreReusedAndIndependent) {
  // Large buffers go back to the pool and come out again; a released buffer is owned by its
  // holder until Free, and sizes below the pool threshold work too.
  SegmentBytes a;
  a.Allocate(1 << 20);
  std::memset(a.data(), 0xab, a.size());
  uint8_t* const first = a.data();
  a.Reset();
  SegmentBytes b;
  b.Allocate((1 << 20) - 100);
  EXPECT_EQ(b.data(), first);  // best fit from the pool
  std::memset(b.data(), 0x11, b.size());
  size_t cap = 0;
  uint8_t* held = b.Release(&cap);
  EXPECT_GE(cap, (1u << 20) - 100);
  EXPECT_EQ(b.data(), nullptr);
  SegmentBytes c;
  c.Allocate(1 << 20);
  EXPECT_NE(c.data(), held);  // not handed out while released
  std::memset(c.data(), 0x22, c.size());
  EXPECT_EQ(held[0], 0x11);
  SegmentBytes::Free(held, cap);
  SegmentBytes small;
  small.Allocate(0);
  EXPECT_NE(small.data(), nullptr);
  EXPECT_EQ(small.size(), 0u);
  SegmentBytes moved(std::move(c));
  EXPECT_EQ(c.data(), nullptr);
  EXPECT_EQ(moved.size(), 1u << 20);
}

}  // namespace
}  // namespace pwal
