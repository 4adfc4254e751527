// Internal to the x86-64 CRC32C implementations (crc32c_sse42.cc, crc32c_avx512.cc).
//
// Conventions. A CRC "state" here is the raw register of the reflected CRC: no pre/post
// inversion (Extend() does ~crc on the way in and out). For the reflected polynomial
// P = 0x1EDC6F41 (bit-reversed 0x82F63B78), a 32-bit value v stands for the polynomial with
// bit i <-> x^(31-i). The crc32 instructions compute, for a 64-bit word d loaded little-endian,
//   crc32q(s, d) = (s(x) * x^64 + d(x) * x^32) mod P      (d: bit i <-> x^(63-i))
// and a carry-less product of two 32-bit reflected values a, b read as a 64-bit reflected value
// is a(x) * b(x) * x. Hence
//   crc32q(0, clmul(a, b)) = a(x) * b(x) * x^33 mod P,
// which is how a state is "shifted" over n zero bytes: multiply by k = x^(8n-33) mod P.
#pragma once

#include <cstddef>
#include <cstdint>

namespace pwal {
namespace crc32c {
namespace x86 {

constexpr uint32_t kPolyReflected = 0x82F63B78u;

// x^e mod P in the reflected 32-bit representation (x^0 is bit 31). Square-and-multiply, so it
// stays cheap in constant expressions for e up to 2^63.
constexpr uint32_t MulModP(uint32_t a, uint32_t b) {
  // Plain bitwise multiply mod P, reflected: walk a's coefficients from x^0 (bit 31) upward.
  uint32_t product = 0;
  uint32_t term = b;  // b * x^i mod P
  for (int i = 31; i >= 0; --i) {
    if ((a >> i) & 1u) product ^= term;
    term = (term >> 1) ^ ((term & 1u) ? kPolyReflected : 0u);
  }
  return product;
}

constexpr uint32_t XPowModP(uint64_t e) {
  uint32_t result = 0x80000000u;  // 1
  uint32_t base = 0x40000000u;    // x
  while (e != 0) {
    if (e & 1u) result = MulModP(result, base);
    base = MulModP(base, base);
    e >>= 1;
  }
  return result;
}

// The multiplier that shifts a state over `bytes` zero bytes with one clmul + crc32q
// (x^(8*bytes - 33) mod P). Only for bytes >= 5, so the exponent is never negative.
constexpr uint32_t ShiftConstant(uint64_t bytes) { return XPowModP(8 * bytes - 33); }

// The two fold constants that move a 16-byte lane forward by `distance` bytes:
// lo qword (higher degrees) times x^(8d+31), hi qword times x^(8d-33).
constexpr uint32_t FoldLo(uint64_t distance) { return XPowModP(8 * distance + 31); }
constexpr uint32_t FoldHi(uint64_t distance) { return XPowModP(8 * distance - 33); }

// The SSE4.2 kernel on a raw state (3-way interleaved crc32q, PCLMULQDQ combine).
// Defined in crc32c_sse42.cc with target("sse4.2,pclmul"); callers must have checked the CPU.
uint32_t Sse42State(uint32_t state, const uint8_t* data, size_t n);

}  // namespace x86
}  // namespace crc32c
}  // namespace pwal
