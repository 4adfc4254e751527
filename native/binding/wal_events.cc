#include "wal_events.h"

#include <algorithm>
#include <cstring>

#include "errors.h"

namespace pwal {

std::shared_ptr<WalEventChannel> WalEventChannel::Create(napi_env env, napi_value callback) {
  auto channel = std::make_shared<WalEventChannel>();
  // The context keeps the channel alive until the TSFN is finalized.
  auto* holder = new std::shared_ptr<WalEventChannel>(channel);
  napi_value name;
  napi_create_string_utf8(env, "parallel-wal:durable", NAPI_AUTO_LENGTH, &name);
  napi_threadsafe_function tsfn = nullptr;
  // max_queue_size 0 (unbounded): posting never blocks the flusher; coalescing keeps the queue
  // at one item anyway.
  napi_status st = napi_create_threadsafe_function(env, callback, nullptr, name, 0, 1, holder,
                                                   &WalEventChannel::Finalize, holder,
                                                   &WalEventChannel::CallJs, &tsfn);
  if (st != napi_ok) {
    delete holder;
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (!pending) napi_throw_error(env, "WAL_IO", "cannot create the WAL event channel");
    return nullptr;
  }
  napi_unref_threadsafe_function(env, tsfn);
  std::lock_guard<std::mutex> lock(channel->mu_);
  channel->tsfn_ = tsfn;
  return channel;
}

TraceItem PackTraceItem(const DurableEvent& ev) {
  TraceItem t{};
  t[0] = static_cast<double>(ev.epoch);
  t[1] = ev.durable_epoch ? static_cast<double>(*ev.durable_epoch) : -1.0;
  t[2] = static_cast<double>(static_cast<int>(ev.trigger));
  t[3] = static_cast<double>(ev.records);
  t[4] = static_cast<double>(ev.bytes_written);
  t[5] = static_cast<double>(ev.attempts);
  t[6] = static_cast<double>(ev.write_ns);
  t[7] = static_cast<double>(ev.fsync_ns);
  t[8] = static_cast<double>(ev.batch_bytes);
  t[9] = static_cast<double>(ev.oldest_pending_ns);
  t[10] = ev.waiters ? 1 : 0;
  t[11] = static_cast<double>(ev.prev_write_ns);
  t[12] = ev.shadow_verdict;
  t[13] = ev.fallback_reason;
  t[14] = ev.mode;
  t[15] = ev.lanes;
  t[16] = static_cast<double>(ev.overflow_batches);
  t[17] = ev.failed ? 1 : 0;
  t[18] = static_cast<double>(ev.contention_delta);
  t[19] = ev.fallback_active ? 1 : 0;
  t[20] = ev.lane_count;
  t[21] = ev.has_seq ? 1 : 0;
  std::memcpy(&t[22], &ev.commit_seq_lo, 8);
  std::memcpy(&t[23], &ev.commit_seq_hi, 8);
  return t;
}

void WalEventChannel::SetTracing(bool on, size_t capacity, std::function<void()> on_lost) {
  std::lock_guard<std::mutex> lock(mu_);
  tracing_ = on;
  trace_capacity_ = capacity == 0 ? 1 : capacity;
  on_lost_ = std::move(on_lost);
  if (!on) trace_.clear();
}

bool WalEventChannel::OnDurableEvent(const DurableEvent& ev) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!open_ || tsfn_ == nullptr) return false;
  bool trace_news = false;
  if (tracing_ && !ev.closed && !ev.resend) {
    if (trace_.size() < trace_capacity_) {
      trace_.push_back(PackTraceItem(ev));
    } else {
      if (trace_dropped_ == 0 && on_lost_) on_lost_();
      ++trace_dropped_;
    }
    trace_news = true;
  }
  if (ev.durable_epoch.has_value()) {
    durable_ = std::max<int64_t>(durable_, static_cast<int64_t>(*ev.durable_epoch));
  }
  if ((ev.failed || ev.fatal) && !failed_) {
    failed_ = true;
    failed_epoch_ = ev.fatal ? ev.failed_epoch : ev.epoch;
    failed_code_ = JsErrorCode(ev.error.ok() ? Status::Code::kIoError : ev.error.code());
    failed_message_ = ev.error.ok() ? "flush failed" : ev.error.message();
    failed_errno_ = ev.error.sys_errno();
  }
  if (ev.closed) closed_ = true;
  const bool durable_news = waiting_ && durable_ > delivered_durable_;
  const bool failure_news = failed_ && !failure_delivered_;
  const bool closed_news = closed_ && !closed_delivered_;
  if (durable_news || failure_news || closed_news || trace_news) PostLocked();
  return durable_news && !failed_ && !closed_;
}

void WalEventChannel::PostLocked() {
  if (call_pending_ || !open_ || tsfn_ == nullptr) return;
  if (napi_call_threadsafe_function(tsfn_, nullptr, napi_tsfn_nonblocking) == napi_ok) {
    call_pending_ = true;
  }
}

