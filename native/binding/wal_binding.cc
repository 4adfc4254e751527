#include "wal_binding.h"

#include <memory>
#include <string>
#include <vector>

#include "../core/wal.h"
#include "control_binding.h"
#include "errors.h"
#include "wal_args.h"
#include "wal_events.h"
#include "wal_options.h"
#include "wal_pin.h"

namespace pwal {
namespace {

// Per-environment state of the WAL binding: owned by the NativeWal class (constructor data),
// freed when the environment tears down.
struct WalEnv {
  size_t open_handles = 0;
  uint64_t handles_created = 0;
};

class NativeWal;

// What a bound submitScratch function knows of its handle. Shared by the NativeWal (which
// clears `self` when it is destroyed) and the function (whose finalizer drops its share), so
// that a call through a function that outlived its handle throws instead of touching freed
// memory. Both live on one JS thread: no synchronization.
struct ScratchLink {
  NativeWal* self = nullptr;
};

class NativeWal : public Napi::ObjectWrap<NativeWal> {
 public:
  static void Register(Napi::Env env, Napi::Object exports);

  explicit NativeWal(const Napi::CallbackInfo& info);
  ~NativeWal() override;

  // Hot path, raw N-API (no CallbackInfo/wrapper objects).
  static napi_value SubmitOne(napi_env env, napi_callback_info info);
  static napi_value SubmitMany(napi_env env, napi_callback_info info);
  // A bound function, not a method: its handle comes with the call (napi_get_cb_info's data),
  // without the private-symbol lookup of napi_unwrap (~9% of the JS thread's time at @1024).
  static napi_value SubmitScratch(napi_env env, napi_callback_info info);
  // bindScratch(Float64Array(5)) -> submitScratch(pageData): the array is where the returned
  // function reads a one-frame commit's numbers from.
  Napi::Value BindScratch(const Napi::CallbackInfo& info);

