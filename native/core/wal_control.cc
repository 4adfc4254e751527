// The control-surface hooks of Wal (see wal_control.h for what each does and where the Wal
// calls it).
#include "wal_control.h"

#include <algorithm>
#include <chrono>
#include <mutex>

#include "segment.h"
#include "wal.h"
#include "wal_internal.h"

namespace pwal {

namespace {

std::mutex& ModeMu() {
  static auto* mu = new std::mutex();
  return *mu;
}

class TimingWritableFile : public WritableFileWrapper {
 public:
  TimingWritableFile(std::unique_ptr<WritableFile> base, TimingFileSystem* fs)
      : WritableFileWrapper(std::move(base)), fs_(fs) {}
  Status Sync(SyncMode mode) override {
    if (mode == SyncMode::kNone) return base_->Sync(mode);
    const int64_t t0 = wal_internal::NowNs();
    Status st = base_->Sync(mode);
    fs_->RecordSync(static_cast<uint64_t>(std::max<int64_t>(0, wal_internal::NowNs() - t0)));
    return st;
  }

 private:
  TimingFileSystem* fs_;
};

}  // namespace

const char* WalModeName(WalMode mode) {
  switch (mode) {
    case WalMode::kAuto: return "auto";
    case WalMode::kConservative: return "conservative";
    case WalMode::kShadowCompare: return "shadow_compare";
  }
  return "auto";
}

bool ParseWalMode(const std::string& name, WalMode* out) {
  if (name == "auto") *out = WalMode::kAuto;
  else if (name == "conservative") *out = WalMode::kConservative;
  else if (name == "shadow_compare") *out = WalMode::kShadowCompare;
  else return false;
  return true;
}

const char* FallbackReasonName(FallbackReason reason) {
  switch (reason) {
    case FallbackReason::kNone: return "none";
    case FallbackReason::kOperatorForced: return "operator_forced";
    case FallbackReason::kLaneOverflow: return "lane_overflow";
    case FallbackReason::kCertificateGap: return "certificate_gap";
    case FallbackReason::kCertificateChecksumMismatch: return "certificate_checksum_mismatch";
    case FallbackReason::kPublicationMismatch: return "publication_mismatch";
    case FallbackReason::kRecoveryGap: return "recovery_gap";
    case FallbackReason::kCheckpointConflict: return "checkpoint_conflict";
    case FallbackReason::kControllerEvidenceLost: return "controller_evidence_lost";
  }
  return "none";
}

bool ShouldShadowCompare(WalMode mode, int32_t per_mille, uint64_t batch_id) {
  switch (mode) {
    case WalMode::kConservative: return false;
    case WalMode::kShadowCompare: return true;
    case WalMode::kAuto: {
      if (per_mille <= 0) return false;
      const uint64_t rate = static_cast<uint64_t>(std::min<int32_t>(per_mille, 1000));
      const uint64_t index = batch_id > 0 ? batch_id - 1 : 0;
      return index % 1000 < rate;
    }
  }
  return false;
}

// ---- LatencyHistogram --------------------------------------------------------------------------

size_t LatencyHistogram::BucketOf(uint64_t ns) {
  if (ns < 4) return static_cast<size_t>(ns);
  const int msb = 63 - __builtin_clzll(ns);              // >= 2
  const uint64_t sub = (ns >> (msb - 2)) & 3;            // the two bits below the msb
  const size_t b = static_cast<size_t>(msb) * 4 + static_cast<size_t>(sub);
  return std::min(b, kBuckets - 1);
}

uint64_t LatencyHistogram::BucketUpper(size_t b) {
  if (b < 4) return b;
  const size_t msb = b / 4;
  const uint64_t sub = b % 4;
  if (msb >= 63) return UINT64_MAX;
  const uint64_t base = uint64_t{1} << msb;
  const uint64_t step = base >> 2;
  return base + (sub + 1) * step - 1;
}

void LatencyHistogram::Record(uint64_t ns) {
  buckets_[BucketOf(ns)].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  uint64_t m = max_.load(std::memory_order_relaxed);
  while (ns > m && !max_.compare_exchange_weak(m, ns, std::memory_order_relaxed)) {
  }
}

uint64_t LatencyHistogram::Quantile(double q) const {
  uint64_t total = 0;
  std::array<uint64_t, kBuckets> snap;
  for (size_t i = 0; i < kBuckets; ++i) {
    snap[i] = buckets_[i].load(std::memory_order_relaxed);
    total += snap[i];
  }
  if (total == 0) return 0;
  uint64_t rank = static_cast<uint64_t>(q * static_cast<double>(total) + 0.999999);
  rank = std::clamp<uint64_t>(rank, 1, total);
  uint64_t seen = 0;
  for (size_t i = 0; i < kBuckets; ++i) {
    seen += snap[i];
    if (seen >= rank) return std::min(BucketUpper(i), max());
  }
  return max();
}

// ---- TimingFileSystem ------------------------------------------------------------------------

namespace {
// A file the base opened (st OK) comes back wrapped so that its syncs are timed.
Status Timed(Status st, std::unique_ptr<WritableFile>* out, TimingFileSystem* fs) {
  if (st.ok()) *out = std::make_unique<TimingWritableFile>(std::move(*out), fs);
  return st;
}
}  // namespace

Status TimingFileSystem::NewWritableFile(const std::string& path,
                                         std::unique_ptr<WritableFile>* out) {
  return Timed(base_->NewWritableFile(path, out), out, this);
}

Status TimingFileSystem::NewUnnamedFile(const std::string& dir,
                                        std::unique_ptr<WritableFile>* out) {
  return Timed(base_->NewUnnamedFile(dir, out), out, this);
}

Status TimingFileSystem::ReopenForOverwrite(const std::string& path,
                                            std::unique_ptr<WritableFile>* out) {
  return Timed(base_->ReopenForOverwrite(path, out), out, this);
}

Status TimingFileSystem::SyncDir(const std::string& dir, SyncMode mode) {
  if (mode == SyncMode::kNone) return base_->SyncDir(dir, mode);
  const int64_t t0 = wal_internal::NowNs();
  Status st = base_->SyncDir(dir, mode);
  RecordSync(static_cast<uint64_t>(std::max<int64_t>(0, wal_internal::NowNs() - t0)));
  return st;
}

// ---- Wal control hooks -------------------------------------------------------------------------

namespace {
uint32_t RoutingLanes(const WalControlState& c, uint32_t configured) {
  const bool conservative =
      c.fallback.load(std::memory_order_relaxed) != 0 ||
      c.mode.load(std::memory_order_relaxed) == static_cast<uint8_t>(WalMode::kConservative);
  return conservative ? 1 : configured;
}
}  // namespace

void Wal::InitControl() {
  const WalControlOptions& o = options_.control;
  uint32_t lanes = o.lane_count;
  if (lanes == 0 || lanes > options_.slot_count) lanes = static_cast<uint32_t>(options_.slot_count);
  control_.mode.store(static_cast<uint8_t>(o.mode), std::memory_order_relaxed);
  control_.lane_count.store(lanes, std::memory_order_relaxed);
  control_.max_parallel_commit_bytes = o.max_parallel_commit_bytes;
  control_.shadow_per_mille = o.shadow_per_mille;
}

uint32_t Wal::EffectiveLaneCount() const {
  return RoutingLanes(control_, control_.lane_count.load(std::memory_order_relaxed));
}

WalMode Wal::Mode() const {
  return static_cast<WalMode>(control_.mode.load(std::memory_order_acquire));
}

FallbackReason Wal::ActiveFallback() const {
  return static_cast<FallbackReason>(control_.fallback.load(std::memory_order_acquire));
}

FallbackReason Wal::SetMode(WalMode mode) {
  std::lock_guard<std::mutex> g(ModeMu());
  const auto prev = static_cast<FallbackReason>(control_.fallback.load(std::memory_order_acquire));
  control_.mode.store(static_cast<uint8_t>(mode), std::memory_order_release);
  if (mode == WalMode::kConservative) {
    if (prev == FallbackReason::kNone) {
      control_.fallback.store(static_cast<uint8_t>(FallbackReason::kOperatorForced),
                              std::memory_order_release);
      control_.fallbacks[static_cast<size_t>(FallbackReason::kOperatorForced)].fetch_add(
          1, std::memory_order_relaxed);
    }
  } else {
    control_.fallback.store(0, std::memory_order_release);
  }
  return prev;
}

void Wal::EnterFallback(FallbackReason reason) {
  if (reason == FallbackReason::kNone) return;
  std::lock_guard<std::mutex> g(ModeMu());
  control_.fallbacks[static_cast<size_t>(reason)].fetch_add(1, std::memory_order_relaxed);
  uint8_t expected = 0;
  control_.fallback.compare_exchange_strong(expected, static_cast<uint8_t>(reason),
                                            std::memory_order_acq_rel);
}

void Wal::CountFallback(FallbackReason reason) {
  if (reason == FallbackReason::kNone) return;
  control_.fallbacks[static_cast<size_t>(reason)].fetch_add(1, std::memory_order_relaxed);
}

// Hot path: two relaxed loads when no batch limit is set.
size_t Wal::RouteSlot(size_t slot, const SubmitBatch& batch) {
  const uint64_t limit = control_.max_parallel_commit_bytes;
  if (limit != 0) {
    uint64_t bytes = uint64_t{kRecordOverheadBytes} * batch.frame_count;
    for (size_t i = 0; i < batch.frame_count; ++i) bytes += batch.frames[i].page_size;
    if (bytes > limit) {
      // The serialized path: lane 0, whatever the caller's slot.
      control_.overflow_batches.fetch_add(1, std::memory_order_relaxed);
      control_.fallbacks[static_cast<size_t>(FallbackReason::kLaneOverflow)].fetch_add(
          1, std::memory_order_relaxed);
      return 0;
    }
  }
  const uint32_t lanes = EffectiveLaneCount();
  return lanes >= options_.slot_count ? slot : slot % lanes;
}

void Wal::AnnotateEvent(const EpochBatch& batch, int64_t oldest_pending_ns, bool waiters,
                        DurableEvent* ev) {
  ev->mode = control_.mode.load(std::memory_order_acquire);
  ev->fallback_reason = control_.fallback.load(std::memory_order_acquire);
  ev->lane_count = EffectiveLaneCount();
  ev->waiters = waiters;
  if (oldest_pending_ns != 0) {
    ev->oldest_pending_ns = static_cast<uint64_t>(std::max<int64_t>(0, wal_internal::NowNs() - oldest_pending_ns));
  }
  ev->prev_write_ns = control_.last_write_ns;
  ev->overflow_batches = control_.overflow_batches.exchange(0, std::memory_order_relaxed);
  uint64_t contention = 0;
  const BufferPool& pool = coord_->pool();
  for (size_t i = 0; i < pool.size(); ++i) contention += pool.slot(i).contention();
  ev->contention_delta = contention - std::min(contention, control_.last_contention);
  control_.last_contention = contention;
  ev->lanes = static_cast<uint32_t>(batch.records_per_core.size());
  uint64_t bytes = 0;
  for (const WalRecord& r : batch.records) {
    bytes += r.AccountedBytes();
    if (!ev->has_seq) {
      ev->has_seq = true;
      ev->commit_seq_lo = ev->commit_seq_hi = r.begin_seq;
    } else {
      ev->commit_seq_lo = std::min(ev->commit_seq_lo, r.begin_seq);
      ev->commit_seq_hi = std::max(ev->commit_seq_hi, r.begin_seq);
    }
  }
  ev->batch_bytes = bytes;
}

ShadowVerdict Wal::ShadowCompareSegment(const EpochBatch& batch,
                                        const SegmentWriteOptions& options,
                                        const SegmentWriteResult& where) {
  // What was submitted, encoded exactly as the writer encodes it, against what the file holds.
  std::string actual;
  const bool read = fs_->ReadFile(where.path, &actual).ok();
  if (where.frame) {
    // A frame of a log file: exactly the frame's bytes at its slot (the zeros around it are
    // the log file's, checked by its reader).
    SegmentWriteOptions o = options;
    o.frame = true;
    std::string expected;
    if (!EncodeSegment(batch, o, &expected, nullptr).ok()) return ShadowVerdict::kNotRun;
    const bool same = read && where.offset <= actual.size() &&
                      actual.size() - where.offset >= expected.size() &&
                      actual.compare(where.offset, expected.size(), expected) == 0;
    (same ? control_.shadow_clean : control_.shadow_diverged).fetch_add(1, std::memory_order_relaxed);
    return same ? ShadowVerdict::kClean : ShadowVerdict::kDiverged;
  }
  // A segment published into a prepared file carries the padded flag and zero padding up to
  // the file's size: expect exactly that (every padding byte zero).
  SegmentWriteOptions o = options;
  SegmentHeader h;
  o.padded = read && DecodeSegmentHeader(reinterpret_cast<const uint8_t*>(actual.data()),
                                         actual.size(), &h).ok() &&
             (h.flags & kSegmentFlagPadded) != 0;
  std::string expected;
  if (!EncodeSegment(batch, o, &expected, nullptr).ok()) return ShadowVerdict::kNotRun;
  bool same = read && actual.size() >= expected.size() &&
              actual.compare(0, expected.size(), expected) == 0 &&
              (o.padded || actual.size() == expected.size());
  for (size_t k = expected.size(); same && k < actual.size(); ++k) same = actual[k] == '\0';
  if (same) {
    control_.shadow_clean.fetch_add(1, std::memory_order_relaxed);
    return ShadowVerdict::kClean;
  }
  control_.shadow_diverged.fetch_add(1, std::memory_order_relaxed);
  return ShadowVerdict::kDiverged;
}

Status Wal::PublishChecked(uint64_t epoch, const EpochBatch& batch,
                           const SegmentWriteOptions& options, const PreparedFile* prepared,
                           SegmentWriteResult* result, uint32_t* attempts, DurableEvent* ev) {
  SegmentWriteOptions wo = options;
  // The certificate records any fallback in force for this epoch.
  if (ev->fallback_reason != 0 || ev->overflow_batches > 0) wo.fallback_active = true;
  const uint64_t sync0 = timing_fs_->sync_ns_total();
  const int64_t t0 = wal_internal::NowNs();
  Status st = PublishWithRetries(batch, wo, prepared, result, attempts);
  const bool compare = st.ok() && ActiveFallback() == FallbackReason::kNone &&
                       ShouldShadowCompare(Mode(), control_.shadow_per_mille, epoch + 1);
  if (compare) {
    if (result->path.empty()) result->path = SegmentPath(db_path_, epoch);
    std::string path = result->path;
    const ShadowVerdict v = ShadowCompareSegment(batch, wo, *result);
    ev->shadow_verdict = static_cast<uint8_t>(v);
    if (v == ShadowVerdict::kDiverged) {
      // The file under the final name does not hold what was submitted: enter the fallback,
      // take the file away and write the epoch again from memory into a fresh file (the
      // epoch is not durable yet: nothing was acknowledged). A diverged frame cannot be taken
      // away (its log file holds acknowledged frames): the file is abandoned, and the file the
      // epoch is rewritten into supersedes the frame (recovery, docs/durability.md).
      EnterFallback(FallbackReason::kPublicationMismatch);
      Status del;
      if (result->frame) {
        CloseLogFile();
      } else {
        del = fs_->DeleteFile(path);
        if (del.ok()) del = fs_->SyncDir(DirName(path), SyncMode::kFull);
      }
      if (!del.ok()) {
        st = del.WithContext("removing the diverged segment of epoch " + std::to_string(epoch));
      } else {
        wo.fallback_active = true;
        uint32_t more = 0;
        st = PublishWithRetries(batch, wo, nullptr, result, &more);  // a new file
        *attempts += more;
        if (st.ok()) {
          if (result->path.empty()) result->path = SegmentPath(db_path_, epoch);
          if (ShadowCompareSegment(batch, wo, *result) != ShadowVerdict::kClean) {
            st = Status::Corruption("epoch " + std::to_string(epoch) +
                                    ": the rewritten segment still differs from what was "
                                    "submitted (shadow compare)");
          }
        }
      }
    }
  }
  ev->fsync_ns = timing_fs_->sync_ns_total() - sync0;
  control_.last_write_ns = static_cast<uint64_t>(std::max<int64_t>(0, wal_internal::NowNs() - t0));
  ev->fallback_reason = control_.fallback.load(std::memory_order_acquire);
  return st;
}

void Wal::FillControlStats(WalStats* s) const {
  s->mode = control_.mode.load(std::memory_order_acquire);
  s->fallback_reason = control_.fallback.load(std::memory_order_acquire);
  s->lane_count = EffectiveLaneCount();
  for (size_t i = 0; i < kFallbackReasonCount; ++i) {
    s->fallbacks[i] = control_.fallbacks[i].load(std::memory_order_relaxed);
  }
  // AllocateOverflow's latch is the seed's lane overflow too.
  s->fallbacks[static_cast<size_t>(FallbackReason::kLaneOverflow)] += s->fallback_entries;
  s->shadow_clean = control_.shadow_clean.load(std::memory_order_relaxed);
  s->shadow_diverged = control_.shadow_diverged.load(std::memory_order_relaxed);
  const LatencyHistogram& h = timing_fs_->fsync_latency();
  s->fsync_count = h.count();
  s->fsync_p50_ns = h.Quantile(0.5);
  s->fsync_p99_ns = h.Quantile(0.99);
  s->fsync_max_ns = h.max();
}

}  // namespace pwal
