// Picks the CRC32C implementation once (CPUID + XGETBV) and dispatches to it.
#include <cstdlib>
#include <cstring>
#include <initializer_list>

#include "crc32c.h"

#if defined(__x86_64__)
#include <cpuid.h>
#endif
#if defined(__aarch64__)
#include <sys/auxv.h>
#ifndef HWCAP_CRC32
#define HWCAP_CRC32 (1 << 7)
#endif
#endif

namespace pwal {
namespace crc32c {
namespace {

#if defined(__x86_64__)
bool CpuHasSse42() {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
  const bool sse42 = (c & (1u << 20)) != 0;
  const bool pclmul = (c & (1u << 1)) != 0;
  return sse42 && pclmul;
}

bool CpuHasAvx512Vpclmul() {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
  const bool osxsave = (c & (1u << 27)) != 0;
  if (!osxsave || !CpuHasSse42()) return false;
  // The OS must save ZMM state: XCR0 bits 1,2 (SSE, AVX) and 5,6,7 (opmask, ZMM hi256, hi16).
  unsigned xcr0_lo, xcr0_hi;
  __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
  if ((xcr0_lo & 0xE6u) != 0xE6u) return false;
  if (__get_cpuid_max(0, nullptr) < 7) return false;
  __cpuid_count(7, 0, a, b, c, d);
  const bool avx512f = (b & (1u << 16)) != 0;
  const bool avx512bw = (b & (1u << 30)) != 0;
  const bool avx512vl = (b & (1u << 31)) != 0;
  const bool vpclmul = (c & (1u << 10)) != 0;
  return avx512f && avx512bw && avx512vl && vpclmul;
}
#endif

#if defined(__aarch64__)
bool CpuHasArmCrc() { return (getauxval(AT_HWCAP) & HWCAP_CRC32) != 0; }
#endif

Impl Detect() {
  Impl best = Impl::kPortable;
#if defined(__x86_64__)
  if (CpuHasAvx512Vpclmul()) best = Impl::kAvx512;
  else if (CpuHasSse42()) best = Impl::kSse42;
#elif defined(__aarch64__)
  if (CpuHasArmCrc()) best = Impl::kArm;
#endif
  // PARALLEL_WAL_CRC32C_IMPL may force a slower (supported) implementation, never a faster one.
  const char* forced = std::getenv("PARALLEL_WAL_CRC32C_IMPL");
  if (forced != nullptr && *forced != '\0') {
    for (Impl candidate : {Impl::kPortable, Impl::kSse42, Impl::kAvx512, Impl::kArm}) {
      if (std::strcmp(forced, ImplName(candidate)) == 0 && ImplSupported(candidate)) {
        return candidate;
      }
    }
  }
  return best;
}

}  // namespace

const char* ImplName(Impl impl) {
  switch (impl) {
    case Impl::kPortable: return "portable";
    case Impl::kSse42: return "sse42";
    case Impl::kAvx512: return "avx512";
    case Impl::kArm: return "arm";
  }
  return "unknown";
}

namespace {
// CPUID traps to the hypervisor in a VM (tens of microseconds), so the answers are computed once.
struct Support {
  bool sse42 = false;
  bool avx512 = false;
  bool arm = false;
};
Support DetectSupport() {
  Support s;
#if defined(__x86_64__)
  s.sse42 = CpuHasSse42();
  s.avx512 = CpuHasAvx512Vpclmul();
#endif
#if defined(__aarch64__)
  s.arm = CpuHasArmCrc();
#endif
  return s;
}
const Support& CachedSupport() {
  static const Support support = DetectSupport();  // thread-safe one-time initialisation
  return support;
}
}  // namespace

bool ImplSupported(Impl impl) {
  const Support& s = CachedSupport();
  switch (impl) {
    case Impl::kPortable: return true;
    case Impl::kSse42: return s.sse42;
    case Impl::kAvx512: return s.avx512;
    case Impl::kArm: return s.arm;
  }
  return false;
}

Impl ActiveImpl() {
  // A function-local static is initialised exactly once, thread-safely.
  static const Impl active = Detect();
  return active;
}

uint32_t ExtendWith(Impl impl, uint32_t crc, const uint8_t* data, size_t n) {
  switch (impl) {
#if defined(__x86_64__)
    case Impl::kSse42: return ExtendSse42(crc, data, n);
    case Impl::kAvx512: return ExtendAvx512(crc, data, n);
#endif
#if defined(__aarch64__)
    case Impl::kArm: return ExtendArm(crc, data, n);
#endif
    default: return ExtendPortable(crc, data, n);
  }
}

uint32_t Extend(uint32_t crc, const uint8_t* data, size_t n) {
  static const Impl active = ActiveImpl();
  return ExtendWith(active, crc, data, n);
}

}  // namespace crc32c
}  // namespace pwal