  Napi::Value CurrentEpoch(const Napi::CallbackInfo& info);
  Napi::Value DurableEpoch(const Napi::CallbackInfo& info);
  Napi::Value ThreadSlot(const Napi::CallbackInfo& info);
  Napi::Value IsRunning(const Napi::CallbackInfo& info);
  Napi::Value IsFailed(const Napi::CallbackInfo& info);
  Napi::Value Start(const Napi::CallbackInfo& info);
  Napi::Value Stop(const Napi::CallbackInfo& info);
  Napi::Value AdvanceAndFlush(const Napi::CallbackInfo& info);
  Napi::Value Checkpoint(const Napi::CallbackInfo& info);
  Napi::Value SetWaiting(const Napi::CallbackInfo& info);
  Napi::Value RequestFlush(const Napi::CallbackInfo& info);
  Napi::Value EndTurn(const Napi::CallbackInfo& info);
  Napi::Value Failure(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  // Control surface (below Stats).
  Napi::Value SetMode(const Napi::CallbackInfo& info);
  Napi::Value ControlState(const Napi::CallbackInfo& info);
  Napi::Value SetTracing(const Napi::CallbackInfo& info);

 private:
  static void CleanupHook(void* arg);
  // JS thread; idempotent. Returns the ReleaseWal status.
  Status CloseHandle(bool abort);
  Wal* wal_or_throw(Napi::Env env);
  napi_value DoSubmit(napi_env env, const SubmitBatch& batch);

  napi_env env_;
  WalEnv* wal_env_;
  std::shared_ptr<Wal> wal_;
  std::shared_ptr<WalEventChannel> channel_;
  uint64_t listener_id_ = 0;
  size_t slot_count_ = 1;
  bool hook_registered_ = false;
  // Interned property keys of a frame ("pageNumber", "pageData", "dbSizeIfCommit"): looking a
  // property up by a ready key avoids re-creating the string for every frame.
  // (Held in an array: N-API 8 cannot reference a primitive string directly.)
  Napi::ObjectReference frame_keys_;
  // The scratch Float64Array of submitScratch (held, so its storage stays put) and its data:
  // txnToken.id, txnToken.epoch, commitSeq, pageNumber, dbSizeIfCommit.
  Napi::ObjectReference scratch_ref_;
  const double* scratch_ = nullptr;
  std::shared_ptr<ScratchLink> scratch_link_;  // created by the first bindScratch
};

// ---- construction / teardown --------------------------------------------------------------

NativeWal::NativeWal(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<NativeWal>(info), env_(info.Env()) {
  Napi::Env env = info.Env();
  wal_env_ = static_cast<WalEnv*>(info.Data());
  if (!info[0].IsString()) {
    ThrowArgType(env, "dbPath", "a string");
    return;
  }
  if (!info[1].IsObject()) {
    ThrowArgType(env, "options", "an object");
    return;
  }
  if (!info[2].IsFunction()) {
    ThrowArgType(env, "listener", "a function");
    return;
  }
  const std::string db_path = info[0].As<Napi::String>().Utf8Value();
  WalOptions options;
  if (!ParseWalOptions(env, info[1].As<Napi::Object>(), &options)) return;

  channel_ = WalEventChannel::Create(env, info[2]);
  if (!channel_) return;  // exception pending

  PinAddonInMemory();  // before any flusher thread can exist
  Status status;
  std::shared_ptr<Wal> wal = AcquireWal(db_path, options, &status);
  if (!status.ok() || !wal) {
    channel_->Shutdown();
    channel_.reset();
    StatusToError(env, status.ok() ? Status::IoError("cannot open WAL") : status)
        .ThrowAsJavaScriptException();
    return;
  }
  if (wal->CurrentEpoch() > kMaxSafeInteger - (uint64_t{1} << 32)) {
    ReleaseWal(wal, false);
    channel_->Shutdown();
    channel_.reset();
    StatusToError(env, Status::Corruption("epoch " + std::to_string(wal->CurrentEpoch()) +
                                          " on disk is beyond the supported range (< 2^53)"))
        .ThrowAsJavaScriptException();
    return;
  }
  wal_ = std::move(wal);
  slot_count_ = wal_->SlotCount();
  Napi::Array keys = Napi::Array::New(env, 3);
  keys.Set(0u, Napi::String::New(env, "pageNumber"));
  keys.Set(1u, Napi::String::New(env, "pageData"));
  keys.Set(2u, Napi::String::New(env, "dbSizeIfCommit"));
  frame_keys_ = Napi::Persistent(keys.As<Napi::Object>());
  std::weak_ptr<WalEventChannel> weak = channel_;
  // The listener runs while the Wal exists (RemoveListener waits for a running one).
  Wal* core = wal_.get();
  listener_id_ = wal_->AddListener([weak, core](const DurableEvent& ev) {
    auto ch = weak.lock();
    // JS resolves the epoch's commits next, and their callers commit again in that turn:
    // hold the next seal until the turn is over (lib/wal.ts calls endTurn()).
    if (ch && ch->OnDurableEvent(ev)) core->HoldSealForTurn(ev.records);
  });
  // Registered after the TSFN: hooks run in reverse order, so this one runs before node
  // closes the TSFN at teardown.
  napi_add_env_cleanup_hook(env_, &NativeWal::CleanupHook, this);
  hook_registered_ = true;
  if (wal_env_ != nullptr) {
    wal_env_->open_handles++;
    wal_env_->handles_created++;
  }
}

NativeWal::~NativeWal() {
  if (scratch_link_) scratch_link_->self = nullptr;
  CloseHandle(false);
}

void NativeWal::CleanupHook(void* arg) {
  NativeWal* self = static_cast<NativeWal*>(arg);
  self->hook_registered_ = false;  // the hook is being consumed
  // Environment teardown (worker terminated, process exiting): nothing in JS can wait for
  // more; release the reference so the last one closes the Wal and joins its flusher.
  self->CloseHandle(false);
}

Status NativeWal::CloseHandle(bool abort) {
  if (hook_registered_) {
    napi_remove_env_cleanup_hook(env_, &NativeWal::CleanupHook, this);
    hook_registered_ = false;
  }
  Status status;
  if (wal_) {
    // After RemoveListener returns our listener is not running and never runs again.
    if (listener_id_ != 0) wal_->RemoveListener(listener_id_);
    listener_id_ = 0;
    std::shared_ptr<Wal> wal = std::move(wal_);
    wal_.reset();
    status = ReleaseWal(wal, abort);
    if (wal_env_ != nullptr && wal_env_->open_handles > 0) wal_env_->open_handles--;
  }
  if (channel_) {
    channel_->Shutdown();
    channel_.reset();
  }
  return status;
}

Wal* NativeWal::wal_or_throw(Napi::Env env) {
  if (!wal_) {
    StatusToError(env, Status::Closed("the WAL handle is closed")).ThrowAsJavaScriptException();
    return nullptr;
  }
  return wal_.get();
}

// ---- submit (hot path) --------------------------------------------------------------------

// Gets `this` unwrapped and up to N arguments; nullptr with a pending exception if closed.
template <size_t N>
NativeWal* UnwrapThis(napi_env env, napi_callback_info info, napi_value (&argv)[N], size_t* argc) {
  napi_value self;
  *argc = N;
  napi_get_cb_info(env, info, argc, argv, &self, nullptr);
  if (*argc < N) {
    napi_value undefined;
    napi_get_undefined(env, &undefined);
    for (size_t i = *argc; i < N; i++) argv[i] = undefined;
  }
  void* ptr = nullptr;
  if (napi_unwrap(env, self, &ptr) != napi_ok || ptr == nullptr) {
    napi_throw_type_error(env, "ERR_INVALID_THIS", "Value of \"this\" must be a NativeWal");
    return nullptr;
  }
  return static_cast<NativeWal*>(ptr);
}

// The argument paths a commit's errors name, shared by the typed path (submitOne, submit) and
// the scratch path (submitScratch), so that both report a bad field the same way.
const ArgPath kTxnIdArg{"batch.txnToken", -1, "id"};
const ArgPath kTxnEpochArg{"batch.txnToken", -1, "epoch"};
const ArgPath kCommitSeqArg{"batch", -1, "commitSeq"};
ArgPath FrameArg(long index, const char* field) { return ArgPath{"batch.frames", index, field}; }

bool ArgToken(napi_env env, napi_value* argv, SubmitBatch* batch) {
  if (!ArgU64(env, argv[0], kTxnIdArg, true, &batch->txn_id)) return false;
  if (!ArgU32(env, argv[1], kTxnEpochArg, false, true, 0,
              &batch->txn_epoch)) {
    return false;
  }
  return ArgU64(env, argv[2], kCommitSeqArg, false, &batch->commit_seq);
}

bool ArgFrame(napi_env env, napi_value page_number, napi_value page_data, napi_value db_size,
              long index, SubmitFrame* frame) {
  if (!ArgU32(env, page_number, FrameArg(index, "pageNumber"), true, false, 0,
              &frame->page_number)) {
    return false;
  }
  if (!ArgBytes(env, page_data, FrameArg(index, "pageData"), kMaxImageBytes,
                &frame->page_data, &frame->page_size)) {
    return false;
  }
  return ArgU32(env, db_size, FrameArg(index, "dbSizeIfCommit"), false, true, 0,
                &frame->db_size_if_commit);
}

napi_value NativeWal::DoSubmit(napi_env env, const SubmitBatch& batch) {
  if (!wal_) {
    SetStatusError(env, Status::Closed("submitBatch: the WAL is closed"));
    return nullptr;
  }
  uint64_t epoch = 0;
  Status st = wal_->Submit(pwal::ThreadSlot(slot_count_), batch, &epoch);
  if (!st.ok()) {
    SetStatusError(env, st);
    return nullptr;
  }
  napi_value out;
  napi_create_double(env, static_cast<double>(epoch), &out);
  return out;
}

// submitOne(txnId, txnEpoch, commitSeq, pageNumber, pageData, dbSizeIfCommit)
napi_value NativeWal::SubmitOne(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  size_t argc;
  NativeWal* self = UnwrapThis(env, info, argv, &argc);
  if (self == nullptr) return nullptr;
  SubmitBatch batch;
  if (!ArgToken(env, argv, &batch)) return nullptr;
  SubmitFrame frame;
  if (!ArgFrame(env, argv[3], argv[4], argv[5], 0, &frame)) return nullptr;
  batch.frames = &frame;
  batch.frame_count = 1;
  return self->DoSubmit(env, batch);
}

// submitScratch(pageData): submitOne with the numbers already written, as numbers, into the
// scratch Float64Array (one N-API argument instead of six typed ones; same checks, same
// messages). The TypeScript layer takes this path only when every one of them is a number (or
// an undefined optional, written as 0); bigints and wrong types go through submitOne.
napi_value NativeWal::SubmitScratch(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  size_t argc = 1;
  void* data = nullptr;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, &data) != napi_ok || data == nullptr) {
    napi_throw_error(env, "ERR_INVALID_STATE", "submitScratch called without its handle");
    return nullptr;
  }
  if (argc < 1) napi_get_undefined(env, &argv[0]);
  NativeWal* self = static_cast<std::shared_ptr<ScratchLink>*>(data)->get()->self;
  if (self == nullptr) {
    SetStatusError(env, Status::Closed("submitBatch: the WAL handle was collected"));
    return nullptr;
  }
  const double* s = self->scratch_;  // set by bindScratch before the function existed
  SubmitBatch batch;
  SubmitFrame frame;
  if (!NumberU64(env, s[0], kTxnIdArg, true, &batch.txn_id) ||
      !NumberU32(env, s[1], kTxnEpochArg, false, &batch.txn_epoch) ||
      !NumberU64(env, s[2], kCommitSeqArg, false, &batch.commit_seq) ||
      !NumberU32(env, s[3], FrameArg(0, "pageNumber"), true, &frame.page_number) ||
      !ArgBytes(env, argv[0], FrameArg(0, "pageData"), kMaxImageBytes,
                &frame.page_data, &frame.page_size) ||
      !NumberU32(env, s[4], FrameArg(0, "dbSizeIfCommit"), false,
                 &frame.db_size_if_commit)) {
    return nullptr;
  }
  batch.frames = &frame;
  batch.frame_count = 1;
  return self->DoSubmit(env, batch);
}

Napi::Value NativeWal::BindScratch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray() ||
      info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
      info[0].As<Napi::TypedArray>().ElementLength() < 5) {
    ThrowArgRange(env, "scratch", "must be a Float64Array of at least 5 elements");
    return env.Undefined();
  }
  Napi::Float64Array a = info[0].As<Napi::Float64Array>();
  scratch_ref_ = Napi::Persistent(a.As<Napi::Object>());
  scratch_ = a.Data();
  if (!scratch_link_) {
    scratch_link_ = std::make_shared<ScratchLink>();
    scratch_link_->self = this;
  }
  auto* share = new std::shared_ptr<ScratchLink>(scratch_link_);
  napi_value fn;
  if (napi_create_function(env, "submitScratch", NAPI_AUTO_LENGTH, &NativeWal::SubmitScratch, share,
                           &fn) != napi_ok) {
    delete share;
    throw Napi::Error::New(env, "cannot create the submitScratch function");
  }
  if (napi_add_finalizer(
          env, fn, share,
          [](napi_env, void* d, void*) { delete static_cast<std::shared_ptr<ScratchLink>*>(d); },
          nullptr, nullptr) != napi_ok) {
    // The function is dropped unreturned; its data must outlive it, so this share leaks.
    throw Napi::Error::New(env, "cannot create the submitScratch function");
  }
  return Napi::Value(env, fn);
}

