// Segment files for JS: write/read/list/delete/recover/cleanup, each as a promise-returning
// function (Napi::AsyncWorker, Execute() never touches N-API) and a `...Sync` twin.
#pragma once

#include <napi.h>

namespace pwal {

void RegisterSegments(Napi::Env env, Napi::Object exports);

}  // namespace pwal
