// Each operation is a small struct:
//   - a constructor that parses and copies every argument on the JS thread (may throw),
//   - Status Run()   : pure C++ on plain data (runs on a libuv worker thread for the async
//                      form, on the calling thread for the Sync form),
//   - ToJs(env, h)   : converts the result on the JS thread; `h` says how native memory is
//                      handed over (segbind::Handoff: zero-copy for promises, a V8-owned copy
//                      for the Sync form, whose callers may never return to the event loop).
// AsyncOp<Op> turns it into a promise; SyncOp<Op> into a plain call. A failed Status becomes a
// JS error through StatusToError (stable `code`s: WAL_CORRUPTION, WAL_IO, ...).
#include "segment_binding.h"

#include "../core/log_file.h"

#include <cstring>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "../core/file_system.h"
#include "../core/segment.h"
#include "control_binding.h"
#include "errors.h"
#include "segment_convert.h"

namespace pwal {
namespace {

using segbind::PackedRecords;

// Runs op->Run(), turning any C++ exception (std::bad_alloc on a huge batch) into a Status so
// that nothing ever unwinds through libuv or N-API.
template <typename Op>
Status RunGuarded(Op* op) {
  try {
    return op->Run();
  } catch (const std::bad_alloc&) {
    return Status::IoError("out of memory while running the segment operation", 12 /*ENOMEM*/);
  } catch (const std::exception& e) {
    return Status::IoError(std::string("internal error: ") + e.what());
  }
}

template <typename Op>
class AsyncOp : public Napi::AsyncWorker {
 public:
  AsyncOp(Napi::Env env, std::unique_ptr<Op> op)
      : Napi::AsyncWorker(env, "parallel-wal:segment"),
        op_(std::move(op)),
        deferred_(Napi::Promise::Deferred::New(env)) {}

  Napi::Promise Promise() const { return deferred_.Promise(); }

  void Execute() override { status_ = RunGuarded(op_.get()); }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (!status_.ok()) {
      deferred_.Reject(StatusToError(env, status_).Value());
      return;
    }
    try {
      deferred_.Resolve(op_->ToJs(env, segbind::Handoff::kZeroCopy));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  std::unique_ptr<Op> op_;
  Napi::Promise::Deferred deferred_;
  Status status_;
};

// Calls fn() on the JS thread; a non-Napi C++ exception (std::bad_alloc while copying a huge
// batch) becomes a JS RangeError instead of terminating the process.
template <typename Fn>
Napi::Value GuardJs(Napi::Env env, Fn fn) {
  try {
    return fn();
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::bad_alloc&) {
    Napi::RangeError e = Napi::RangeError::New(env, "out of memory while copying the arguments");
    e.Value().Set("code", "ERR_OUT_OF_RANGE");
    throw e;
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, std::string("internal error: ") + e.what());
  }
}

template <typename Op>
Napi::Value StartAsync(const Napi::CallbackInfo& info) {
  return GuardJs(info.Env(), [&]() -> Napi::Value {
    auto op = std::make_unique<Op>(info);  // parse + copy on the JS thread; throws on bad input
    auto* worker = new AsyncOp<Op>(info.Env(), std::move(op));
    Napi::Promise promise = worker->Promise();
    worker->Queue();  // the worker deletes itself after OnOK/OnError
    return promise;
  });
}

template <typename Op>
Napi::Value RunSync(const Napi::CallbackInfo& info) {
  return GuardJs(info.Env(), [&]() -> Napi::Value {
    Op op(info);
    Status st = RunGuarded(&op);
    if (!st.ok()) throw StatusToError(info.Env(), st);
    return op.ToJs(info.Env(), segbind::Handoff::kCopy);
  });
}

FileSystem* Fs() { return FileSystem::Default(); }

// ---- operations ----

// The bytes written: all that writeSegment reports (its path is segmentPath(), its certificate
// is in the file). Building more (a path string, the certificate's bigints) was work nobody read.
Napi::Value WriteResultToJs(Napi::Env env, const SegmentWriteResult& result) {
  return Napi::Number::New(env, static_cast<double>(result.bytes_written));
}

// writeSegment(dbPath, batch, options): any batch, copied record by record.
struct WriteSegmentOp {
  std::string db_path;
  EpochBatch batch;
  SegmentWriteOptions options;
  SegmentWriteResult result;

