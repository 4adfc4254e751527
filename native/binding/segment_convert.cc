#include "segment_convert.h"

#include <cmath>
#include <cstddef>
#include <cstring>
#include <memory>

#include "errors.h"
#include "wal_pin.h"

namespace pwal {
namespace segbind {
namespace {

constexpr double kMaxSafeInteger = 9007199254740991.0;  // 2^53 - 1

// "Received ..." in the style of Node's own argument errors.
std::string Describe(Napi::Value v) {
  if (v.IsUndefined()) return "Received undefined";
  if (v.IsNull()) return "Received null";
  switch (v.Type()) {
    case napi_number:
    case napi_boolean:
      return std::string("Received type ") + (v.IsNumber() ? "number" : "boolean") + " (" +
             v.ToString().Utf8Value() + ")";
    case napi_bigint:
      return "Received type bigint (" + v.ToString().Utf8Value() + "n)";
    case napi_string: {
      std::string s = v.As<Napi::String>().Utf8Value();
      if (s.size() > 28) s = s.substr(0, 25) + "...";
      return "Received type string ('" + s + "')";
    }
    case napi_symbol: return "Received type symbol";
    case napi_function: return "Received function";
    default: break;
  }
  if (v.IsArray()) return "Received an instance of Array";
  if (v.IsBuffer()) return "Received an instance of Buffer";
  return "Received an instance of Object";
}

[[noreturn]] void TypeErr(Napi::Value v, const std::string& name, const std::string& expected) {
  Napi::Env env = v.Env();
  ThrowArgType(env, name.c_str(), (expected + ". " + Describe(v)).c_str());
  throw env.GetAndClearPendingException();
}

[[noreturn]] void RangeErr(Napi::Env env, const std::string& name, const std::string& detail) {
  ThrowArgRange(env, name.c_str(), detail);
  throw env.GetAndClearPendingException();
}

std::string Field(const std::string& base, const char* field) { return base + "." + field; }

// Property keys interned once per call: napi_get_property with a cached key avoids re-creating
// the name string for every record.
struct RecordKeys {
  Napi::String txn_token, id, epoch, page_id, begin_seq, end_seq, before_image, after_image;
  explicit RecordKeys(Napi::Env env)
      : txn_token(Napi::String::New(env, "txnToken")),
        id(Napi::String::New(env, "id")),
        epoch(Napi::String::New(env, "epoch")),
        page_id(Napi::String::New(env, "pageId")),
        begin_seq(Napi::String::New(env, "beginSeq")),
        end_seq(Napi::String::New(env, "endSeq")),
        before_image(Napi::String::New(env, "beforeImage")),
        after_image(Napi::String::New(env, "afterImage")) {}
};

// The argument path of a record's field ("batch.records[7].txnToken.id"), built only when an
// error needs it: building it for every field of every record cost more than the parse itself.
// The parsers below take either a plain name or this; NameOf() turns either into the string.
struct LazyName {
  const std::string& records;  // "batch.records"
  uint32_t index;
  const char* field;
  const char* subfield = nullptr;
  std::string str() const {
    std::string s = records + "[" + std::to_string(index) + "]";
    if (field != nullptr) s = Field(s, field);
    if (subfield != nullptr) s = Field(s, subfield);
    return s;
  }
};
const std::string& NameOf(const std::string& name) { return name; }
std::string NameOf(const LazyName& name) { return name.str(); }

napi_valuetype TypeOf(Napi::Value v) {
  napi_valuetype t = napi_undefined;
  napi_typeof(v.Env(), v, &t);
  return t;
}

// A typed array's bytes in one N-API call (its data pointer already includes the byte offset).
bool TypedArrayBytes(Napi::Value v, ByteView* out) {
  bool is_typed = false;
  if (napi_is_typedarray(v.Env(), v, &is_typed) != napi_ok || !is_typed) return false;
  napi_typedarray_type type;
  size_t elements = 0;
  void* data = nullptr;
  if (napi_get_typedarray_info(v.Env(), v, &type, &elements, &data, nullptr, nullptr) != napi_ok) {
    return false;
  }
  size_t element_size = 8;
  switch (type) {
    case napi_int8_array: case napi_uint8_array: case napi_uint8_clamped_array: element_size = 1; break;
    case napi_int16_array: case napi_uint16_array: element_size = 2; break;
    case napi_int32_array: case napi_uint32_array: case napi_float32_array: element_size = 4; break;
    default: break;
  }
  out->data = static_cast<const uint8_t*>(data);
  out->length = data == nullptr ? 0 : elements * element_size;  // detached: empty
  return true;
}

// Each parser costs one or two N-API calls for a valid argument; only an error builds the name.
template <typename Name>
Napi::Object ObjectArg(Napi::Value v, const Name& name) {
  if (TypeOf(v) != napi_object || v.IsArray()) TypeErr(v, NameOf(name), "of type object");
  return v.As<Napi::Object>();
}

template <typename Name>
uint64_t U64Arg(Napi::Value value, const Name& name) {
  const napi_valuetype type = TypeOf(value);
  if (type == napi_number) {
    const double d = value.As<Napi::Number>().DoubleValue();
    if (!(d >= 0 && d <= kMaxSafeInteger) || std::floor(d) != d) {
      RangeErr(value.Env(), NameOf(name),
               "must be a safe integer >= 0 and <= 9007199254740991 (pass a bigint for larger "
               "values). Received " + value.ToString().Utf8Value());
    }
    return static_cast<uint64_t>(d);
  }
  if (type == napi_bigint) {
    bool lossless = false;
    uint64_t v = value.As<Napi::BigInt>().Uint64Value(&lossless);
    if (!lossless) {
      RangeErr(value.Env(), NameOf(name),
               "must be >= 0n and <= 18446744073709551615n. Received " +
                   value.ToString().Utf8Value() + "n");
    }
    return v;
  }
  TypeErr(value, NameOf(name), "of type bigint or number");
}

template <typename Name>
uint32_t U32Arg(Napi::Value value, const Name& name, uint32_t min) {
  const napi_valuetype type = TypeOf(value);
  uint64_t v;
  if (type == napi_number) {
    const double d = value.As<Napi::Number>().DoubleValue();
    v = (d >= 0 && d <= 4294967295.0 && std::floor(d) == d) ? static_cast<uint64_t>(d) : UINT64_MAX;
  } else if (type == napi_bigint) {
    bool lossless = false;
    v = value.As<Napi::BigInt>().Uint64Value(&lossless);
    if (!lossless) v = UINT64_MAX;
  } else {
    TypeErr(value, NameOf(name), "of type number");
  }
  if (v < min || v > 0xFFFFFFFFull) {
    RangeErr(value.Env(), NameOf(name),
             "must be an integer >= " + std::to_string(min) + " and <= 4294967295. Received " +
                 value.ToString().Utf8Value() + (type == napi_bigint ? "n" : ""));
  }
  return static_cast<uint32_t>(v);
}

template <typename Name>
void CopyImage(Napi::Value v, const Name& name, std::vector<uint8_t>* out) {
  ByteView bytes;
  if (!TypedArrayBytes(v, &bytes)) {
    if (!v.IsDataView()) TypeErr(v, NameOf(name), "an instance of Buffer, TypedArray or DataView");
    bytes = ParseBytes(v, NameOf(name));
  }
  if (bytes.length > kMaxImageBytes) {
    RangeErr(v.Env(), NameOf(name),
             "length " + std::to_string(bytes.length) + " exceeds maximum " +
                 std::to_string(kMaxImageBytes) + " (the largest SQLite page)");
  }
  if (bytes.length > 0) out->assign(bytes.data, bytes.data + bytes.length);
}

void ParseRecord(Napi::Value value, const std::string& records_name, uint32_t index,
                 const RecordKeys& k, WalRecord* r) {
  auto at = [&](const char* f, const char* sub = nullptr) { return LazyName{records_name, index, f, sub}; };
  Napi::Object obj = ObjectArg(value, at(nullptr));
  Napi::Object token = ObjectArg(obj.Get(k.txn_token), at("txnToken"));
  r->txn_id = U64Arg(token.Get(k.id), at("txnToken", "id"));
  if (r->txn_id == 0) RangeErr(value.Env(), at("txnToken", "id").str(), "must be != 0. Received 0");
  r->txn_epoch = U32Arg(token.Get(k.epoch), at("txnToken", "epoch"), 0);
  r->epoch = U64Arg(obj.Get(k.epoch), at("epoch"));
  r->page_id = U32Arg(obj.Get(k.page_id), at("pageId"), 1);
  r->begin_seq = U64Arg(obj.Get(k.begin_seq), at("beginSeq"));
  Napi::Value end_seq = obj.Get(k.end_seq);
  const napi_valuetype end_type = TypeOf(end_seq);
  r->has_end_seq = end_type != napi_null && end_type != napi_undefined;
  r->end_seq = r->has_end_seq ? U64Arg(end_seq, at("endSeq")) : 0;
  CopyImage(obj.Get(k.before_image), at("beforeImage"), &r->before_image);
  CopyImage(obj.Get(k.after_image), at("afterImage"), &r->after_image);
}



// A copy of [data, data+n) in memory V8 owns, as an ArrayBuffer of exactly n bytes: the
// collector frees it as soon as it is unreachable, with no finalizer of ours involved.
// napi_create_buffer_copy does not zero-fill first (napi_create_arraybuffer would); its
// ArrayBuffer is used when it is the Buffer's own, whole.
Napi::Value CopyToArrayBuffer(Napi::Env env, const void* data, size_t n) {
  if (n > 0) {
    napi_value buffer;
    void* copy = nullptr;
    napi_value ab;
    size_t offset = 1;
    void* ab_data = nullptr;
    size_t ab_length = 0;
    if (napi_create_buffer_copy(env, n, data, &copy, &buffer) == napi_ok &&
        napi_get_typedarray_info(env, buffer, nullptr, nullptr, nullptr, &ab, &offset) == napi_ok &&
        napi_get_arraybuffer_info(env, ab, &ab_data, &ab_length) == napi_ok && offset == 0 && ab_length == n) {
      return Napi::Value(env, ab);
    }
  }
  napi_value result;
  void* out = nullptr;
  if (napi_create_arraybuffer(env, n, &out, &result) != napi_ok) {
    throw Napi::Error::New(env, "cannot allocate a " + std::to_string(n) +
                                    "-byte ArrayBuffer for the records (use iterateSegmentRecords "
                                    "for logs larger than memory)");
  }
  if (n > 0) std::memcpy(out, data, n);
  return Napi::Value(env, result);
}

// Hands a vector's memory to JS (see Handoff), leaving *v empty. kZeroCopy falls back to a
// copy on runtimes without external buffers.
template <typename T>
Napi::Value VectorToArrayBuffer(Napi::Env env, std::vector<T>* v, napi_finalize finalize, Handoff handoff) {
  const size_t byte_length = v->size() * sizeof(T);
  if (handoff == Handoff::kZeroCopy && byte_length > 0) {
    auto* owned = new std::vector<T>(std::move(*v));
    napi_value result;
    if (napi_create_external_arraybuffer(env, owned->data(), byte_length, finalize, owned, &result) == napi_ok) {
      return Napi::Value(env, result);
    }
    *v = std::move(*owned);
    delete owned;
  }
  Napi::Value out = CopyToArrayBuffer(env, v->data(), byte_length);
  std::vector<T>().swap(*v);
  return out;
}

void FreeSegmentBytes(napi_env, void* data, void* hint) {
  SegmentBytes::Free(static_cast<uint8_t*>(data), reinterpret_cast<size_t>(hint));
}

// A segment file's bytes to JS (see Handoff), leaving *raw empty (its buffer back in the pool
// at once when copied, for the next read to reuse).
Napi::Value SegmentBytesToArrayBuffer(Napi::Env env, SegmentBytes* raw, Handoff handoff) {
  const size_t size = raw->size();
  if (handoff == Handoff::kZeroCopy && size > 0) {
    size_t capacity = 0;
    uint8_t* data = raw->Release(&capacity);
    napi_value result;
    if (napi_create_external_arraybuffer(env, data, size, FreeSegmentBytes, reinterpret_cast<void*>(capacity),
                                         &result) == napi_ok) {
      return Napi::Value(env, result);
    }
    raw->Adopt(data, size, capacity);  // runtimes without external buffers: copied below
  }
  Napi::Value out = CopyToArrayBuffer(env, raw->data(), size);
  raw->Reset();
  return out;
}

}  // namespace

ByteView ParseBytes(Napi::Value value, const std::string& name) {
  ByteView out;
  if (TypedArrayBytes(value, &out)) {
    return out;
  } else if (value.IsDataView()) {
    Napi::DataView dv = value.As<Napi::DataView>();
    out.length = dv.ByteLength();
    out.data = static_cast<const uint8_t*>(dv.ArrayBuffer().Data()) + dv.ByteOffset();
  } else if (value.IsArrayBuffer()) {
    Napi::ArrayBuffer ab = value.As<Napi::ArrayBuffer>();
    out.length = ab.ByteLength();
    out.data = static_cast<const uint8_t*>(ab.Data());
  } else {
    TypeErr(value, name, "an instance of Buffer, TypedArray, DataView or ArrayBuffer");
  }
  if (out.data == nullptr) out.length = 0;  // detached
  return out;
}

std::string ParsePath(Napi::Value value, const std::string& name) {
  if (!value.IsString()) TypeErr(value, name, "of type string");
  std::string s = value.As<Napi::String>().Utf8Value();
  if (s.empty()) {
    Napi::TypeError e = Napi::TypeError::New(value.Env(), "The \"" + name + "\" argument must be a non-empty path");
    e.Value().Set("code", "ERR_INVALID_ARG_VALUE");
    throw e;
  }
  if (s.find('\0') != std::string::npos) {
    Napi::TypeError e = Napi::TypeError::New(
        value.Env(), "The \"" + name + "\" argument must be a string without null bytes. Received '" +
                         s.substr(0, s.find('\0')) + "\\x00...'");
    e.Value().Set("code", "ERR_INVALID_ARG_VALUE");
    throw e;
  }
  return s;
}

uint64_t ParseU64(Napi::Value value, const std::string& name) { return U64Arg(value, name); }

uint32_t ParseU32(Napi::Value value, const std::string& name, uint32_t min) {
  return U32Arg(value, name, min);
}

bool ParseBool(Napi::Value value, const std::string& name, bool fallback) {
  if (value.IsUndefined()) return fallback;
  if (!value.IsBoolean()) TypeErr(value, name, "of type boolean");
  return value.As<Napi::Boolean>().Value();
}

bool ParseOptionsObject(Napi::Value value, const std::string& name, Napi::Object* out) {
  if (value.IsUndefined() || value.IsNull()) return false;
  *out = ObjectArg(value, name);
  return true;
}

namespace {
// recordsPerCore (optional array of u32) and dbSizePages (optional u32) of a batch.
template <typename Batch>
void ParseLaneCounts(Napi::Value rpc_value, Napi::Value db_size, const std::string& name, Batch* batch) {
  const std::string rpc_name = Field(name, "recordsPerCore");
  if (!rpc_value.IsUndefined()) {
    if (!rpc_value.IsArray()) TypeErr(rpc_value, rpc_name, "an instance of Array");
    Napi::Array rpc = rpc_value.As<Napi::Array>();
    const uint32_t lanes = rpc.Length();
    for (uint32_t i = 0; i < lanes; ++i) {
      batch->records_per_core.push_back(
          ParseU32(rpc.Get(i), rpc_name + "[" + std::to_string(i) + "]"));
    }
  }
  batch->db_size_pages = db_size.IsUndefined() || db_size.IsNull()
                             ? 0
                             : ParseU32(db_size, Field(name, "dbSizePages"));
}
}  // namespace

EpochBatch ParseBatch(Napi::Value value, const std::string& name) {
  Napi::Env env = value.Env();
  Napi::Object obj = ObjectArg(value, name);
  EpochBatch batch;
  batch.epoch = ParseU64(obj.Get("epoch"), Field(name, "epoch"));

  const std::string records_name = Field(name, "records");
  Napi::Value records_value = obj.Get("records");
  if (!records_value.IsArray()) TypeErr(records_value, records_name, "an instance of Array");
  Napi::Array records = records_value.As<Napi::Array>();
  const uint32_t n = records.Length();
  // Grow as records are parsed: a sparse array can claim a length of 2^32 - 1 it does not hold.
  batch.records.reserve(n < 65536 ? n : 65536);
  RecordKeys keys(env);
  for (uint32_t i = 0; i < n; ++i) {
    Napi::HandleScope scope(env);
    batch.records.emplace_back();
    ParseRecord(records.Get(i), records_name, i, keys, &batch.records.back());
  }

  ParseLaneCounts(obj.Get("recordsPerCore"), obj.Get("dbSizePages"), name, &batch);
  return batch;
}

EpochBatchRef ParsePackedBatch(Napi::Value epoch, Napi::Value fields_value, Napi::Value images_value,
                               Napi::Value records_per_core, Napi::Value db_size_pages,
                               const std::string& name) {
  Napi::Env env = epoch.Env();
  EpochBatchRef batch;
  batch.epoch = ParseU64(epoch, Field(name, "epoch"));
  const std::string fields_name = Field(name, "fields");
  const std::string images_name = Field(name, "images");
  if (!fields_value.IsTypedArray() ||
      fields_value.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
    TypeErr(fields_value, fields_name, "an instance of Float64Array");
  }
  Napi::Float64Array fields = fields_value.As<Napi::Float64Array>();
  if (fields.ElementLength() % kPackedFields != 0) {
    RangeErr(env, fields_name, "length must be a multiple of " + std::to_string(kPackedFields));
  }
  const size_t n = fields.ElementLength() / kPackedFields;
  if (!images_value.IsArray()) TypeErr(images_value, images_name, "an instance of Array");
  Napi::Array images = images_value.As<Napi::Array>();
  if (images.Length() != 2 * n) {
    RangeErr(env, images_name, "length must be " + std::to_string(2 * n) + " (2 per record)");
  }
  // 1. Every image handle first: reading an element of an array built by a direct caller may run
  //    its code, which could detach a buffer read before. Nothing below runs JS, so the spans
  //    taken in step 3 stay valid until the segment is encoded (the handles keep them alive).
  std::vector<napi_value> handles(2 * n);
  for (uint32_t i = 0; i < 2 * n; ++i) handles[i] = images.Get(i);
  // 2. Fields (a copy of the numbers: the Float64Array cannot change while no JS runs).
  const double* f = fields.Data();
  batch.records.resize(n);
  const auto field_name = [&](size_t i, size_t k) {
    return fields_name + "[" + std::to_string(i * kPackedFields + k) + "]";
  };
  const auto u64 = [&](size_t i, size_t k) -> uint64_t {
    const double d = f[i * kPackedFields + k];
    if (!(d >= 0 && d <= kMaxSafeInteger) || std::floor(d) != d) {
      RangeErr(env, field_name(i, k), "must be a safe integer >= 0");
    }
    return static_cast<uint64_t>(d);
  };
  const auto u32 = [&](size_t i, size_t k, uint32_t min) -> uint32_t {
    const uint64_t v = u64(i, k);
    if (v < min || v > 0xFFFFFFFFull) RangeErr(env, field_name(i, k), "must be a u32 >= " + std::to_string(min));
    return static_cast<uint32_t>(v);
  };
  for (size_t i = 0; i < n; ++i) {
    WalRecordRef& r = batch.records[i];
    r.txn_id = u64(i, 0);
    r.txn_epoch = u32(i, 1, 0);
    r.epoch = u64(i, 2);
    r.page_id = u32(i, 3, 1);
    r.begin_seq = u64(i, 4);
    r.has_end_seq = f[i * kPackedFields + 5] != -1;
    r.end_seq = r.has_end_seq ? u64(i, 5) : 0;
    if (r.txn_id == 0) RangeErr(env, field_name(i, 0), "must be != 0");
  }
  // 3. Image spans. null stands for an empty image (packBatch passes one for every empty
  //    before-image, the common case: no typed-array queries for it).
  for (size_t k = 0; k < 2 * n; ++k) {
    ByteView bytes;
    Napi::Value v(env, handles[k]);
    if (v.IsNull()) continue;  // the span stays empty
    if (!TypedArrayBytes(v, &bytes)) TypeErr(v, images_name + "[" + std::to_string(k) + "]", "a TypedArray or null");
    if (bytes.length > kMaxImageBytes) {
      RangeErr(env, images_name + "[" + std::to_string(k) + "]",
               "length " + std::to_string(bytes.length) + " exceeds maximum " + std::to_string(kMaxImageBytes));
    }
    ImageSpan& span = k % 2 == 0 ? batch.records[k / 2].before_image : batch.records[k / 2].after_image;
    span = ImageSpan{bytes.data, bytes.length};
  }
  ParseLaneCounts(records_per_core, db_size_pages, name, &batch);
  return batch;
}

SegmentWriteOptions ParseWriteOptions(Napi::Value value, const std::string& name) {
  SegmentWriteOptions options;
  Napi::Object obj;
  if (!ParseOptionsObject(value, name, &obj)) return options;
  Napi::Value policy = obj.Get("fsyncPolicy");
  if (!policy.IsUndefined()) {
    const std::string field = Field(name, "fsyncPolicy");
    if (!policy.IsString()) TypeErr(policy, field, "of type string");
    const std::string p = policy.As<Napi::String>().Utf8Value();
    if (!ParseFsyncPolicy(p, &options.fsync_policy)) {
      RangeErr(value.Env(), field, "must be one of 'full', 'normal', 'off'. Received '" + p + "'");
    }
  }
  Napi::Value version = obj.Get("formatVersion");
  if (!version.IsUndefined()) {
    const std::string field = Field(name, "formatVersion");
    uint32_t v = ParseU32(version, field);
    if (v != kSegmentFormatV1 && v != kSegmentFormatV2) {
      RangeErr(value.Env(), field, "must be 1 or 2. Received " + std::to_string(v));
    }
    options.format_version = static_cast<uint16_t>(v);
  }
  Napi::Value prev = obj.Get("prevDurableEpoch");
  if (!prev.IsUndefined() && !prev.IsNull()) {
    options.has_prev = true;
    options.prev_durable_epoch = ParseU64(prev, Field(name, "prevDurableEpoch"));
  }
  options.fallback_active = ParseBool(obj.Get("fallbackActive"), Field(name, "fallbackActive"), false);
  return options;
}

RecoveryOptions ParseRecoveryOptions(Napi::Value value, const std::string& name) {
  RecoveryOptions options;
  Napi::Object obj;
  if (!ParseOptionsObject(value, name, &obj)) return options;
  options.skip_corrupt = ParseBool(obj.Get("skipCorrupt"), Field(name, "skipCorrupt"), false);
  options.delete_after_recovery =
      ParseBool(obj.Get("deleteAfterRecovery"), Field(name, "deleteAfterRecovery"), false);
  options.discard_torn_tail =
      ParseBool(obj.Get("discardTornTail"), Field(name, "discardTornTail"), false);
  return options;
}

static_assert(sizeof(RecordView) == kRecordViewSize, "RecordView layout (see segment_convert.h)");
static_assert(offsetof(RecordView, txn_id) == kRecordViewTxnId, "RecordView layout");
static_assert(offsetof(RecordView, begin_seq) == kRecordViewBeginSeq, "RecordView layout");
static_assert(offsetof(RecordView, end_seq) == kRecordViewEndSeq, "RecordView layout");
static_assert(offsetof(RecordView, before_offset) == kRecordViewBeforeOffset, "RecordView layout");
static_assert(offsetof(RecordView, after_offset) == kRecordViewAfterOffset, "RecordView layout");
static_assert(offsetof(RecordView, before_len) == kRecordViewBeforeLen, "RecordView layout");
static_assert(offsetof(RecordView, after_len) == kRecordViewAfterLen, "RecordView layout");
static_assert(offsetof(RecordView, txn_epoch) == kRecordViewTxnEpoch, "RecordView layout");
static_assert(offsetof(RecordView, page_id) == kRecordViewPageId, "RecordView layout");
static_assert(offsetof(RecordView, has_end_seq) == kRecordViewHasEndSeq, "RecordView layout");
static_assert(sizeof(bool) == 1, "RecordView layout");

Status PackSegment(SegmentBytes* bytes, SegmentView* view, PackedRecords* out, bool shares_bytes) {
  if (shares_bytes && out->segments.empty()) {
    return Status::InvalidArgument("a log frame's records without its file's bytes");
  }
  if (bytes->size() > UINT32_MAX) {
    return Status::IoError("segment of " + std::to_string(bytes->size()) +
                               " bytes is too large to hand to JavaScript as one buffer",
                           27 /*EFBIG*/);
  }
  PackedSegment seg;
  seg.bytes = std::move(*bytes);
  seg.views = std::move(view->records);
  seg.epoch = view->header.epoch;
  seg.shares_bytes = shares_bytes;
  view->records.clear();
  out->segments.push_back(std::move(seg));
  return Status::OK();
}

namespace {
void DeleteViews(napi_env, void*, void* hint) { delete static_cast<std::vector<RecordView>*>(hint); }
}  // namespace

Napi::Object PackedToJs(Napi::Env env, PackedRecords* packed, Handoff handoff) {
  // The buffers handed out are freed by finalizers in this library (into the process-wide
  // buffer pool), possibly in another environment after a transfer, so the library must stay
  // mapped as long as any of them can exist: pin it (idempotent; see wal_pin.h).
  PinAddonInMemory();
  Napi::Object out = Napi::Object::New(env);
  const size_t n = packed->segments.size();
  Napi::Array segments = Napi::Array::New(env, n);
  Napi::Value file_bytes;  // the ArrayBuffer of the current file (shared by a log file's frames)
  for (size_t i = 0; i < n; ++i) {
    PackedSegment& seg = packed->segments[i];
    Napi::Object s = Napi::Object::New(env);
    s.Set("count", Napi::Number::New(env, static_cast<double>(seg.views.size())));
    if (!seg.shares_bytes) file_bytes = SegmentBytesToArrayBuffer(env, &seg.bytes, handoff);
    s.Set("bytes", file_bytes);
    s.Set("views", VectorToArrayBuffer(env, &seg.views, DeleteViews, handoff));
    s.Set("epoch", U64ToJs(env, seg.epoch));
    segments.Set(static_cast<uint32_t>(i), s);
  }
  std::vector<PackedSegment>().swap(packed->segments);
  out.Set("segments", segments);
  return out;
}

Napi::Value U64ToJs(Napi::Env env, uint64_t v) { return Napi::BigInt::New(env, v); }

Napi::Object HeaderToJs(Napi::Env env, const SegmentHeader& header) {
  Napi::Object h = Napi::Object::New(env);
  h.Set("version", Napi::Number::New(env, header.version));
  h.Set("epoch", U64ToJs(env, header.epoch));
  h.Set("recordCount", Napi::Number::New(env, header.record_count));
  return h;
}

Napi::Value CertificateToJs(Napi::Env env, const CommitCertificate& cert) {
  Napi::Object c = Napi::Object::New(env);
  c.Set("formatVersion", Napi::Number::New(env, cert.format_version));
  c.Set("certificateEpoch", U64ToJs(env, cert.certificate_epoch));
  c.Set("commitSeqLo", U64ToJs(env, cert.commit_seq_lo));
  c.Set("commitSeqHi", U64ToJs(env, cert.commit_seq_hi));
  c.Set("durableSegmentEpoch",
        cert.has_prev ? U64ToJs(env, cert.prev_durable_epoch) : env.Null());
  c.Set("laneCount", Napi::Number::New(env, static_cast<double>(cert.lane_record_counts.size())));
  Napi::Array lanes = Napi::Array::New(env, cert.lane_record_counts.size());
  for (size_t i = 0; i < cert.lane_record_counts.size(); ++i) {
    lanes.Set(static_cast<uint32_t>(i), Napi::Number::New(env, cert.lane_record_counts[i]));
  }
  c.Set("laneRecordCounts", lanes);
  c.Set("dbSizePages", Napi::Number::New(env, cert.db_size_pages));
  c.Set("pageSetSize", Napi::Number::New(env, cert.page_set_size));
  c.Set("certificateCrc32c", Napi::Number::New(env, cert.certificate_crc32c));
  c.Set("fallbackActive", Napi::Boolean::New(env, cert.fallback_active));
  return c;
}

Napi::Object RecoveryResultToJs(Napi::Env env, const RecoveryResult& result) {
  Napi::Object r = Napi::Object::New(env);
  r.Set("segmentsRecovered", Napi::Number::New(env, static_cast<double>(result.segments_recovered)));
  r.Set("recordsApplied", Napi::Number::New(env, static_cast<double>(result.records_applied)));
  r.Set("bytesRead", Napi::Number::New(env, static_cast<double>(result.bytes_read)));
  Napi::Array epochs = Napi::Array::New(env, result.epochs.size());
  for (size_t i = 0; i < result.epochs.size(); ++i) {
    epochs.Set(static_cast<uint32_t>(i), U64ToJs(env, result.epochs[i]));
  }
  r.Set("epochs", epochs);
  Napi::Array partial = Napi::Array::New(env, result.partial_segments.size());
  for (size_t i = 0; i < result.partial_segments.size(); ++i) {
    partial.Set(static_cast<uint32_t>(i), Napi::String::New(env, result.partial_segments[i]));
  }
  r.Set("partialSegments", partial);
  r.Set("tornTail", Napi::Boolean::New(env, result.torn_tail));
  r.Set("stopReason", result.stop_reason.empty() ? env.Null()
                                                 : Napi::String::New(env, result.stop_reason));
  Napi::Array certs = Napi::Array::New(env, result.certificates.size());
  for (size_t i = 0; i < result.certificates.size(); ++i) {
    certs.Set(static_cast<uint32_t>(i), CertificateToJs(env, result.certificates[i]));
  }
  r.Set("certificates", certs);
  return r;
}

}  // namespace segbind
}  // namespace pwal