// submit(txnId, txnEpoch, commitSeq, frames)
napi_value NativeWal::SubmitMany(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  size_t argc;
  NativeWal* self = UnwrapThis(env, info, argv, &argc);
  if (self == nullptr) return nullptr;
  SubmitBatch batch;
  if (!ArgToken(env, argv, &batch)) return nullptr;
  bool is_array = false;
  napi_is_array(env, argv[3], &is_array);
  if (!is_array) {
    SetArgTypeError(env, "batch.frames", "an array", "a non-array value");
    return nullptr;
  }
  uint32_t n = 0;
  napi_get_array_length(env, argv[3], &n);
  napi_value keys[3];
  napi_value key_array = self->frame_keys_.Value();
  for (uint32_t k = 0; k < 3; k++) napi_get_element(env, key_array, k, &keys[k]);
  SubmitFrame inline_frames[8];
  std::vector<SubmitFrame> heap_frames;
  SubmitFrame* frames = inline_frames;
  if (n > 8) {
    heap_frames.resize(n);
    frames = heap_frames.data();
  }
  for (uint32_t i = 0; i < n; i++) {
    napi_value f;
    napi_get_element(env, argv[3], i, &f);
    napi_valuetype t;
    napi_typeof(env, f, &t);
    if (t != napi_object) {
      SetArgTypeError(env, ArgPath{"batch.frames", static_cast<long>(i)}.str(), "of type object",
                      t == napi_null ? "null" : "a non-object value");
      return nullptr;
    }
    napi_value pn, pd, ds;
    napi_get_property(env, f, keys[0], &pn);
    napi_get_property(env, f, keys[1], &pd);
    napi_get_property(env, f, keys[2], &ds);
    if (!ArgFrame(env, pn, pd, ds, static_cast<long>(i), &frames[i])) return nullptr;
  }
  batch.frames = frames;
  batch.frame_count = n;
  return self->DoSubmit(env, batch);
}

