// CRC32C with AVX-512 VPCLMULQDQ folding fused with three crc32q streams.
//
// The carry-less multiplier (VPCLMULQDQ) and the CRC32 unit are separate execution resources, so
// one loop keeps both busy on different parts of the input:
//
//   [ V: 256*k bytes, folded | S1: 8*W*k | S2: 8*W*k | S3: 8*W*k ] [ rest < one iteration ]
//
// * V is folded by four 512-bit accumulators (16 lanes of 16 bytes). Each iteration moves every
//   lane forward by 256 bytes: lane = lo64 (x) x^(8*256+31) ^ hi64 (x) x^(8*256-33) ^ next data
//   (two VPCLMULQDQ and one three-way XOR per register). The incoming CRC state is XORed into
//   V's first four bytes. At the end the accumulators are folded into one 128-bit lane (distances
//   128/64 bytes between registers, then 48/32/16 bytes between lanes), whose 16 bytes are run
//   through two crc32q to give V's state.
// * S1..S3 are three crc32q chains of W words each per iteration (a single chain would be
//   latency bound; three saturate the unit).
// * The four partial states are joined by Horner's rule with one multiplier M = x^(64*W*k) mod P:
//   state = ((V*M ^ S1)*M ^ S2)*M ^ S3. M depends on the input length, so it is built at run time
//   from a table of x^(2^i - 33) (one clmul + crc32q per set bit of 64*W*k); that chain does not
//   depend on the data and overlaps with the main loop.
// * What is left after k iterations goes to the SSE4.2 kernel (crc32c_sse42.cc).
// Inputs from 512 bytes to ~6 KiB use folding alone (256-byte steps with four accumulators,
// then 64-byte steps with one), shorter ones the SSE4.2 kernel directly.
// All functions carry target attributes; they run only when crc32c_dispatch.cc has seen
// AVX-512F/BW/VL + VPCLMULQDQ in CPUID and ZMM state enabled in XCR0.
#include "crc32c.h"

#if defined(__x86_64__)
// GCC 12's AVX-512 headers implement casts/extracts with a self-initialised "undefined" vector
// and then warn about it (-Wmaybe-uninitialized) wherever they are inlined; nothing here is
// uninitialised.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <array>
#include <cstring>

#include "crc32c_x86.h"

#define PWAL_TARGET_AVX512 \
  __attribute__((target("avx512f,avx512bw,avx512vl,vpclmulqdq,pclmul,sse4.2")))

