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

}  // namespace pwal
