// Portable CRC32C: slicing-by-8 over tables built at compile time.
#include <array>
#include <cstring>

#include "crc32c.h"

namespace pwal {
namespace crc32c {
namespace {

constexpr uint32_t kPoly = 0x82F63B78u;

struct Tables {
  uint32_t t[8][256];
};

constexpr Tables MakeTables() {
  Tables tables{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ ((c & 1u) ? kPoly : 0u);
    tables.t[0][i] = c;
  }
  for (uint32_t i = 0; i < 256; ++i) {
    for (int s = 1; s < 8; ++s) {
      uint32_t prev = tables.t[s - 1][i];
      tables.t[s][i] = (prev >> 8) ^ tables.t[0][prev & 0xFFu];
    }
  }
  return tables;
}

constexpr Tables kTables = MakeTables();

inline uint32_t LoadLe32(const uint8_t* p) {
  return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
}

}  // namespace

uint32_t ExtendPortable(uint32_t crc, const uint8_t* data, size_t n) {
  const auto& t = kTables.t;
  uint32_t c = ~crc;
  // Align to 8 bytes so the 8-byte loop reads aligned words on strict platforms.
  while (n > 0 && (reinterpret_cast<uintptr_t>(data) & 7) != 0) {
    c = t[0][(c ^ *data++) & 0xFFu] ^ (c >> 8);
    --n;
  }
  while (n >= 8) {
    uint32_t lo = LoadLe32(data) ^ c;
    uint32_t hi = LoadLe32(data + 4);
    c = t[7][lo & 0xFF] ^ t[6][(lo >> 8) & 0xFF] ^ t[5][(lo >> 16) & 0xFF] ^ t[4][lo >> 24] ^
        t[3][hi & 0xFF] ^ t[2][(hi >> 8) & 0xFF] ^ t[1][(hi >> 16) & 0xFF] ^ t[0][hi >> 24];
    data += 8;
    n -= 8;
  }
  while (n > 0) {
    c = t[0][(c ^ *data++) & 0xFFu] ^ (c >> 8);
    --n;
  }
  return ~c;
}

}  // namespace crc32c
}  // namespace pwal