  explicit WriteSegmentOp(const Napi::CallbackInfo& info)
      : db_path(segbind::ParsePath(info[0], "dbPath")),
        batch(segbind::ParseBatch(info[1], "batch")),
        options(segbind::ParseWriteOptions(info[2], "options")) {}
  Status Run() { return WriteSegment(Fs(), db_path, batch, options, &result); }
  Napi::Value ToJs(Napi::Env env, segbind::Handoff /*handoff*/) { return WriteResultToJs(env, result); }
};

// writeSegmentPacked(dbPath, epoch, fields, images, recordsPerCore, dbSizePages, options): the
// packed form of a well-formed batch (ParsePackedBatch). The segment is encoded here, on the JS
// thread, straight from the caller's buffers into a pooled buffer (the one copy an async call
// needs anyway); the worker only does the I/O.
struct WriteSegmentPackedOp {
  std::string db_path;
  SegmentWriteOptions options;
  uint64_t epoch = 0;
  SegmentBytes bytes;
  CommitCertificate certificate;
  Status encoded;  // an invalid batch rejects like writeSegment's (from Run, not by throwing)
  SegmentWriteResult result;

  explicit WriteSegmentPackedOp(const Napi::CallbackInfo& info)
      : db_path(segbind::ParsePath(info[0], "dbPath")) {
    EpochBatchRef batch =
        segbind::ParsePackedBatch(info[1], info[2], info[3], info[4], info[5], "batch");
    options = segbind::ParseWriteOptions(info[6], "options");
    epoch = batch.epoch;
    encoded = EncodeSegment(batch, options, &bytes, &certificate)
                  .WithContext("writing segment " + SegmentPath(db_path, epoch));
  }
  Status Run() {
    if (!encoded.ok()) return encoded;
    return WriteSegmentBytes(Fs(), db_path, epoch, &bytes, std::move(certificate), options, &result);
  }
  Napi::Value ToJs(Napi::Env env, segbind::Handoff /*handoff*/) { return WriteResultToJs(env, result); }
};

// Shared by readSegment and decodeSegment: header, certificate, packed records.
Napi::Value ContentsToJs(Napi::Env env, const SegmentView& contents, PackedRecords* packed,
                         segbind::Handoff handoff) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("header", segbind::HeaderToJs(env, contents.header));
  out.Set("certificate", contents.certificate ? segbind::CertificateToJs(env, *contents.certificate)
                                              : env.Null());
  out.Set("records", segbind::PackedToJs(env, packed, handoff));
  return out;
}

struct ReadSegmentOp {
  std::string path;
  SegmentView contents;
  PackedRecords packed;
  // A log file: every good frame (the first is also `contents`), and what ends it.
  bool is_log = false;
  std::vector<SegmentHeader> frame_headers;
  std::vector<CommitCertificate> frame_certificates;
  std::vector<uint32_t> frame_records;
  std::vector<uint64_t> frame_offsets;
  std::optional<uint64_t> damage_offset;
  std::string damage;
  bool frame_after_damage = false;

  explicit ReadSegmentOp(const Napi::CallbackInfo& info)
      : path(segbind::ParsePath(info[0], "path")) {}
  Status Run() {
    SegmentBytes bytes;
    PWAL_RETURN_IF_ERROR(ReadSegmentBytes(Fs(), path, &bytes));
    if (!IsLogFileImage(bytes.data(), bytes.size())) {
      PWAL_RETURN_IF_ERROR(DecodeSegmentView(bytes.data(), bytes.size(), &contents).WithContext("segment " + path));
      return segbind::PackSegment(&bytes, &contents, &packed).WithContext("segment " + path);
    }
    is_log = true;
    LogFileView log;
    DecodeLogFile(bytes.data(), bytes.size(), &log);
    if (log.frames.empty()) return log.damage.WithContext("segment " + path);
    damage_offset = log.damage_offset;
    damage = log.damage.ok() ? std::string() : log.damage.message();
    frame_after_damage = log.frame_after_damage;
    contents.header = log.frames.front().header;
    contents.certificate = log.frames.front().certificate;
    for (size_t k = 0; k < log.frames.size(); ++k) {
      SegmentView& f = log.frames[k];
      frame_headers.push_back(f.header);
      frame_certificates.push_back(*f.certificate);
      frame_records.push_back(static_cast<uint32_t>(f.records.size()));
      frame_offsets.push_back(log.frame_offsets[k]);
      PWAL_RETURN_IF_ERROR(segbind::PackSegment(&bytes, &f, &packed, /*shares_bytes=*/k > 0)
                               .WithContext("segment " + path));
    }
    return Status::OK();
  }
  Napi::Value ToJs(Napi::Env env, segbind::Handoff handoff) {
    Napi::Value out = ContentsToJs(env, contents, &packed, handoff);
    if (!is_log) return out;
    Napi::Object o = out.As<Napi::Object>();
    Napi::Array frames = Napi::Array::New(env, frame_headers.size());
    for (size_t k = 0; k < frame_headers.size(); ++k) {
      Napi::Object f = Napi::Object::New(env);
      f.Set("header", segbind::HeaderToJs(env, frame_headers[k]));
      f.Set("certificate", segbind::CertificateToJs(env, frame_certificates[k]));
      f.Set("recordCount", Napi::Number::New(env, frame_records[k]));
      f.Set("offset", Napi::Number::New(env, static_cast<double>(frame_offsets[k])));
      frames.Set(static_cast<uint32_t>(k), f);
    }
    o.Set("frames", frames);
    if (damage_offset.has_value()) {
      Napi::Object d = Napi::Object::New(env);
      d.Set("offset", Napi::Number::New(env, static_cast<double>(*damage_offset)));
      d.Set("message", Napi::String::New(env, damage));
      d.Set("frameAfterDamage", Napi::Boolean::New(env, frame_after_damage));
      o.Set("damage", d);
    } else {
      o.Set("damage", env.Null());
    }
    return o;
  }
};

struct ListSegmentsOp {
  std::string db_path;
  std::vector<SegmentEntry> entries;