namespace pwal {
namespace crc32c {
namespace x86 {
namespace {

// crc32q words per scalar stream per iteration. The vector side folds 256 bytes per iteration;
// W balances the two units (tuned on Zen 4, see docs/crc32c.md).
constexpr size_t kWords = 5;
constexpr size_t kVectorBytes = 256;
constexpr size_t kStreamBytes = 8 * kWords;
constexpr size_t kIterationBytes = kVectorBytes + 3 * kStreamBytes;
// Size regimes (measured on Zen 4, see docs/crc32c.md): below kMinFold the SSE4.2 kernel;
// from kMinFold, VPCLMULQDQ folding alone; from kMinFused (~6 KiB), where the fused loop's fixed
// costs - the run-time multiplier, the join, a remainder of up to 375 bytes - are amortised,
// folding fused with the crc32q streams.
constexpr size_t kMinFused = 16 * kIterationBytes;
constexpr size_t kMinFold = 512;

// kPow[i] = x^(2^i - 33) mod P for i >= 6 (entries below 6 are unused: 64*W*k has no lower bits).
constexpr std::array<uint32_t, 64> MakePowTable() {
  std::array<uint32_t, 64> t{};
  for (int i = 6; i < 64; ++i) t[i] = XPowModP((uint64_t{1} << i) - 33);
  return t;
}
constexpr std::array<uint32_t, 64> kPow = MakePowTable();

// a (x) b (x) x^33 mod P: the product of two reflected 32-bit values, reduced by crc32q.
PWAL_TARGET_AVX512 inline uint32_t MulX33(uint32_t a, uint32_t b) {
  const __m128i p = _mm_clmulepi64_si128(_mm_cvtsi32_si128(static_cast<int>(a)),
                                         _mm_cvtsi32_si128(static_cast<int>(b)), 0x00);
  return static_cast<uint32_t>(_mm_crc32_u64(0, static_cast<uint64_t>(_mm_cvtsi128_si64(p))));
}

// x^(e - 33) mod P for e a non-zero multiple of 64: multiplying a state by it with MulX33
// shifts the state over e bits.
PWAL_TARGET_AVX512 inline uint32_t ShiftMultiplier(uint64_t e) {
  uint32_t r = kPow[__builtin_ctzll(e)];
  e &= e - 1;
  while (e != 0) {
    r = MulX33(r, kPow[__builtin_ctzll(e)]);  // r * x^(2^i - 33) * x^33 = r * x^(2^i)
    e &= e - 1;
  }
  return r;
}

// Both fold constants for a distance, as {lo-qword multiplier, hi-qword multiplier}.
PWAL_TARGET_AVX512 inline __m128i FoldPair(uint32_t lo, uint32_t hi) {
  return _mm_set_epi64x(static_cast<int64_t>(hi), static_cast<int64_t>(lo));
}

// Moves every 16-byte lane of `acc` forward by the distance encoded in `k` and XORs in `data`.
PWAL_TARGET_AVX512 inline __m512i Fold(__m512i acc, __m512i k, __m512i data) {
  return _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(acc, k, 0x00),
                                   _mm512_clmulepi64_epi128(acc, k, 0x11), data, 0x96);
}

// A CRC state in the low 32 bits of a zeroed register, to be XORed into the first data bytes.
PWAL_TARGET_AVX512 inline __m512i StateVector(uint32_t state) {
  return _mm512_inserti32x4(_mm512_setzero_si512(), _mm_cvtsi32_si128(static_cast<int>(state)), 0);
}

// Four accumulators (at offsets 0, 64, 128, 192 of a 256-byte step) -> one standing for the
// last 64 bytes: x0 moves 128 bytes onto x2, x1 onto x3, then x2 64 bytes onto x3.
PWAL_TARGET_AVX512 inline __m512i FourToOne(__m512i x0, __m512i x1, __m512i x2, __m512i x3) {
  const __m512i k128 = _mm512_broadcast_i32x4(FoldPair(FoldLo(128), FoldHi(128)));
  const __m512i k64 = _mm512_broadcast_i32x4(FoldPair(FoldLo(64), FoldHi(64)));
  x2 = Fold(x0, k128, x2);
  x3 = Fold(x1, k128, x3);
  return Fold(x2, k64, x3);
}

// The CRC state of the 64 bytes an accumulator stands for: lanes 0, 1, 2 move 48, 32, 16 bytes
// onto lane 3, the four lanes are XORed together, and two crc32q reduce the 16 bytes left.
PWAL_TARGET_AVX512 inline uint32_t OneToState(__m512i x) {
  // Per-lane constants {48, 32, 16 bytes, none}. Built from 128-bit parts with inserts (older
  // compilers lack _mm256_set_m128i / _mm512_zextsi128_si512).
  __m512i klanes = _mm512_setzero_si512();
  klanes = _mm512_inserti32x4(klanes, FoldPair(FoldLo(48), FoldHi(48)), 0);
  klanes = _mm512_inserti32x4(klanes, FoldPair(FoldLo(32), FoldHi(32)), 1);
  klanes = _mm512_inserti32x4(klanes, FoldPair(FoldLo(16), FoldHi(16)), 2);
  const __m512i lane3 = _mm512_maskz_mov_epi64(0xC0, x);
  const __m512i t = Fold(x, klanes, lane3);
  const __m256i t256 =
      _mm256_xor_si256(_mm512_castsi512_si256(t), _mm512_extracti64x4_epi64(t, 1));
  const __m128i t128 =
      _mm_xor_si128(_mm256_castsi256_si128(t256), _mm256_extracti128_si256(t256, 1));
  const uint64_t lo = _mm_crc32_u64(0, static_cast<uint64_t>(_mm_cvtsi128_si64(t128)));
  return static_cast<uint32_t>(
      _mm_crc32_u64(lo, static_cast<uint64_t>(_mm_extract_epi64(t128, 1))));
}

// Folding only, for inputs too short for the fused loop to pay off: 256-byte steps with four
// accumulators, then 64-byte steps with one, then the SSE4.2 kernel for the last < 64 bytes.
PWAL_TARGET_AVX512 uint32_t FoldOnly(uint32_t state, const uint8_t* p, size_t n) {
  const __m512i k256 = _mm512_broadcast_i32x4(FoldPair(FoldLo(256), FoldHi(256)));
  const __m512i k64 = _mm512_broadcast_i32x4(FoldPair(FoldLo(64), FoldHi(64)));
  __m512i x0 = _mm512_xor_si512(_mm512_loadu_si512(p), StateVector(state));
  __m512i x1 = _mm512_loadu_si512(p + 64);
  __m512i x2 = _mm512_loadu_si512(p + 128);
  __m512i x3 = _mm512_loadu_si512(p + 192);
  p += kVectorBytes;
  n -= kVectorBytes;
  for (; n >= kVectorBytes; n -= kVectorBytes, p += kVectorBytes) {
    x0 = Fold(x0, k256, _mm512_loadu_si512(p));
    x1 = Fold(x1, k256, _mm512_loadu_si512(p + 64));
    x2 = Fold(x2, k256, _mm512_loadu_si512(p + 128));
    x3 = Fold(x3, k256, _mm512_loadu_si512(p + 192));
  }
  __m512i x = FourToOne(x0, x1, x2, x3);
  for (; n >= 64; n -= 64, p += 64) x = Fold(x, k64, _mm512_loadu_si512(p));
  return Sse42State(OneToState(x), p, n);
}

inline uint64_t Load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

}  // namespace

PWAL_TARGET_AVX512 uint32_t Avx512State(uint32_t state, const uint8_t* data, size_t n) {
  if (n < kMinFold) return Sse42State(state, data, n);
  if (n < kMinFused) return FoldOnly(state, data, n);
  // Start the folded region on a cache-line boundary: a 64-byte load that straddles two lines
  // costs two (measured: ~2.5% at 1 MiB). The < 64 bytes before it are worth ~10 ns here.
  const size_t head = (64 - (reinterpret_cast<uintptr_t>(data) & 63)) & 63;
  if (head != 0) {
    state = Sse42State(state, data, head);
    data += head;
    n -= head;
  }

  const size_t k = n / kIterationBytes;
  const uint8_t* v = data;
  const uint8_t* s1 = data + kVectorBytes * k;
  const uint8_t* s2 = s1 + kStreamBytes * k;
  const uint8_t* s3 = s2 + kStreamBytes * k;
  const uint8_t* rest = s3 + kStreamBytes * k;
  const size_t rest_n = n - kIterationBytes * k;
  // x^(8 * stream bytes - 33): independent of the data, so it overlaps with the loop.
  const uint32_t m = ShiftMultiplier(uint64_t{8} * kStreamBytes * k);

  const __m512i k256 = _mm512_broadcast_i32x4(FoldPair(FoldLo(256), FoldHi(256)));
  __m512i x0 = _mm512_xor_si512(_mm512_loadu_si512(v), StateVector(state));
  __m512i x1 = _mm512_loadu_si512(v + 64);
  __m512i x2 = _mm512_loadu_si512(v + 128);
  __m512i x3 = _mm512_loadu_si512(v + 192);
  v += kVectorBytes;
  uint64_t c1 = 0, c2 = 0, c3 = 0;
  for (size_t it = 1; it < k; ++it) {
    x0 = Fold(x0, k256, _mm512_loadu_si512(v));
    x1 = Fold(x1, k256, _mm512_loadu_si512(v + 64));
    x2 = Fold(x2, k256, _mm512_loadu_si512(v + 128));
    x3 = Fold(x3, k256, _mm512_loadu_si512(v + 192));
    v += kVectorBytes;
    for (size_t w = 0; w < kStreamBytes; w += 8) {
      c1 = _mm_crc32_u64(c1, Load64(s1 + w));
      c2 = _mm_crc32_u64(c2, Load64(s2 + w));
      c3 = _mm_crc32_u64(c3, Load64(s3 + w));
    }
    s1 += kStreamBytes;
    s2 += kStreamBytes;
    s3 += kStreamBytes;
  }
  // The scalar streams' last W words (the vector side's first 256 bytes were a plain load).
  for (size_t w = 0; w < kStreamBytes; w += 8) {
    c1 = _mm_crc32_u64(c1, Load64(s1 + w));
    c2 = _mm_crc32_u64(c2, Load64(s2 + w));
    c3 = _mm_crc32_u64(c3, Load64(s3 + w));
  }

  const uint32_t cv = OneToState(FourToOne(x0, x1, x2, x3));

  // Join: ((V * M ^ S1) * M ^ S2) * M ^ S3.
  uint32_t joined = MulX33(cv, m) ^ static_cast<uint32_t>(c1);
  joined = MulX33(joined, m) ^ static_cast<uint32_t>(c2);
  joined = MulX33(joined, m) ^ static_cast<uint32_t>(c3);
  return Sse42State(joined, rest, rest_n);
}

}  // namespace x86

uint32_t ExtendAvx512(uint32_t crc, const uint8_t* data, size_t n) {
  return ~x86::Avx512State(~crc, data, n);
}

}  // namespace crc32c
}  // namespace pwal

#endif  // __x86_64__
