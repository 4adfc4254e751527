#include "wal_events.h"

#include <algorithm>

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

void WalEventChannel::OnDurableEvent(const DurableEvent& ev) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!open_ || tsfn_ == nullptr) return;
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
  if (durable_news || failure_news || closed_news) PostLocked();
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
  {
    std::lock_guard<std::mutex> lock(self->mu_);
    self->call_pending_ = false;
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