  explicit ListSegmentsOp(const Napi::CallbackInfo& info)
      : db_path(segbind::ParsePath(info[0], "dbPath")) {}
  Status Run() { return ListSegments(Fs(), db_path, &entries); }
  Napi::Value ToJs(Napi::Env env, segbind::Handoff /*handoff*/) {
    Napi::Array out = Napi::Array::New(env, entries.size());
    for (size_t i = 0; i < entries.size(); ++i) {
      Napi::Object e = Napi::Object::New(env);
      e.Set("epoch", segbind::U64ToJs(env, entries[i].epoch));
      e.Set("path", Napi::String::New(env, entries[i].path));
      out.Set(static_cast<uint32_t>(i), e);
    }
    return out;
  }
};

struct DeleteSegmentOp {
  std::string path;
  explicit DeleteSegmentOp(const Napi::CallbackInfo& info)
      : path(segbind::ParsePath(info[0], "path")) {}
  Status Run() {
    PWAL_RETURN_IF_ERROR(CheckNoOpenWal(DbPathOfSegment(path), "deleteSegment"));
    return DeleteSegment(Fs(), path);
  }
  Napi::Value ToJs(Napi::Env env, segbind::Handoff /*handoff*/) { return env.Undefined(); }
};

// isUnwrittenSegmentFile(path): the readers' rule for a prepared file never published (so the
// JS record iterator skips exactly what recovery skips).
struct IsUnwrittenSegmentOp {
  std::string path;
  bool unwritten = false;
  explicit IsUnwrittenSegmentOp(const Napi::CallbackInfo& info)
      : path(segbind::ParsePath(info[0], "path")) {}
  Status Run() { return IsUnwrittenSegmentFile(Fs(), path, &unwritten); }
  Napi::Value ToJs(Napi::Env env, segbind::Handoff /*handoff*/) { return Napi::Boolean::New(env, unwritten); }
};

struct RecoverSegmentsOp {
  std::string db_path;
  RecoveryOptions options;
  RecoveryResult result;
  PackedRecords packed;

