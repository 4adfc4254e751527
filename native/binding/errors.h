// The one place that maps core Status codes to stable JS error codes.
// Callable only on the JS thread of `env`.
#pragma once

#include <napi.h>

#include "../core/status.h"

namespace pwal {

// Stable `code` strings seen by users: WAL_CORRUPTION, WAL_IO, WAL_LOCKED, WAL_TIMEOUT,
// WAL_BACKPRESSURE, WAL_CLOSED, ERR_INVALID_ARG_VALUE.
const char* JsErrorCode(Status::Code code);

// Builds an Error (TypeError/RangeError for bad arguments) with `code`, and `errno` when the OS
// gave one.
Napi::Error StatusToError(Napi::Env env, const Status& status);

// Throws a TypeError with code ERR_INVALID_ARG_TYPE naming the argument.
void ThrowArgType(Napi::Env env, const char* name, const char* expected);
// Throws a RangeError with code ERR_OUT_OF_RANGE naming the argument.
void ThrowArgRange(Napi::Env env, const char* name, const std::string& detail);

// Raw N-API variants for hot paths (no Napi::Env wrappers, no C++ exceptions): set a pending
// exception naming an argument path such as "batch.frames[2].pageNumber".
// code ERR_INVALID_ARG_TYPE, "The \"<path>\" argument must be <expected>. Received <what>"
void SetArgTypeError(napi_env env, const std::string& path, const char* expected,
                     const char* received);
// code ERR_OUT_OF_RANGE, "The value of \"<path>\" is out of range. It must be <expected>. ..."
void SetArgRangeError(napi_env env, const std::string& path, const std::string& expected,
                      const std::string& received);
// Sets `status` as the pending exception (same shape as StatusToError).
void SetStatusError(napi_env env, const Status& status);

}  // namespace pwal
