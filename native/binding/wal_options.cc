// See wal_options.h.
#include "wal_options.h"

#include <algorithm>
#include <initializer_list>
#include <utility>

#include "../core/failing_file_system.h"
#include "../core/log_file.h"
#include "control_binding.h"
#include "errors.h"

namespace pwal {
namespace {

uint32_t U32Prop(Napi::Object o, const char* key, uint32_t dflt) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().Uint32Value() : dflt;
}

std::string StrProp(Napi::Object o, const char* key, const char* dflt) {
  Napi::Value v = o.Get(key);
  return v.IsString() ? v.As<Napi::String>().Utf8Value() : std::string(dflt);
}


// Reads the string option `key` (absent: `dflt`) as one of `choices`; anything else throws a
// RangeError naming options.<key> and listing the choices ("must be 'a', 'b' or 'c'").
template <typename E>
bool EnumProp(Napi::Env env, Napi::Object o, const char* key, const char* dflt,
              std::initializer_list<std::pair<const char*, E>> choices, E* out) {
  const std::string value = StrProp(o, key, dflt);
  std::string expected = "must be ";
  size_t i = 0;
  for (const auto& [name, e] : choices) {
    if (value == name) {
      *out = e;
      return true;
    }
    expected += std::string(i == 0 ? "" : i + 1 == choices.size() ? " or " : ", ") + "'" + name + "'";
    ++i;
  }
  ThrowArgRange(env, (std::string("options.") + key).c_str(), expected);
  return false;
}

}  // namespace

bool ParseWalOptions(Napi::Env env, Napi::Object o, WalOptions* out) {
  out->slot_count = U32Prop(o, "slotCount", kDefaultSlotCount);
  out->buffer_capacity_bytes = U32Prop(o, "bufferCapacityBytes", kDefaultBufferCapacity);
  if (!EnumProp(env, o, "overflowPolicy", "block_writer",
                {{"block_writer", OverflowPolicy::kBlockWriter},
                 {"allocate_overflow", OverflowPolicy::kAllocateOverflow}},
                &out->overflow)) {
    return false;
  }
  out->epoch_interval_ms = U32Prop(o, "epochIntervalMs", 10);
  if (!EnumProp(env, o, "flushPolicy", "adaptive",
                {{"adaptive", FlushPolicy::kAdaptive}, {"ticker", FlushPolicy::kTicker}},
                &out->policy)) {
    return false;
  }
  out->max_flush_delay_ms = U32Prop(o, "maxFlushDelayMs", 10);
  if (!ParseFsyncPolicy(StrProp(o, "fsyncPolicy", "full"), &out->fsync)) {
    ThrowArgRange(env, "options.fsyncPolicy", kFsyncPolicyChoices);
    return false;
  }
  out->format_version = static_cast<uint16_t>(U32Prop(o, "formatVersion", kSegmentFormatV2));
  // Validated in TypeScript (0..10000 µs); clamped here too, a hold must stay short.
  out->turn_hold_ns = int64_t{std::min<uint32_t>(U32Prop(o, "turnHoldUs", 250), 10000)} * 1000;
  Napi::Value prepared = o.Get("preparedSegments");
  out->prepare = prepared.IsBoolean() && !prepared.As<Napi::Boolean>().Value() ? PrepareMode::kOff
                                                                               : PrepareMode::kAuto;
  Napi::Value log_bytes = o.Get("logFileBytes");
  if (log_bytes.IsNumber()) {
    const double v = log_bytes.As<Napi::Number>().DoubleValue();
    // The TypeScript layer validated it; still never trust the caller.
    if (!(v >= 0 && v <= static_cast<double>(kMaxLogFileBytes)) ||
        static_cast<uint64_t>(v) % kLogFrameAlign != 0) {
      ThrowArgRange(env, "options.logFileBytes", "must be a multiple of 4096, at most 256 MiB");
      return false;
    }
    out->log_file_bytes = static_cast<uint64_t>(v);
  }
  if (!EnumProp(env, o, "logFileFill", "auto",
                {{"auto", LogFill::kAuto}, {"always", LogFill::kAlways}, {"never", LogFill::kNever}},
                &out->log_fill)) {
    return false;
  }
  Napi::Value start = o.Get("startFlusher");
  out->start_flusher = start.IsBoolean() ? start.As<Napi::Boolean>().Value() : false;
  Napi::Value control = o.Get("control");
  if (control.IsObject() && !ParseControlOptions(env, control.As<Napi::Object>(), &out->control)) {
    return false;
  }
  Napi::Value fi = o.Get("faultInjection");
  if (fi.IsObject()) {
    // Test-only: a FailingFileSystem over the default one. It must outlive the Wal, which the
    // registry may share beyond this handle, so it is intentionally never freed (tests only).
    Napi::Object f = fi.As<Napi::Object>();
    FailSpec spec;
    if (!ParseFailOp(StrProp(f, "op", ""), &spec.op)) {
      ThrowArgRange(env, "options.__faultInjection.op", "must be one of open, write, sync, rename, dirsync, close, corrupt, delete");
      return false;
    }
    spec.nth = uint64_t{U32Prop(f, "after", 0)} + 1;
    Napi::Value p = f.Get("persistent");
    spec.persistent = p.IsBoolean() && p.As<Napi::Boolean>().Value();
    spec.err = StrProp(f, "errno", "EIO") == "ENOSPC" ? 28 : 5;
    auto* failing = new FailingFileSystem(FileSystem::Default());
    failing->Arm(spec);
    out->fs = failing;
  }
  return true;
}

}  // namespace pwal
