// WalEventChannel: delivers the core's per-epoch DurableEvents to one JS environment.
//
// One channel per NativeWal handle (so per environment and per WAL). It owns one N-API
// thread-safe function (TSFN). The core calls OnDurableEvent on the flusher thread once per
// epoch transition; the channel coalesces: it keeps the newest durable epoch (and a sticky
// failure / closed flag) and has at most one TSFN call queued, so a burst of epochs costs one
// JS callback. Nothing is posted while no JS promise waits (except failure and close), and the
// TSFN is unref'd then, so an idle WAL never keeps the event loop alive.
//
// THREADS: OnDurableEvent from any thread. Everything else on the env's JS thread.
// LIFETIME: the TSFN context holds a shared_ptr to the channel until the TSFN is finalized;
// posting happens under mu_ and stops as soon as Shutdown() or the TSFN finalizer ran, so the
// flusher never touches a TSFN that node has freed (env teardown frees it right after its
// finalizer).
#pragma once

#include <node_api.h>

#include <array>
#include <cstdint>
#include <functional>
#include <vector>
#include <memory>
#include <mutex>
#include <string>

#include "../core/wal.h"

namespace pwal {

// Event kinds passed to the JS callback (kind, epoch, code?, message?, errno?).
enum WalEventKind : int { kEventDurable = 0, kEventFailed = 1, kEventClosed = 2, kEventTrace = 3 };

// One epoch's trace fields, packed as doubles (u64 commit seqs bit-copied: read them through a
// BigUint64Array over the same buffer). Layout shared with lib/trace.ts (TRACE_FIELDS).
constexpr size_t kTraceFields = 24;
using TraceItem = std::array<double, kTraceFields>;
TraceItem PackTraceItem(const DurableEvent& ev);

class WalEventChannel : public std::enable_shared_from_this<WalEventChannel> {
 public:
  // Creates the TSFN (initially unref'd) that calls `callback` on env's JS thread.
  // Returns nullptr with a pending JS exception on failure.
  static std::shared_ptr<WalEventChannel> Create(napi_env env, napi_value callback);

  WalEventChannel() = default;
  WalEventChannel(const WalEventChannel&) = delete;
  WalEventChannel& operator=(const WalEventChannel&) = delete;

  // The core listener body. Any thread; quick; never blocks on JS. True when it told JS of a
  // newer durable epoch that a promise waits for (JS will run a turn resolving commits).
  bool OnDurableEvent(const DurableEvent& ev);

  // JS thread. waiting=true: ref the TSFN and post durable events; false: unref, stop posting
  // durable events (failure and close are still posted).
  void SetWaiting(napi_env env, bool waiting);

  // JS thread; idempotent. Stops posting and releases the TSFN (its finalizer runs later on
  // this thread, or at env teardown).
  void Shutdown();

  // JS thread. Tracing on: every epoch event is also queued (up to `capacity` items; beyond
  // that items are dropped and counted, and `on_lost` is called once per overflow episode)
  // and delivered as kEventTrace batches. Off: nothing is queued (the default).
  void SetTracing(bool on, size_t capacity, std::function<void()> on_lost);

  // Sticky failure seen by this channel (JS thread or any).
  bool failure(uint64_t* epoch, std::string* code, std::string* message, int* err) const;

 private:
  static void CallJs(napi_env env, napi_value js_cb, void* context, void* data);
  static void Finalize(napi_env env, void* finalize_data, void* finalize_hint);
  void PostLocked();  // mu_ held

  mutable std::mutex mu_;
  napi_threadsafe_function tsfn_ = nullptr;  // guarded by mu_; null once finalized
  bool open_ = true;               // guarded by mu_: posting allowed
  bool waiting_ = false;           // guarded by mu_
  bool call_pending_ = false;      // guarded by mu_: one TSFN call queued
  int64_t durable_ = -1;           // guarded by mu_: newest durable epoch seen (-1 none)
  int64_t delivered_durable_ = -1; // guarded by mu_
  bool failed_ = false;            // guarded by mu_
  bool failure_delivered_ = false; // guarded by mu_
  uint64_t failed_epoch_ = 0;
  std::string failed_code_;
  std::string failed_message_;
  int failed_errno_ = 0;
  bool closed_ = false;            // guarded by mu_
  bool closed_delivered_ = false;  // guarded by mu_
  bool tracing_ = false;           // guarded by mu_
  size_t trace_capacity_ = 4096;   // guarded by mu_
  std::vector<TraceItem> trace_;   // guarded by mu_
  uint64_t trace_dropped_ = 0;     // guarded by mu_
  std::function<void()> on_lost_;  // guarded by mu_
};

}  // namespace pwal
