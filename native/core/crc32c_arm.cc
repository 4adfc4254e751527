// ARMv8 CRC32C (crc32cx / crc32cb); compiled only on aarch64.
#include "crc32c.h"

#if defined(__aarch64__)
#include <arm_acle.h>
#include <cstring>

namespace pwal {
namespace crc32c {

__attribute__((target("+crc"))) uint32_t ExtendArm(uint32_t crc, const uint8_t* data, size_t n) {
  uint32_t c = ~crc;
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, data, 8);
    c = __crc32cd(c, v);
    data += 8;
    n -= 8;
  }
  while (n > 0) {
    c = __crc32cb(c, *data++);
    --n;
  }
  return ~c;
}

}  // namespace crc32c
}  // namespace pwal
#endif
