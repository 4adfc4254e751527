#include "wal_pin.h"

#include <atomic>
#include <mutex>

#if defined(__unix__) || defined(__APPLE__)
#include <dlfcn.h>
#endif

namespace pwal {

namespace {
std::once_flag pin_once;
std::atomic<bool> pinned{false};

void DoPin() {
#if defined(__unix__) || defined(__APPLE__)
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(&DoPin), &info) == 0 || info.dli_fname == nullptr) return;
  // RTLD_NOLOAD: only promote the already loaded object's flags; RTLD_NODELETE: never unmap.
  // The handle is deliberately never closed.
  void* handle = dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD | RTLD_NODELETE);
  if (handle == nullptr) {
    // Fall back to a plain extra reference, which also prevents the final dlclose.
    handle = dlopen(info.dli_fname, RTLD_LAZY);
  }
  pinned.store(handle != nullptr, std::memory_order_release);
#else
  pinned.store(true, std::memory_order_release);
#endif
}
}  // namespace

bool PinAddonInMemory() {
  std::call_once(pin_once, DoPin);
  return pinned.load(std::memory_order_acquire);
}

}  // namespace pwal
