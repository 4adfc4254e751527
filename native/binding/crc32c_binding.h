// JS entry points for CRC32C: crc32c(data, initial), crc32cWith(impl, data, initial),
// crc32cImplementation(), crc32cImplementations(). Stateless; any thread's env.
#pragma once

#include <napi.h>

namespace pwal {
void RegisterCrc32c(Napi::Env env, Napi::Object exports);
}