// ---- the rest of the surface --------------------------------------------------------------

Napi::Value NativeWal::CurrentEpoch(const Napi::CallbackInfo& info) {
  Wal* wal = wal_or_throw(info.Env());
  if (wal == nullptr) return info.Env().Undefined();
  return Napi::Number::New(info.Env(), static_cast<double>(wal->CurrentEpoch()));
}

Napi::Value NativeWal::DurableEpoch(const Napi::CallbackInfo& info) {
  Wal* wal = wal_or_throw(info.Env());
  if (wal == nullptr) return info.Env().Undefined();
  std::optional<uint64_t> d = wal->DurableEpoch();
  return Napi::Number::New(info.Env(), d ? static_cast<double>(*d) : -1.0);
}

Napi::Value NativeWal::ThreadSlot(const Napi::CallbackInfo& info) {
  Wal* wal = wal_or_throw(info.Env());
  if (wal == nullptr) return info.Env().Undefined();
  return Napi::Number::New(info.Env(), static_cast<double>(pwal::ThreadSlot(slot_count_)));
}

Napi::Value NativeWal::IsRunning(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), wal_ && wal_->IsRunning());
}

Napi::Value NativeWal::IsFailed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), wal_ && wal_->IsFailed());
}

Napi::Value NativeWal::Start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Wal* wal = wal_or_throw(env);
  if (wal == nullptr) return env.Undefined();
  FsyncPolicy policy;
  if (!ParseFsyncPolicy(info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "", &policy)) {
    ThrowArgRange(env, "options.fsyncPolicy", kFsyncPolicyChoices);
    return env.Undefined();
  }
  if (wal->IsRunning()) {
    Napi::Error e = Napi::Error::New(env, "coordinator already running");
    e.Value().Set("code", Napi::String::New(env, "ERR_INVALID_STATE"));
    e.ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Status st = wal->Start(policy);
  if (!st.ok()) {
    if (st.code() == Status::Code::kInvalidArgument) {
      Napi::Error e = Napi::Error::New(env, "coordinator already running: " + st.message());
      e.Value().Set("code", Napi::String::New(env, "ERR_INVALID_STATE"));
      e.ThrowAsJavaScriptException();
    } else {
      StatusToError(env, st).ThrowAsJavaScriptException();
    }
  }
  return env.Undefined();
}

