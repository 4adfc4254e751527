// The WAL's open options, from JS to the core's plain WalOptions struct (copied before any
// native work starts; nothing here is kept past the call).
#pragma once

#include <napi.h>

#include <string>

#include "../core/wal.h"

namespace pwal {

// Builds WalOptions from the open options object lib/options.ts validated, and re-checks what
// matters to memory safety and the enums (a direct call of the native constructor gets the same
// RangeErrors as the TypeScript layer). False with a JS exception pending on a bad value.
// options.__faultInjection (tests only) installs a FailingFileSystem that is never freed.
bool ParseWalOptions(Napi::Env env, Napi::Object o, WalOptions* out);

// The RangeError text for a bad fsyncPolicy (names from ParseFsyncPolicy, segment.h).
inline constexpr const char* kFsyncPolicyChoices = "must be 'full', 'normal' or 'off'";

}  // namespace pwal
