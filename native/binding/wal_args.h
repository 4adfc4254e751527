// Argument conversion for the WAL binding's hot path: raw N-API, no C++ exceptions, and on
// failure a pending TypeError/RangeError whose message names the argument path
// ("batch.frames[2].pageNumber") and the value received. JS thread only.
#pragma once

#include <node_api.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace pwal {

// A lazily formatted argument path: prefix[index].field, prefix.field, or prefix.
struct ArgPath {
  const char* prefix;
  long index = -1;            // -1: no [index]
  const char* field = nullptr;
  std::string str() const;
};

// The number checks of ArgU64 / ArgU32, for a value already read as a double (the hot path
// reads the fields of a one-frame commit from a scratch Float64Array).
bool NumberU64(napi_env env, double d, const ArgPath& path, bool nonzero, uint64_t* out);
bool NumberU32(napi_env env, double d, const ArgPath& path, bool nonzero, uint32_t* out);
// u64 from a number (a safe integer) or a bigint (lossless). `nonzero` rejects 0.
bool ArgU64(napi_env env, napi_value v, const ArgPath& path, bool nonzero, uint64_t* out);
// u32 from a number; undefined gives `dflt` when allow_undefined.
bool ArgU32(napi_env env, napi_value v, const ArgPath& path, bool nonzero, bool allow_undefined,
            uint32_t dflt, uint32_t* out);
// Bytes of an ArrayBufferView (Buffer, any TypedArray, DataView), at most max_bytes.
bool ArgBytes(napi_env env, napi_value v, const ArgPath& path, size_t max_bytes,
              const uint8_t** data, size_t* len);
// A finite number >= 0 (milliseconds), clamped to u32.
bool ArgTimeoutMs(napi_env env, napi_value v, const ArgPath& path, uint32_t* out);

// Numbers returned to JS: epochs stay below 2^53 (checked at open).
constexpr uint64_t kMaxSafeInteger = (uint64_t{1} << 53) - 1;

}  // namespace pwal
