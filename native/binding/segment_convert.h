// JS <-> C++ conversions for the segment binding.
//
// Input: every JS value is checked and copied into plain C++ structs on the JS thread, before any
// background work starts (so no N-API handle or JS memory is touched off-thread). A bad value
// throws (as a C++ Napi::Error, turned into a JS exception by node-addon-api) a TypeError with
// code ERR_INVALID_ARG_TYPE or a RangeError with ERR_OUT_OF_RANGE naming the exact field, e.g.
// `batch.records[3].pageId`.
//
// Output: records are packed off-thread into three flat arrays (u64 fields, u32 fields, image
// bytes) handed to JS as ArrayBuffers without another copy; lib/segments.ts turns them into
// record objects (building objects in JS is several times cheaper than through N-API).
#pragma once

#include <napi.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "../core/segment.h"
#include "../core/wal_record.h"

namespace pwal {
namespace segbind {

// Number of u64 / u32 slots per packed record.
constexpr size_t kPackedU64PerRecord = 4;  // txnId, epoch, beginSeq, endSeq
constexpr size_t kPackedU32PerRecord = 5;  // txnEpoch, pageId, hasEndSeq, beforeLen, afterLen

// Bytes allocated without zero-filling (a vector's resize() would memset, touching every page
// once more before the copy: measurable on large recoveries).
struct RawBytes {
  std::unique_ptr<uint8_t[]> data;
  size_t size = 0;
};

struct PackedRecords {
  std::vector<uint64_t> u64;
  std::vector<uint32_t> u32;
  RawBytes bytes;  // before/after images of every record, in record order
};

// Moves `records` into `out` (freeing each record's images as it goes). Runs off-thread.
void PackRecords(std::vector<WalRecord>* records, PackedRecords* out);
// { u64: ArrayBuffer, u32: ArrayBuffer, bytes: ArrayBuffer }; consumes `packed`.
Napi::Object PackedToJs(Napi::Env env, PackedRecords* packed);

// ---- argument parsing (JS thread only; throws Napi::Error on bad input) ----
std::string ParsePath(Napi::Value value, const std::string& name);
uint64_t ParseU64(Napi::Value value, const std::string& name);
uint32_t ParseU32(Napi::Value value, const std::string& name, uint32_t min = 0);
bool ParseBool(Napi::Value value, const std::string& name, bool fallback);
// Options object: undefined/null -> empty object semantics (returns false), else must be an object.
bool ParseOptionsObject(Napi::Value value, const std::string& name, Napi::Object* out);

EpochBatch ParseBatch(Napi::Value value, const std::string& name);
SegmentWriteOptions ParseWriteOptions(Napi::Value value, const std::string& name);
RecoveryOptions ParseRecoveryOptions(Napi::Value value, const std::string& name);

// Borrowed view of bytes (Buffer / TypedArray / DataView / ArrayBuffer).
struct ByteView {
  const uint8_t* data = nullptr;
  size_t length = 0;
};
ByteView ParseBytes(Napi::Value value, const std::string& name);

// ---- output ----
Napi::Value U64ToJs(Napi::Env env, uint64_t v);
Napi::Object HeaderToJs(Napi::Env env, const SegmentHeader& header);
Napi::Value CertificateToJs(Napi::Env env, const CommitCertificate& cert);
Napi::Object RecoveryResultToJs(Napi::Env env, const RecoveryResult& result);

}  // namespace segbind
}  // namespace pwal