Napi::Value NativeWal::Stop(const Napi::CallbackInfo& info) {
  if (wal_) wal_->Stop();
  return info.Env().Undefined();
}

// A blocking core call on a libuv worker, settled as a promise: Execute() runs the call (and
// never touches N-API), OnOK() rejects with the mapped status or resolves with Result().
class WalPromiseWorker : public Napi::AsyncWorker {
 public:
  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  WalPromiseWorker(Napi::Env env, const char* name, std::shared_ptr<Wal> wal)
      : Napi::AsyncWorker(env, name),
        deferred_(Napi::Promise::Deferred::New(env)),
        wal_(std::move(wal)) {}
  virtual Napi::Value Result(Napi::Env env) = 0;  // JS thread, status_ OK

  void OnOK() override {
    Napi::Env env = Env();
    wal_.reset();
    if (status_.ok()) {
      deferred_.Resolve(Result(env));
    } else {
      deferred_.Reject(StatusToError(env, status_).Value());
    }
  }
  void OnError(const Napi::Error& e) override {
    wal_.reset();
    deferred_.Reject(e.Value());
  }

  Napi::Promise::Deferred deferred_;
  std::shared_ptr<Wal> wal_;  // keeps the object alive; Close() on it is serialized by the core
  Status status_;
};

class AdvanceAndFlushWorker : public WalPromiseWorker {
 public:
  AdvanceAndFlushWorker(Napi::Env env, std::shared_ptr<Wal> wal, uint32_t timeout_ms)
      : WalPromiseWorker(env, "parallel-wal:advanceAndFlush", std::move(wal)),
        timeout_ms_(timeout_ms) {}
  void Execute() override { status_ = wal_->AdvanceAndFlush(timeout_ms_, &new_epoch_); }
  Napi::Value Result(Napi::Env env) override {
    return Napi::Number::New(env, static_cast<double>(new_epoch_));
  }

