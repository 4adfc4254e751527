#include "control_binding.h"

#include <memory>

#include "../core/file_system.h"
#include "../core/wal.h"
#include "../core/wal_registry.h"
#include "errors.h"

namespace pwal {

namespace {

Napi::Value ThreadSlotJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber()) {
    ThrowArgType(env, "count", "of type number");
    return env.Undefined();
  }
  const double count = info[0].As<Napi::Number>().DoubleValue();
  if (!(count >= 1) || count > 65535 || count != static_cast<double>(static_cast<uint32_t>(count))) {
    ThrowArgRange(env, "count", "must be an integer >= 1 and <= 65535");
    return env.Undefined();
  }
  return Napi::Number::New(env, static_cast<double>(ThreadSlot(static_cast<size_t>(count))));
}

Napi::Value ResetThreadSlotCounterJs(const Napi::CallbackInfo& info) {
  ResetThreadSlotCounterForTesting();
  return info.Env().Undefined();
}

}  // namespace

void RegisterControl(Napi::Env env, Napi::Object exports) {
  exports.Set("threadSlot", Napi::Function::New(env, ThreadSlotJs, "threadSlot"));
  exports.Set("__resetThreadSlotCounterForTesting",
              Napi::Function::New(env, ResetThreadSlotCounterJs, "__resetThreadSlotCounterForTesting"));
}

bool ParseControlOptions(Napi::Env env, Napi::Object o, WalControlOptions* out) {
  Napi::Value mode = o.Get("mode");
  if (mode.IsString()) {
    if (!ParseWalMode(mode.As<Napi::String>().Utf8Value(), &out->mode)) {
      ThrowArgRange(env, "options.control.mode", "must be 'auto', 'conservative' or 'shadow_compare'");
      return false;
    }
  }
  Napi::Value lanes = o.Get("laneCount");
  if (lanes.IsNumber()) out->lane_count = lanes.As<Napi::Number>().Uint32Value();
  Napi::Value max_bytes = o.Get("maxParallelCommitBytes");
  if (max_bytes.IsNumber()) {
    const double v = max_bytes.As<Napi::Number>().DoubleValue();
    out->max_parallel_commit_bytes = v > 0 ? static_cast<uint64_t>(v) : 0;
  }
  Napi::Value per_mille = o.Get("shadowPerMille");
  if (per_mille.IsNumber()) out->shadow_per_mille = per_mille.As<Napi::Number>().Int32Value();
  return true;
}

std::string DbPathOfSegment(const std::string& segment_path) {
  static const std::string kInfix = "-wal-seg-";
  if (segment_path.size() < kInfix.size() + 16) return "";
  const size_t at = segment_path.size() - 16 - kInfix.size();
  if (segment_path.compare(at, kInfix.size(), kInfix) != 0) return "";
  return segment_path.substr(0, at);
}

Status CheckNoOpenWal(const std::string& db_path, const char* what) {
  if (db_path.empty()) return Status::OK();
  if (std::shared_ptr<Wal> wal = FindWal(db_path)) {
    if (!wal->IsClosed()) {
      wal->CountFallback(FallbackReason::kCheckpointConflict);
      return Status::CheckpointConflict(
          std::string(what) + ": the WAL of " + wal->db_path() +
          " is open in this process; its next segment's certificate links to the segments on "
          "disk (close it first)");
    }
  }
  const std::string canonical = CanonicalWalPath(db_path);
  bool exists = false;
  FileSystem* fs = FileSystem::Default();
  if (!fs->FileExists(canonical + "-wal.lock", &exists).ok() || !exists) return Status::OK();
  std::unique_ptr<FileLock> lock;
  Status st = fs->LockFile(canonical + "-wal.lock", &lock);
  if (st.code() == Status::Code::kLocked) {
    return Status::CheckpointConflict(std::string(what) + ": the WAL of " + canonical +
                                      " is open in another process (its lock is held)");
  }
  return Status::OK();  // the probe lock is released here
}

}  // namespace pwal
