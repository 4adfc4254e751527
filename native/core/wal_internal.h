// Helpers shared by the Wal's implementation files (wal*.cc). Internal: not part of the core's
// interface, not included by its users.
#pragma once

#include <chrono>
#include <cstdint>

namespace pwal {
namespace wal_internal {

using Clock = std::chrono::steady_clock;

// The steady clock in nanoseconds: what the Wal's timestamps (first pending record, write and
// sync latencies, fill windows) are measured in.
inline int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

}  // namespace wal_internal
}  // namespace pwal
