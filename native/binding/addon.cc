// The addon's export list. Each concept registers its own functions; per-environment state
// (worker_threads) lives in instance data, never in statics.
#include <napi.h>

#include "control_binding.h"
#include "crc32c_binding.h"
#include "segment_binding.h"
#include "wal_binding.h"

namespace pwal {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  RegisterCrc32c(env, exports);
  RegisterSegments(env, exports);
  RegisterWal(env, exports);
  RegisterControl(env, exports);
  return exports;
}

}  // namespace pwal

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) {
  return pwal::Init(env, exports);
}

NODE_API_MODULE(parallel_wal, InitAddon)
