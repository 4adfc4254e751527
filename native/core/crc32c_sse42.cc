// CRC32C with SSE4.2: three interleaved crc32q streams, recombined with PCLMULQDQ.
//
// One crc32q has a 3-cycle latency but issues every cycle, so a single dependent chain uses a
// third of the unit. A block of 3*L bytes is therefore split into three L-byte lanes A, B, C
// whose chains run side by side. Because the raw CRC is linear, state(A|B|C) = A * x^(16L) + B * x^(8L) + C (mod P). Each shift is one
// carry-less multiply by a constant x^(8*bytes-33) mod P; the two 64-bit products are XORed into
// C's last data word before its final crc32q, which performs the reduction for free
// (crc32q(s, w ^ t) = crc32q(s, w) ^ crc32q(0, t)). Block sizes come in tiers so that medium
// and short inputs use the three-way path too (every lane starts from 0 and the incoming state is
// shifted over the block as a fourth term, so consecutive blocks overlap in the out-of-order
// core); what is left (< 48 bytes) goes through one crc32q chain and a crc32l/w/b tail. The functions carry target attributes: the rest of the addon is built for
// baseline x86-64 and this file's code only runs after the CPUID check in crc32c_dispatch.cc.
#include "crc32c.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include <cstring>

#include "crc32c_x86.h"

#define PWAL_TARGET_SSE42 __attribute__((target("sse4.2,pclmul")))

namespace pwal {
namespace crc32c {
namespace x86 {
namespace {

inline uint64_t Load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline uint32_t Load32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline uint16_t Load16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

PWAL_TARGET_SSE42 inline __m128i Clmul(uint64_t a, uint64_t k) {
  return _mm_clmulepi64_si128(_mm_cvtsi64_si128(static_cast<int64_t>(a)),
                              _mm_cvtsi64_si128(static_cast<int64_t>(k)), 0x00);
}

// One block of 3*L bytes; returns the state after it. All three lanes start from 0 and the
// incoming state is shifted over the whole block like the lanes are, so consecutive blocks do not
// wait for each other's crc32q chains: the only serial dependency between blocks is one
// clmul + xor + crc32q.
template <size_t L>
PWAL_TARGET_SSE42 inline uint32_t Block3(uint32_t state, const uint8_t* p) {
  static_assert(L % 8 == 0 && L >= 16, "lanes are whole words, at least two");
  constexpr uint64_t kShiftIn = ShiftConstant(3 * L);  // the incoming state moves over A, B, C
  constexpr uint64_t kShiftA = ShiftConstant(2 * L);   // A moves over B and C
  constexpr uint64_t kShiftB = ShiftConstant(L);       // B moves over C
  uint64_t a = 0, b = 0, c = 0;
  const uint8_t* pa = p;
  const uint8_t* pb = p + L;
  const uint8_t* pc = p + 2 * L;
  for (size_t i = 0; i < L - 8; i += 8) {
    a = _mm_crc32_u64(a, Load64(pa + i));
    b = _mm_crc32_u64(b, Load64(pb + i));
    c = _mm_crc32_u64(c, Load64(pc + i));
  }
  a = _mm_crc32_u64(a, Load64(pa + L - 8));
  b = _mm_crc32_u64(b, Load64(pb + L - 8));
  const __m128i shifted = _mm_xor_si128(_mm_xor_si128(Clmul(a, kShiftA), Clmul(b, kShiftB)),
                                        Clmul(state, kShiftIn));
  const uint64_t last = Load64(pc + L - 8) ^ static_cast<uint64_t>(_mm_cvtsi128_si64(shifted));
  return static_cast<uint32_t>(_mm_crc32_u64(c, last));
}

// Block sizes: lanes of 4 KiB, 512 B, 64 B and 16 B (blocks of 12 KiB, 1.5 KiB, 192 B, 48 B).
constexpr size_t kLongLane = 4096;
constexpr size_t kMidLane = 512;
constexpr size_t kShortLane = 64;
constexpr size_t kTinyLane = 16;

}  // namespace

PWAL_TARGET_SSE42 uint32_t Sse42State(uint32_t state, const uint8_t* p, size_t n) {
  while (n >= 3 * kLongLane) {
    state = Block3<kLongLane>(state, p);
    p += 3 * kLongLane;
    n -= 3 * kLongLane;
  }
  while (n >= 3 * kMidLane) {
    state = Block3<kMidLane>(state, p);
    p += 3 * kMidLane;
    n -= 3 * kMidLane;
  }
  while (n >= 3 * kShortLane) {
    state = Block3<kShortLane>(state, p);
    p += 3 * kShortLane;
    n -= 3 * kShortLane;
  }
  while (n >= 3 * kTinyLane) {
    state = Block3<kTinyLane>(state, p);
    p += 3 * kTinyLane;
    n -= 3 * kTinyLane;
  }
  uint64_t s = state;
  while (n >= 8) {
    s = _mm_crc32_u64(s, Load64(p));
    p += 8;
    n -= 8;
  }
  uint32_t s32 = static_cast<uint32_t>(s);
  if (n & 4) {
    s32 = _mm_crc32_u32(s32, Load32(p));
    p += 4;
  }
  if (n & 2) {
    s32 = _mm_crc32_u16(s32, Load16(p));
    p += 2;
  }
  if (n & 1) s32 = _mm_crc32_u8(s32, *p);
  return s32;
}

}  // namespace x86

uint32_t ExtendSse42(uint32_t crc, const uint8_t* data, size_t n) {
  return ~x86::Sse42State(~crc, data, n);
}

}  // namespace crc32c
}  // namespace pwal

#endif  // __x86_64__
