// PLACEHOLDER until the accelerated implementation lands: delegates to the portable one.
#include "crc32c.h"
namespace pwal { namespace crc32c {
#if defined(__x86_64__)
uint32_t ExtendSse42(uint32_t crc, const uint8_t* data, size_t n) { return ExtendPortable(crc, data, n); }
#endif
} }
