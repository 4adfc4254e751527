#include "wal_args.h"

#include <cmath>
#include <cstdio>

#include "errors.h"

namespace pwal {

std::string ArgPath::str() const {
  std::string s = prefix;
  if (index >= 0) s += "[" + std::to_string(index) + "]";
  if (field != nullptr) {
    s += ".";
    s += field;
  }
  return s;
}

namespace {

const char* TypeName(napi_valuetype t) {
  switch (t) {
    case napi_undefined: return "undefined";
    case napi_null: return "null";
    case napi_boolean: return "type boolean";
    case napi_number: return "type number";
    case napi_string: return "type string";
    case napi_symbol: return "type symbol";
    case napi_object: return "an object";
    case napi_function: return "a function";
    case napi_external: return "an external";
    case napi_bigint: return "type bigint";
  }
  return "an unknown value";
}

std::string NumberText(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", d);
  return buf;
}

bool IsInteger(double d) { return std::isfinite(d) && std::floor(d) == d; }

}  // namespace

bool NumberU64(napi_env env, double d, const ArgPath& path, bool nonzero, uint64_t* out) {
  if (!IsInteger(d) || d < (nonzero ? 1.0 : 0.0) || d > 9007199254740991.0) {
    SetArgRangeError(env, path.str(),
                     nonzero ? "a safe integer >= 1 (use a bigint beyond 2^53 - 1)"
                             : "a safe integer >= 0 (use a bigint beyond 2^53 - 1)",
                     NumberText(d));
    return false;
  }
  *out = static_cast<uint64_t>(d);
  return true;
}

bool NumberU32(napi_env env, double d, const ArgPath& path, bool nonzero, uint32_t* out) {
  if (!IsInteger(d) || d < (nonzero ? 1.0 : 0.0) || d > 4294967295.0) {
    SetArgRangeError(env, path.str(),
                     nonzero ? "an integer >= 1 and <= 4294967295" : "an integer >= 0 and <= 4294967295",
                     NumberText(d));
    return false;
  }
  *out = static_cast<uint32_t>(d);
  return true;
}

bool ArgU64(napi_env env, napi_value v, const ArgPath& path, bool nonzero, uint64_t* out) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t == napi_number) {
    double d;
    napi_get_value_double(env, v, &d);
    return NumberU64(env, d, path, nonzero, out);
  }
  if (t == napi_bigint) {
    bool lossless = false;
    uint64_t value = 0;
    napi_get_value_bigint_uint64(env, v, &value, &lossless);
    if (!lossless || (nonzero && value == 0)) {
      int64_t signed_value = 0;
      bool signed_lossless = false;
      napi_get_value_bigint_int64(env, v, &signed_value, &signed_lossless);
      std::string text = signed_lossless ? std::to_string(signed_value) + "n"
                                         : std::string(lossless ? "0n" : "a bigint outside u64");
      SetArgRangeError(env, path.str(),
                       nonzero ? ">= 1n and <= 2n ** 64n - 1n" : ">= 0n and <= 2n ** 64n - 1n", text);
      return false;
    }
    *out = value;
    return true;
  }
  SetArgTypeError(env, path.str(), "of type number or bigint", TypeName(t));
  return false;
}

bool ArgU32(napi_env env, napi_value v, const ArgPath& path, bool nonzero, bool allow_undefined,
            uint32_t dflt, uint32_t* out) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t == napi_undefined && allow_undefined) {
    *out = dflt;
    return true;
  }
  if (t != napi_number) {
    SetArgTypeError(env, path.str(), "of type number", TypeName(t));
    return false;
  }
  double d;
  napi_get_value_double(env, v, &d);
  return NumberU32(env, d, path, nonzero, out);
}

bool ArgBytes(napi_env env, napi_value v, const ArgPath& path, size_t max_bytes,
              const uint8_t** data, size_t* len) {
  napi_typedarray_type type;
  size_t element_count = 0;
  void* raw = nullptr;
  napi_value array_buffer;
  size_t byte_offset = 0;
  size_t length = 0;
  bool is_typed = false;
  napi_is_typedarray(env, v, &is_typed);
  if (is_typed) {
    napi_get_typedarray_info(env, v, &type, &element_count, &raw, &array_buffer, &byte_offset);
    size_t element_size = 1;
    switch (type) {
      case napi_int16_array: case napi_uint16_array: element_size = 2; break;
      case napi_int32_array: case napi_uint32_array: case napi_float32_array: element_size = 4; break;
      case napi_float64_array: case napi_bigint64_array: case napi_biguint64_array: element_size = 8; break;
      default: element_size = 1; break;
    }
    length = element_count * element_size;
  } else {
    bool is_dataview = false;
    napi_is_dataview(env, v, &is_dataview);
    if (!is_dataview) {
      napi_valuetype t;
      napi_typeof(env, v, &t);
      SetArgTypeError(env, path.str(), "a Buffer, TypedArray or DataView", TypeName(t));
      return false;
    }
    napi_get_dataview_info(env, v, &length, &raw, &array_buffer, &byte_offset);
  }
  if (length > max_bytes) {
    SetArgRangeError(env, path.str(), "at most " + std::to_string(max_bytes) + " bytes long",
                     std::to_string(length) + " bytes");
    return false;
  }
  *data = static_cast<const uint8_t*>(raw);
  *len = length;
  return true;
}

bool ArgTimeoutMs(napi_env env, napi_value v, const ArgPath& path, uint32_t* out) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t != napi_number) {
    SetArgTypeError(env, path.str(), "of type number", TypeName(t));
    return false;
  }
  double d;
  napi_get_value_double(env, v, &d);
  if (!(d >= 0)) {
    SetArgRangeError(env, path.str(), "a number >= 0", NumberText(d));
    return false;
  }
  *out = d >= 4294967295.0 ? 4294967295u : static_cast<uint32_t>(std::ceil(d));
  return true;
}

}  // namespace pwal