 private:
  uint32_t timeout_ms_;
  uint64_t new_epoch_ = 0;
};

Napi::Value NativeWal::AdvanceAndFlush(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Wal* wal = wal_or_throw(env);
  if (wal == nullptr) return env.Undefined();
  uint32_t timeout_ms = 10000;
  if (!info[0].IsUndefined() &&
      !ArgTimeoutMs(env, info[0], ArgPath{"options", -1, "timeoutMs"}, &timeout_ms)) {
    return env.Undefined();  // exception pending
  }
  auto* worker = new AdvanceAndFlushWorker(env, wal_, timeout_ms);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

// checkpoint(epoch) -> Promise<[filesDeleted, bytesFreed, firstRetainedEpoch (-1: none)]>:
// Wal::Checkpoint (directory listing, deletions, directory syncs) on a libuv worker.
class CheckpointWorker : public WalPromiseWorker {
 public:
  CheckpointWorker(Napi::Env env, std::shared_ptr<Wal> wal, uint64_t upto)
      : WalPromiseWorker(env, "parallel-wal:checkpoint", std::move(wal)), upto_(upto) {}
  void Execute() override { status_ = wal_->Checkpoint(upto_, &result_); }
  Napi::Value Result(Napi::Env env) override {
    Napi::Array out = Napi::Array::New(env, 3);
    out.Set(0u, Napi::Number::New(env, static_cast<double>(result_.files_deleted)));
    out.Set(1u, Napi::Number::New(env, static_cast<double>(result_.bytes_freed)));
    out.Set(2u, Napi::Number::New(env, result_.first_retained_epoch
                                           ? static_cast<double>(*result_.first_retained_epoch)
                                           : -1.0));
    return out;
  }

 private:
  uint64_t upto_;
  Wal::CheckpointResult result_;
};

Napi::Value NativeWal::Checkpoint(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Wal* wal = wal_or_throw(env);
  if (wal == nullptr) return env.Undefined();
  uint64_t upto = 0;
  if (!info[0].IsNumber() ||
      !NumberU64(env, info[0].As<Napi::Number>().DoubleValue(), ArgPath{"epoch"}, false, &upto)) {
    if (!env.IsExceptionPending()) SetArgTypeError(env, "epoch", "of type number", "another type");
    return env.Undefined();
  }
  auto* worker = new CheckpointWorker(env, wal_, upto);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

Napi::Value NativeWal::SetWaiting(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const bool waiting = info[0].ToBoolean().Value();
  if (channel_) channel_->SetWaiting(env, waiting);
  if (!wal_) return Napi::Number::New(env, -1);
  // Not a seal request: the commit (or wait) that made JS start waiting asks for its own epoch
  // with requestFlush(epoch) right after, and a seal requested here for an epoch the flusher
  // already sealed would seal an extra, empty epoch (and wake JS for it) at every lone commit.
  if (waiting) wal_->RequestNotify();
  std::optional<uint64_t> d = wal_->DurableEpoch();
  return Napi::Number::New(env, d ? static_cast<double>(*d) : -1.0);
}

// requestFlush(epoch?): a JS waiter exists for `epoch` (or for something, when omitted).
Napi::Value NativeWal::RequestFlush(const Napi::CallbackInfo& info) {
  if (wal_) {
    if (info.Length() > 0 && info[0].IsNumber()) {
      const double e = info[0].As<Napi::Number>().DoubleValue();
      wal_->RequestFlushFor(e >= 0 ? static_cast<uint64_t>(e) : 0);
    } else {
      wal_->RequestFlush();
    }
  }
  return info.Env().Undefined();
}

Napi::Value NativeWal::EndTurn(const Napi::CallbackInfo& info) {
  if (wal_) wal_->EndTurn();
  return info.Env().Undefined();
}

Napi::Value NativeWal::Failure(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!wal_ || !wal_->IsFailed()) return env.Undefined();
  uint64_t epoch = 0;
  std::string code, message;
  int err = 0;
  if (!channel_ || !channel_->failure(&epoch, &code, &message, &err)) {
    Status st = wal_->FailureStatus();
    std::optional<uint64_t> fe = wal_->coordinator()->FailedEpoch();
    epoch = fe ? *fe : 0;
    code = JsErrorCode(st.ok() ? Status::Code::kIoError : st.code());
    message = st.message();
    err = st.sys_errno();
  }
  Napi::Array out = Napi::Array::New(env, 4);
  out.Set(0u, Napi::Number::New(env, static_cast<double>(epoch)));
  out.Set(1u, Napi::String::New(env, code));
  out.Set(2u, Napi::String::New(env, message));
  out.Set(3u, Napi::Number::New(env, err));
  return out;
}

Napi::Value NativeWal::Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const bool abort = info[0].ToBoolean().Value();
  Status st = CloseHandle(abort);
  // A final publish error of the last handle has already been reported to every waiter
  // through the failure event; closing itself succeeded.
  (void)st;
  return env.Undefined();
}