  explicit RecoverSegmentsOp(const Napi::CallbackInfo& info)
      : db_path(segbind::ParsePath(info[0], "dbPath")),
        options(segbind::ParseRecoveryOptions(info[1], "options")) {}
  Status Run() {
    if (options.delete_after_recovery || options.discard_torn_tail) {
      PWAL_RETURN_IF_ERROR(CheckNoOpenWal(db_path, "recoverSegments"));
    }
    std::vector<RecoveredSegment> segments;
    PWAL_RETURN_IF_ERROR(RecoverSegmentViews(Fs(), db_path, options, &result, &segments));
    packed.segments.reserve(segments.size());
    for (RecoveredSegment& s : segments) {
      PWAL_RETURN_IF_ERROR(
          segbind::PackSegment(&s.bytes, &s.view, &packed, s.shares_bytes).WithContext("segment " + s.path));
    }
    return Status::OK();
  }
  Napi::Value ToJs(Napi::Env env, segbind::Handoff handoff) {
    Napi::Object out = Napi::Object::New(env);
    out.Set("result", segbind::RecoveryResultToJs(env, result));
    out.Set("records", segbind::PackedToJs(env, &packed, handoff));
    return out;
  }
};

struct MaxDurableEpochOp {
  std::string db_path;
  std::optional<uint64_t> epoch;
  explicit MaxDurableEpochOp(const Napi::CallbackInfo& info)
      : db_path(segbind::ParsePath(info[0], "dbPath")) {}
  Status Run() { return MaxDurableEpoch(Fs(), db_path, &epoch); }
  Napi::Value ToJs(Napi::Env env, segbind::Handoff /*handoff*/) {
    return epoch ? segbind::U64ToJs(env, *epoch) : env.Undefined();
  }
};

struct CleanupSegmentsOp {
  std::string db_path;
  size_t count = 0;
  explicit CleanupSegmentsOp(const Napi::CallbackInfo& info)
      : db_path(segbind::ParsePath(info[0], "dbPath")) {}
  Status Run() {
    PWAL_RETURN_IF_ERROR(CheckNoOpenWal(db_path, "cleanupSegments"));
    return CleanupSegments(Fs(), db_path, &count);
  }
  Napi::Value ToJs(Napi::Env env, segbind::Handoff /*handoff*/) { return Napi::Number::New(env, static_cast<double>(count)); }
};

// prepareSegments(dbPath, firstEpoch, count, sizeBytes, { fsyncPolicy }) -> files made.
struct PrepareSegmentsOp {
  std::string db_path;
  uint64_t first_epoch;
  uint64_t count;
  uint64_t size;
  SegmentWriteOptions options;
  uint64_t prepared = 0;
  explicit PrepareSegmentsOp(const Napi::CallbackInfo& info)
      : db_path(segbind::ParsePath(info[0], "dbPath")),
        first_epoch(segbind::ParseU64(info[1], "options.firstEpoch")),
        count(segbind::ParseU32(info[2], "options.count")),
        size(segbind::ParseU32(info[3], "options.sizeBytes")),
        options(segbind::ParseWriteOptions(info[4], "options")) {}
  Status Run() {
    // An open WAL names prepared files of its own future epochs.
    PWAL_RETURN_IF_ERROR(CheckNoOpenWal(db_path, "prepareSegments"));
    return PrepareSegmentFiles(Fs(), db_path, first_epoch, count, size, options.fsync_policy,
                               &prepared);
  }
  Napi::Value ToJs(Napi::Env env, segbind::Handoff /*handoff*/) { return Napi::Number::New(env, static_cast<double>(prepared)); }
};

// decodeSegmentSync(bytes): decodes an in-memory image (no file involved). Sync only: the bytes
// are borrowed from JS for the duration of the call.
Napi::Value DecodeSegmentSync(const Napi::CallbackInfo& info) {
  return GuardJs(info.Env(), [&]() -> Napi::Value {
    segbind::ByteView input = segbind::ParseBytes(info[0], "data");
    // One copy: the records' images are views of it, so they must not alias the caller's bytes.
    SegmentBytes bytes;
    bytes.Allocate(input.length);  // bad_alloc: GuardJs
    if (input.length > 0) std::memcpy(bytes.data(), input.data, input.length);
    SegmentView contents;
    Status st = DecodeSegmentView(bytes.data(), bytes.size(), &contents);
    PackedRecords packed;
    if (st.ok()) st = segbind::PackSegment(&bytes, &contents, &packed);
    if (!st.ok()) throw StatusToError(info.Env(), st);
    return ContentsToJs(info.Env(), contents, &packed, segbind::Handoff::kCopy);
  });
}

// segmentPath(dbPath, epoch) -> string. Pure; no I/O.
Napi::Value SegmentPathJs(const Napi::CallbackInfo& info) {
  std::string db_path = segbind::ParsePath(info[0], "dbPath");
  uint64_t epoch = segbind::ParseU64(info[1], "epoch");
  return Napi::String::New(info.Env(), SegmentPath(db_path, epoch));
}

template <typename Op>
void RegisterPair(Napi::Env env, Napi::Object exports, const char* name) {
  const std::string sync_name = std::string(name) + "Sync";
  exports.Set(name, Napi::Function::New(env, StartAsync<Op>, name));
  exports.Set(sync_name, Napi::Function::New(env, RunSync<Op>, sync_name));
}

}  // namespace

void RegisterSegments(Napi::Env env, Napi::Object exports) {
  RegisterPair<WriteSegmentOp>(env, exports, "writeSegment");
  RegisterPair<WriteSegmentPackedOp>(env, exports, "writeSegmentPacked");
  RegisterPair<ReadSegmentOp>(env, exports, "readSegment");
  RegisterPair<ListSegmentsOp>(env, exports, "listSegments");
  RegisterPair<DeleteSegmentOp>(env, exports, "deleteSegment");
  RegisterPair<IsUnwrittenSegmentOp>(env, exports, "isUnwrittenSegmentFile");
  RegisterPair<RecoverSegmentsOp>(env, exports, "recoverSegments");
  RegisterPair<MaxDurableEpochOp>(env, exports, "maxDurableEpoch");
  RegisterPair<CleanupSegmentsOp>(env, exports, "cleanupSegments");
  RegisterPair<PrepareSegmentsOp>(env, exports, "prepareSegments");
  exports.Set("decodeSegmentSync", Napi::Function::New(env, DecodeSegmentSync, "decodeSegmentSync"));
  exports.Set("segmentPath", Napi::Function::New(env, SegmentPathJs, "segmentPath"));
}

}  // namespace pwal
