// The control surface of a Wal, in the core: operating mode, the conservative fallback and its
// reason, lane routing, shadow compare, fsync timing. Kept apart from wal.cc and wal_flusher.cc
// so the commit hot path and the flusher loop stay small; they call these hooks at fixed points:
//   Submit           -> Wal::RouteSlot (which lane a batch goes to)
//   FlushCycleLocked -> Wal::PublishChecked (publish, then shadow-compare the published file)
//                    -> Wal::AnnotateEvent (cheap per-epoch fields for trace/decision records)
//   Stats            -> Wal::FillControlStats
//
// Modes (the seed's ParallelWalOperatingMode): kAuto routes each thread to its own lane and
// shadow-compares the sampled epochs; kShadowCompare compares every epoch; kConservative uses
// one lane (slot 0: every producer serializes on it) and never compares. The FALLBACK is a
// conservative period entered for a reason (operator_forced by SetMode, publication_mismatch by
// a diverged shadow compare); while it is active the Wal behaves as kConservative whatever the
// configured mode. Batches larger than max_parallel_commit_bytes take lane 0 individually (a
// lane_overflow fallback per batch) without changing the mode.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "file_system.h"

namespace pwal {

enum class WalMode : uint8_t { kAuto = 0, kConservative = 1, kShadowCompare = 2 };

// Same order as the TypeScript ParallelWalFallbackReason (index + 1); kNone = no fallback.
enum class FallbackReason : uint8_t {
  kNone = 0,
  kOperatorForced,
  kLaneOverflow,
  kCertificateGap,
  kCertificateChecksumMismatch,
  kPublicationMismatch,
  kRecoveryGap,
  kCheckpointConflict,
  kControllerEvidenceLost,
};
constexpr size_t kFallbackReasonCount = 9;  // kNone included

enum class ShadowVerdict : uint8_t { kNotRun = 0, kClean = 1, kDiverged = 2 };

const char* WalModeName(WalMode mode);
const char* FallbackReasonName(FallbackReason reason);  // "none" for kNone
bool ParseWalMode(const std::string& name, WalMode* out);

struct WalControlOptions {
  WalMode mode = WalMode::kAuto;
  // Lanes producers are routed to: a thread's slot modulo this. 0 = the slot count.
  uint32_t lane_count = 0;
  // Batches with more accounted bytes (48 per frame + page bytes) take lane 0. 0 = no limit.
  uint64_t max_parallel_commit_bytes = 0;
  // In kAuto, epochs shadow-compared per thousand (by epoch + 1 as the batch id). -1 = unset.
  int32_t shadow_per_mille = -1;
};

// The seed's parallel_wal_should_shadow_compare.
bool ShouldShadowCompare(WalMode mode, int32_t per_mille, uint64_t batch_id);

// A fixed latency histogram: 4 sub-buckets per power of two of nanoseconds (<= 19% bucket
// width), lock-free recording, exact max. Any thread.
class LatencyHistogram {
 public:
  static constexpr size_t kBuckets = 64 * 4;
  void Record(uint64_t ns);
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  uint64_t max() const { return max_.load(std::memory_order_relaxed); }
  // Upper bound of the bucket holding the q-quantile (0 < q <= 1), capped at max(); 0 if empty.
  uint64_t Quantile(double q) const;

 private:
  static size_t BucketOf(uint64_t ns);
  static uint64_t BucketUpper(size_t b);
  std::array<std::atomic<uint64_t>, kBuckets> buckets_{};
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> max_{0};
};

// A FileSystem decorator that times every file fsync/fdatasync and directory sync (the
// durability cost of a publish) into a histogram and a running total. Thread-safe.
class TimingFileSystem : public FileSystemWrapper {
 public:
  explicit TimingFileSystem(FileSystem* base) : FileSystemWrapper(base) {}
  const LatencyHistogram& fsync_latency() const { return hist_; }
  uint64_t sync_ns_total() const { return total_ns_.load(std::memory_order_relaxed); }
  void RecordSync(uint64_t ns) {
    hist_.Record(ns);
    total_ns_.fetch_add(ns, std::memory_order_relaxed);
  }

  // Files it hands out time their syncs; everything else is forwarded as is.
  Status NewWritableFile(const std::string& path, std::unique_ptr<WritableFile>* out) override;
  Status ReopenForOverwrite(const std::string& path, std::unique_ptr<WritableFile>* out) override;
  Status NewUnnamedFile(const std::string& dir, std::unique_ptr<WritableFile>* out) override;
  Status SyncDir(const std::string& dir, SyncMode mode) override;

 private:
  LatencyHistogram hist_;
  std::atomic<uint64_t> total_ns_{0};
};

// Mutable control state of one Wal (all atomics: read on the commit path without locks).
struct WalControlState {
  std::atomic<uint8_t> mode{0};                 // WalMode configured
  std::atomic<uint8_t> fallback{0};             // FallbackReason active (kNone: none)
  std::atomic<uint32_t> lane_count{1};          // routing lanes (1..slot count)
  uint64_t max_parallel_commit_bytes = 0;       // immutable after open
  int32_t shadow_per_mille = -1;                // immutable after open
  std::array<std::atomic<uint64_t>, kFallbackReasonCount> fallbacks{};  // entries by reason
  std::atomic<uint64_t> overflow_batches{0};    // lane_overflow batches since the last seal
  std::atomic<uint64_t> shadow_clean{0};
  std::atomic<uint64_t> shadow_diverged{0};
  // Flusher-side (guarded by the flush gate).
  uint64_t last_contention = 0;
  uint64_t last_write_ns = 0;
  uint64_t last_pool_fallbacks = 0;
};

}  // namespace pwal