Napi::Value NativeWal::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Wal* wal = wal_or_throw(env);
  if (wal == nullptr) return env.Undefined();
  WalStats s = wal->Stats();
  Napi::Object o = Napi::Object::New(env);
  auto set = [&](const char* k, uint64_t v) { o.Set(k, Napi::Number::New(env, static_cast<double>(v))); };
  set("epochsSealed", s.epochs_sealed);
  set("epochsDurable", s.epochs_durable);
  set("emptyEpochs", s.empty_epochs);
  set("segmentsWritten", s.segments_written);
  set("recordsWritten", s.records_written);
  set("bytesWritten", s.bytes_written);
  set("fsyncs", s.fsyncs);
  set("writeFailures", s.write_failures);
  set("submits", s.submits);
  set("submittedRecords", s.submitted_records);
  set("backpressure", s.backpressure);
  set("contention", s.contention);
  set("overflowAppends", s.overflow_appends);
  set("fallbackEntries", s.fallback_entries);
  set("eventsDelivered", s.events_delivered);
  set("preparedFiles", s.prepared_files);
  set("preparedPublishes", s.prepared_publishes);
  set("logFilesFilled", s.log_files_filled);
  set("logFilesAppended", s.log_files_appended);
  set("turnHolds", s.turn_holds);
  set("turnHoldsExpired", s.turn_holds_expired);
  if (wal_env_ != nullptr) set("envOpenHandles", wal_env_->open_handles);
  // Control surface.
  o.Set("mode", Napi::String::New(env, WalModeName(static_cast<WalMode>(s.mode))));
  o.Set("fallbackReason", Napi::String::New(env, FallbackReasonName(static_cast<FallbackReason>(s.fallback_reason))));
  set("laneCount", s.lane_count);
  Napi::Object fallbacks = Napi::Object::New(env);
  for (size_t i = 1; i < kFallbackReasonCount; ++i) {
    fallbacks.Set(FallbackReasonName(static_cast<FallbackReason>(i)),
                  Napi::Number::New(env, static_cast<double>(s.fallbacks[i])));
  }
  o.Set("fallbacks", fallbacks);
  set("shadowClean", s.shadow_clean);
  set("shadowDiverged", s.shadow_diverged);
  Napi::Object lat = Napi::Object::New(env);
  lat.Set("count", Napi::Number::New(env, static_cast<double>(s.fsync_count)));
  lat.Set("p50", Napi::Number::New(env, static_cast<double>(s.fsync_p50_ns)));
  lat.Set("p99", Napi::Number::New(env, static_cast<double>(s.fsync_p99_ns)));
  lat.Set("max", Napi::Number::New(env, static_cast<double>(s.fsync_max_ns)));
  o.Set("fsyncLatencyNs", lat);
  return o;
}

