// One suite, run against every CRC32C implementation this CPU supports.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "crc32c.h"
#include "test_util.h"

namespace pwal {
namespace {

using crc32c::Impl;

uint32_t Bitwise(uint32_t crc, const uint8_t* p, size_t n) {
  uint32_t c = ~crc;
  for (size_t i = 0; i < n; ++i) {
    c ^= p[i];
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ ((c & 1u) ? 0x82F63B78u : 0u);
  }
  return ~c;
}

class Crc32cImplTest : public ::testing::TestWithParam<Impl> {
 protected:
  uint32_t Run(uint32_t crc, const uint8_t* p, size_t n) {
    return crc32c::ExtendWith(GetParam(), crc, p, n);
  }
  uint32_t Run(const std::string& s) {
    return Run(0, reinterpret_cast<const uint8_t*>(s.data()), s.size());
  }
};

TEST_P(Crc32cImplTest, CheckValue) { EXPECT_EQ(Run("123456789"), 0xE3069283u); }

TEST_P(Crc32cImplTest, Rfc3720Vectors) {
  std::vector<uint8_t> buf(32, 0);
  EXPECT_EQ(Run(0, buf.data(), 32), 0x8A9136AAu);
  std::fill(buf.begin(), buf.end(), 0xFF);
  EXPECT_EQ(Run(0, buf.data(), 32), 0x62A8AB43u);
  for (int i = 0; i < 32; ++i) buf[i] = static_cast<uint8_t>(i);
  EXPECT_EQ(Run(0, buf.data(), 32), 0x46DD794Eu);
  for (int i = 0; i < 32; ++i) buf[i] = static_cast<uint8_t>(31 - i);
  EXPECT_EQ(Run(0, buf.data(), 32), 0x113FDB5Cu);
  const uint8_t iscsi_read[48] = {
      0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18,
      0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
  EXPECT_EQ(Run(0, iscsi_read, 48), 0xD9963A56u);
}

TEST_P(Crc32cImplTest, EveryLengthAndAlignmentMatchesBitwise) {
  std::mt19937_64 rng(42);
  std::vector<uint8_t> buf = testing::RandomBytes(&rng, 4096 + 64);
  for (size_t len = 0; len <= 1024; ++len) {
    const size_t align = len % 64;
    ASSERT_EQ(Run(0, buf.data() + align, len), Bitwise(0, buf.data() + align, len))
        << "len=" << len << " align=" << align;
  }
  for (size_t align = 0; align < 64; ++align) {
    for (size_t len : {size_t{1}, size_t{7}, size_t{63}, size_t{255}, size_t{1000}, size_t{4096}}) {
      ASSERT_EQ(Run(0x12345678u, buf.data() + align, len),
                Bitwise(0x12345678u, buf.data() + align, len))
          << "len=" << len << " align=" << align;
    }
  }
}

TEST_P(Crc32cImplTest, LargeInputsMatchPortable) {
  std::mt19937_64 rng(7);
  std::vector<uint8_t> buf = testing::RandomBytes(&rng, (1 << 20) + 200);
  for (size_t len : {size_t{4097}, size_t{65536}, size_t{65536 + 13}, size_t{200000},
                     size_t{1 << 20}}) {
    for (size_t align : {size_t{0}, size_t{1}, size_t{31}, size_t{63}}) {
      ASSERT_EQ(Run(0, buf.data() + align, len),
                crc32c::ExtendPortable(0, buf.data() + align, len))
          << "len=" << len << " align=" << align;
    }
  }
}

// The accelerated implementations switch strategy at fixed sizes: SSE4.2 three-way blocks of
// 48, 192, 1536 and 12288 bytes; AVX-512 folding alone from 512 bytes (256-byte steps, then
// 64-byte steps, then SSE4.2), and the fused loop from 16 iterations of 376 bytes (256-byte
// vector steps, three 40-byte scalar streams per iteration, a remainder). Every length within
// +-24 of each threshold (and of sums of them) must agree with the portable code, at several
// alignments and with random initial values.
TEST_P(Crc32cImplTest, LengthsAroundThresholds) {
  std::mt19937_64 rng(11);
  std::vector<uint8_t> buf = testing::RandomBytes(&rng, 70000);
  std::vector<size_t> bases = {8,    16,   48,   96,   144,  192,   240,   384,   576,
                               1128, 1536, 1576, 1880, 3072, 12288, 24576, 12288 + 1536 + 192 + 48,
                               65536};
  for (size_t m = 1; m <= 20; ++m) bases.push_back(376 * m);
  for (size_t m = 2; m <= 24; ++m) bases.push_back(256 * m);
  for (size_t m = 2; m <= 7; ++m) bases.push_back(512 + 64 * m);
  for (size_t base : bases) {
    for (size_t len = base > 24 ? base - 24 : 0; len <= base + 24; ++len) {
      for (size_t align : {size_t{0}, size_t{3}, size_t{8}, size_t{61}}) {
        const uint32_t init = static_cast<uint32_t>(rng());
        ASSERT_EQ(Run(init, buf.data() + align, len),
                  crc32c::ExtendPortable(init, buf.data() + align, len))
            << "len=" << len << " align=" << align << " init=" << init;
      }
    }
  }
}

TEST_P(Crc32cImplTest, RandomLengthsAndInitialValues) {
  std::mt19937_64 rng(13);
  std::vector<uint8_t> buf = testing::RandomBytes(&rng, 200000);
  for (int i = 0; i < 600; ++i) {
    const size_t align = rng() % 64;
    // Mostly short and medium lengths, some long ones.
    const size_t len = (i % 10 == 0) ? rng() % 190000 : rng() % 8000;
    const uint32_t init = static_cast<uint32_t>(rng());
    ASSERT_EQ(Run(init, buf.data() + align, len),
              crc32c::ExtendPortable(init, buf.data() + align, len))
        << "len=" << len << " align=" << align << " init=" << init;
  }
}

// A single flipped bit anywhere in a long input changes the value (the vector lanes, the scalar
// streams and the remainder each see some of these positions).
TEST_P(Crc32cImplTest, DetectsEveryFlippedBitPosition) {
  std::mt19937_64 rng(17);
  std::vector<uint8_t> buf = testing::RandomBytes(&rng, 5000);
  const uint32_t clean = Run(0, buf.data(), buf.size());
  for (size_t pos = 0; pos < buf.size(); pos += 7) {
    buf[pos] ^= static_cast<uint8_t>(1u << (pos % 8));
    ASSERT_NE(Run(0, buf.data(), buf.size()), clean) << "pos=" << pos;
    ASSERT_EQ(Run(0, buf.data(), buf.size()), crc32c::ExtendPortable(0, buf.data(), buf.size()))
        << "pos=" << pos;
    buf[pos] ^= static_cast<uint8_t>(1u << (pos % 8));
  }
}

TEST_P(Crc32cImplTest, ExtendIsConcatenation) {
  std::mt19937_64 rng(9);
  std::vector<uint8_t> buf = testing::RandomBytes(&rng, 10000);
  const uint32_t whole = Run(0, buf.data(), buf.size());
  for (size_t cut : {size_t{0}, size_t{1}, size_t{100}, size_t{4999}, size_t{10000}}) {
    const uint32_t a = Run(0, buf.data(), cut);
    EXPECT_EQ(Run(a, buf.data() + cut, buf.size() - cut), whole) << "cut=" << cut;
  }
}

std::vector<Impl> SupportedImpls() {
  std::vector<Impl> out;
  for (Impl i : {Impl::kPortable, Impl::kSse42, Impl::kAvx512, Impl::kArm}) {
    if (crc32c::ImplSupported(i)) out.push_back(i);
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(AllImpls, Crc32cImplTest, ::testing::ValuesIn(SupportedImpls()),
                         [](const ::testing::TestParamInfo<Impl>& info) {
                           return std::string(crc32c::ImplName(info.param));
                         });

TEST(Crc32cDispatch, ActiveIsSupported) {
  EXPECT_TRUE(crc32c::ImplSupported(crc32c::ActiveImpl()));
  EXPECT_EQ(crc32c::Value(reinterpret_cast<const uint8_t*>("123456789"), 9), 0xE3069283u);
}

}  // namespace
}  // namespace pwal