void WalEventChannel::SetWaiting(napi_env env, bool waiting) {
  std::lock_guard<std::mutex> lock(mu_);
  if (tsfn_ == nullptr || !open_) return;
  if (waiting == waiting_) return;
  waiting_ = waiting;
  if (waiting) {
    napi_ref_threadsafe_function(env, tsfn_);
  } else {
    napi_unref_threadsafe_function(env, tsfn_);
  }
}

void WalEventChannel::Shutdown() {
  napi_threadsafe_function tsfn = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!open_) return;
    open_ = false;
    tsfn = tsfn_;
  }
  // Not under mu_: releasing may run nothing synchronously, but keep lock order trivial.
  if (tsfn != nullptr) napi_release_threadsafe_function(tsfn, napi_tsfn_release);
}

bool WalEventChannel::failure(uint64_t* epoch, std::string* code, std::string* message,
                              int* err) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!failed_) return false;
  *epoch = failed_epoch_;
  *code = failed_code_;
  *message = failed_message_;
  *err = failed_errno_;
  return true;
}

void WalEventChannel::CallJs(napi_env env, napi_value js_cb, void* context, void* /*data*/) {
  // At teardown node drains the queue with env == nullptr: nothing to free (data is null).
  if (env == nullptr || js_cb == nullptr || context == nullptr) return;
  WalEventChannel* self = static_cast<std::shared_ptr<WalEventChannel>*>(context)->get();
  int64_t durable;
  bool send_durable, send_failure, send_closed;
  uint64_t failed_epoch = 0;
  std::string code, message;
  int err = 0;
  std::vector<TraceItem> trace;
  uint64_t dropped = 0;
  {
    std::lock_guard<std::mutex> lock(self->mu_);
    self->call_pending_ = false;
    trace.swap(self->trace_);
    dropped = self->trace_dropped_;
    self->trace_dropped_ = 0;
    durable = self->durable_;
    send_durable = durable > self->delivered_durable_;
    if (send_durable) self->delivered_durable_ = durable;
    send_failure = self->failed_ && !self->failure_delivered_;
    if (send_failure) {
      self->failure_delivered_ = true;
      failed_epoch = self->failed_epoch_;
      code = self->failed_code_;
      message = self->failed_message_;
      err = self->failed_errno_;
    }
    send_closed = self->closed_ && !self->closed_delivered_;
    if (send_closed) self->closed_delivered_ = true;
  }
  napi_value undefined;
  napi_get_undefined(env, &undefined);
  auto call = [&](int kind, double epoch, bool with_cause) {
    napi_value argv[5];
    size_t argc = 2;
    napi_create_int32(env, kind, &argv[0]);
    napi_create_double(env, epoch, &argv[1]);
    if (with_cause) {
      napi_create_string_utf8(env, code.data(), code.size(), &argv[2]);
      napi_create_string_utf8(env, message.data(), message.size(), &argv[3]);
      napi_create_int32(env, err, &argv[4]);
      argc = 5;
    }
    napi_value result;
    if (napi_call_function(env, undefined, js_cb, argc, argv, &result) != napi_ok) {
      // Surface a throwing callback as an uncaught exception rather than losing it.
      bool pending = false;
      napi_is_exception_pending(env, &pending);
      if (pending) {
        napi_value exc;
        napi_get_and_clear_last_exception(env, &exc);
        napi_fatal_exception(env, exc);
      }
      return false;
    }
    return true;
  };
  if (!trace.empty() || dropped > 0) {
    // kEventTrace(dropped, undefined, undefined, undefined, ArrayBuffer of packed items).
    napi_value argv[6];
    napi_create_int32(env, kEventTrace, &argv[0]);
    napi_create_double(env, static_cast<double>(dropped), &argv[1]);
    argv[2] = argv[3] = argv[4] = undefined;
    void* data = nullptr;
    const size_t bytes = trace.size() * sizeof(TraceItem);
    napi_create_arraybuffer(env, bytes, &data, &argv[5]);
    if (bytes > 0 && data != nullptr) std::memcpy(data, trace.data(), bytes);
    napi_value result;
    if (napi_call_function(env, undefined, js_cb, 6, argv, &result) != napi_ok) {
      bool pending = false;
      napi_is_exception_pending(env, &pending);
      if (pending) {
        napi_value exc;
        napi_get_and_clear_last_exception(env, &exc);
        napi_fatal_exception(env, exc);
      }
      return;
    }
  }
  if (send_durable && !call(kEventDurable, static_cast<double>(durable), false)) return;
  if (send_failure && !call(kEventFailed, static_cast<double>(failed_epoch), true)) return;
  if (send_closed) call(kEventClosed, static_cast<double>(durable), false);
}

void WalEventChannel::Finalize(napi_env /*env*/, void* finalize_data, void* /*hint*/) {
  auto* holder = static_cast<std::shared_ptr<WalEventChannel>*>(finalize_data);
  {
    std::lock_guard<std::mutex> lock((*holder)->mu_);
    (*holder)->open_ = false;
    (*holder)->tsfn_ = nullptr;
  }
  delete holder;
}

}  // namespace pwal