// setMode(mode) -> the fallback reason active before the call ("none" if none).
Napi::Value NativeWal::SetMode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Wal* wal = wal_or_throw(env);
  if (wal == nullptr) return env.Undefined();
  WalMode mode;
  if (!info[0].IsString() || !ParseWalMode(info[0].As<Napi::String>().Utf8Value(), &mode)) {
    ThrowArgRange(env, "mode", "must be 'auto', 'conservative' or 'shadow_compare'");
    return env.Undefined();
  }
  return Napi::String::New(env, FallbackReasonName(wal->SetMode(mode)));
}

// controlState() -> [mode, fallbackReason, laneCount]
Napi::Value NativeWal::ControlState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Wal* wal = wal_or_throw(env);
  if (wal == nullptr) return env.Undefined();
  Napi::Array out = Napi::Array::New(env, 3);
  out.Set(0u, Napi::String::New(env, WalModeName(wal->Mode())));
  out.Set(1u, Napi::String::New(env, FallbackReasonName(wal->ActiveFallback())));
  out.Set(2u, Napi::Number::New(env, wal->EffectiveLaneCount()));
  return out;
}

// setTracing(on, capacity): queue every epoch event for kEventTrace delivery (only while a
// diagnostics_channel subscriber exists). A full queue drops items: controller evidence lost.
Napi::Value NativeWal::SetTracing(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!wal_ || !channel_) return env.Undefined();
  const bool on = info[0].ToBoolean().Value();
  const uint32_t capacity = info[1].IsNumber() ? info[1].As<Napi::Number>().Uint32Value() : 4096;
  std::weak_ptr<Wal> weak = wal_;
  channel_->SetTracing(on, capacity, [weak] {
    if (auto w = weak.lock()) w->CountFallback(FallbackReason::kControllerEvidenceLost);
  });
  return env.Undefined();
}

void NativeWal::Register(Napi::Env env, Napi::Object exports) {
  auto* wal_env = new WalEnv();
  Napi::Function ctor = DefineClass(
      env, "NativeWal",
      {
          InstanceMethod<&NativeWal::CurrentEpoch>("currentEpoch"),
          InstanceMethod<&NativeWal::DurableEpoch>("durableEpoch"),
          InstanceMethod<&NativeWal::ThreadSlot>("threadSlot"),
          InstanceMethod<&NativeWal::IsRunning>("isRunning"),
          InstanceMethod<&NativeWal::IsFailed>("isFailed"),
          InstanceMethod<&NativeWal::Start>("start"),
          InstanceMethod<&NativeWal::Stop>("stop"),
          InstanceMethod<&NativeWal::AdvanceAndFlush>("advanceAndFlush"),
          InstanceMethod<&NativeWal::Checkpoint>("checkpoint"),
          InstanceMethod<&NativeWal::SetWaiting>("setWaiting"),
          InstanceMethod<&NativeWal::RequestFlush>("requestFlush"),
          InstanceMethod<&NativeWal::EndTurn>("endTurn"),
          InstanceMethod<&NativeWal::Failure>("failure"),
          InstanceMethod<&NativeWal::Close>("close"),
          InstanceMethod<&NativeWal::Stats>("stats"),
          InstanceMethod<&NativeWal::SetMode>("setMode"),
          InstanceMethod<&NativeWal::ControlState>("controlState"),
          InstanceMethod<&NativeWal::SetTracing>("setTracing"),
          InstanceMethod<&NativeWal::BindScratch>("bindScratch"),
      },
      wal_env);
  // The per-env state dies with the constructor function (environment teardown).
  ctor.AddFinalizer([](Napi::Env, WalEnv* data) { delete data; }, wal_env);
  // Hot-path methods as raw N-API functions on the prototype.
  napi_value proto;
  napi_get_named_property(env, ctor, "prototype", &proto);
  napi_property_descriptor props[] = {
      {"submitOne", nullptr, &NativeWal::SubmitOne, nullptr, nullptr, nullptr,
       static_cast<napi_property_attributes>(napi_writable | napi_configurable), nullptr},
      {"submit", nullptr, &NativeWal::SubmitMany, nullptr, nullptr, nullptr,
       static_cast<napi_property_attributes>(napi_writable | napi_configurable), nullptr},
  };
  napi_define_properties(env, proto, sizeof props / sizeof props[0], props);
  exports.Set("NativeWal", ctor);
}

}  // namespace

void RegisterWal(Napi::Env env, Napi::Object exports) { NativeWal::Register(env, exports); }

}  // namespace pwal
