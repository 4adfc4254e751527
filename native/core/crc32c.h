// CRC32C (Castagnoli, reflected polynomial 0x82F63B78), as used by iSCSI (RFC 3720), ext4, etc.
//
// Extend(crc, data, n) continues a CRC: Extend(Extend(0, a), b) == Value(a ++ b).
// The implementation is picked once, on first use, from CPUID (and the OS's XSAVE state for
// AVX-512): avx512 (VPCLMULQDQ folding fused with crc32q streams) > sse42 (3-way crc32q +
// PCLMULQDQ combine) > arm (ARMv8 CRC) > portable (slicing-by-8). Setting the environment
// variable PARALLEL_WAL_CRC32C_IMPL to a slower implementation's name forces it, so that the
// test suite exercises every implementation on one machine. Thread-safe; no allocation.
#pragma once

#include <cstddef>
#include <cstdint>

namespace pwal {
namespace crc32c {

enum class Impl { kPortable = 0, kSse42 = 1, kAvx512 = 2, kArm = 3 };

uint32_t Extend(uint32_t crc, const uint8_t* data, size_t n);
inline uint32_t Value(const uint8_t* data, size_t n) { return Extend(0, data, n); }

// The implementation Extend() dispatches to, and its name ("portable", "sse42", "avx512", "arm").
Impl ActiveImpl();
const char* ImplName(Impl impl);
inline const char* ActiveImplName() { return ImplName(ActiveImpl()); }

// Whether this CPU/OS can run `impl`.
bool ImplSupported(Impl impl);

// Runs one specific implementation (tests and benchmarks). `impl` must be supported.
uint32_t ExtendWith(Impl impl, uint32_t crc, const uint8_t* data, size_t n);

// Per-implementation entry points; each lives in its own file.
uint32_t ExtendPortable(uint32_t crc, const uint8_t* data, size_t n);
uint32_t ExtendSse42(uint32_t crc, const uint8_t* data, size_t n);   // x86-64 only
uint32_t ExtendAvx512(uint32_t crc, const uint8_t* data, size_t n);  // x86-64 only
uint32_t ExtendArm(uint32_t crc, const uint8_t* data, size_t n);     // aarch64 only

}  // namespace crc32c
}  // namespace pwal
