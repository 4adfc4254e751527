// Helpers shared by the WAL tests.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "wal.h"

namespace pwal {
namespace testing {

// Options for a WAL whose flusher is not started (tests drive epochs by hand), fsync off.
inline WalOptions Stopped(size_t slots = 1) {
  WalOptions o;
  o.slot_count = slots;
  o.start_flusher = false;
  o.fsync = FsyncPolicy::kOff;
  return o;
}

// Opens a WAL, failing the current test (not aborting it) if that does not work.
inline std::shared_ptr<Wal> MustOpen(const std::string& path, const WalOptions& o) {
  std::shared_ptr<Wal> wal;
  Status st = Wal::Open(path, o, &wal);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return wal;
}

}  // namespace testing
}  // namespace pwal
