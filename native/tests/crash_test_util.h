// Power loss at every I/O step of one operation, on the fault-injecting file system.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <string>

#include "fault_file_system.h"

namespace pwal {
namespace testing {

// Runs `op` once after `setup` to count its I/O steps (it must take at least `min_steps`); then,
// for every step k of it and once more right after it returned, and for seeds 0..3: a fresh file
// system, `setup`, a crash armed at step k, `op` (whether it returned true is `acked`), power loss
// tearing whatever was not synced with `tear` and the seed, and `check(fs, acked)`. `setup` and
// `op` must take the same steps every time (the fault FS is deterministic; so must they be).
inline void CrashAtEveryStep(FaultInjectingFileSystem::TearMode tear, uint64_t min_steps,
                             const std::function<void(FaultInjectingFileSystem*)>& setup,
                             const std::function<bool(FaultInjectingFileSystem*)>& op,
                             const std::function<void(FaultInjectingFileSystem*, bool)>& check) {
  uint64_t base, total;
  {
    FaultInjectingFileSystem fs;
    setup(&fs);
    if (::testing::Test::HasFatalFailure()) return;
    base = fs.steps();
    ASSERT_TRUE(op(&fs)) << "the dry run failed";
    total = fs.steps() - base;
    ASSERT_GE(total, min_steps);
  }
  // k = total + 1: the crash comes right after `op` returned.
  for (uint64_t k = 1; k <= total + 1; ++k) {
    for (uint64_t seed = 0; seed < 4; ++seed) {
      SCOPED_TRACE("crash at step " + std::to_string(k) + " of " + std::to_string(total) +
                   ", seed " + std::to_string(seed));
      FaultInjectingFileSystem fs;
      setup(&fs);
      if (::testing::Test::HasFatalFailure()) return;
      fs.CrashAtStep(base + k);
      const bool acked = op(&fs);
      EXPECT_EQ(acked, k > total);
      fs.PowerLoss(tear, seed);
      check(&fs, acked);
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
}

}  // namespace testing
}  // namespace pwal
