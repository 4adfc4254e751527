// JS <-> C++ conversions for the segment binding.
//
// Input: every JS value is checked and copied into plain C++ structs on the JS thread, before any
// background work starts (so no N-API handle or JS memory is touched off-thread). A bad value
// throws (as a C++ Napi::Error, turned into a JS exception by node-addon-api) a TypeError with
// code ERR_INVALID_ARG_TYPE or a RangeError with ERR_OUT_OF_RANGE naming the exact field, e.g.
// `batch.records[3].pageId`.
//
// Output: records are packed off-thread into two flat descriptor arrays (u64 fields, u32 fields
// and image offsets) plus the segment files' own bytes, all handed to JS as ArrayBuffers without
// another copy; lib/segment-records.ts turns them into record objects whose images are Buffer
// views of the file bytes (building objects in JS is several times cheaper than through N-API).
#pragma once

#include <napi.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "../core/segment.h"
#include "../core/status.h"
#include "../core/wal_record.h"

namespace pwal {
namespace segbind {

// Records of one or more decoded segments, zero-copy: for each segment, its file bytes and its
// RecordView array are handed to JS as they are (two external ArrayBuffers per segment, freed
// when JS drops the last view of them). lib/segment-records.ts reads the RecordView fields at
// the byte offsets below (native byte order) and makes the images Buffer views of the file bytes.
constexpr size_t kRecordViewSize = 72;
constexpr size_t kRecordViewTxnId = 0;         // u64
constexpr size_t kRecordViewBeginSeq = 16;     // u64
constexpr size_t kRecordViewEndSeq = 24;       // u64
constexpr size_t kRecordViewBeforeOffset = 32;  // u64, < 2^32 (checked by PackSegment)
constexpr size_t kRecordViewAfterOffset = 40;   // u64, < 2^32
constexpr size_t kRecordViewBeforeLen = 48;     // u32
constexpr size_t kRecordViewAfterLen = 52;      // u32
constexpr size_t kRecordViewTxnEpoch = 56;      // u32
constexpr size_t kRecordViewPageId = 60;        // u32
constexpr size_t kRecordViewHasEndSeq = 64;     // u8 (0 or 1)

struct PackedSegment {
  SegmentBytes bytes;
  std::vector<RecordView> views;
  uint64_t epoch = 0;  // every record's epoch (the decoder checks it)
  // A later frame of a log file: no bytes of its own; its views point into the bytes of the
  // nearest earlier PackedSegment that has them (one ArrayBuffer in JS).
  bool shares_bytes = false;
};

struct PackedRecords {
  std::vector<PackedSegment> segments;
};

// Appends one decoded segment, taking its bytes and views. Runs off-thread. Fails (without
// touching `out`) when the segment is too large for u32 offsets in one JS ArrayBuffer (4 GiB).
Status PackSegment(SegmentBytes* bytes, SegmentView* view, PackedRecords* out,
                   bool shares_bytes = false);
// How PackedToJs hands native memory to JS.
//   kZeroCopy: the native buffers themselves, as external ArrayBuffers. Node runs their
//     finalizers (which free them) only on a later event-loop turn: right for the promise
//     forms, whose callers always return to the loop between two results.
//   kCopy: copies V8 owns, the native buffers freed at once. For the ...Sync forms: a
//     synchronous loop of calls never returns to the event loop, and with kZeroCopy it held
//     every result's memory until it did (20 recoverSegmentsSync calls of a 128 MiB log:
//     3.1 GB resident, each call 5x slower by the end).
enum class Handoff { kZeroCopy, kCopy };

// { segments: [{ bytes: ArrayBuffer, views: ArrayBuffer, epoch: bigint, count: number }] };
// consumes `packed`.
Napi::Object PackedToJs(Napi::Env env, PackedRecords* packed, Handoff handoff);

// ---- argument parsing (JS thread only; throws Napi::Error on bad input) ----
std::string ParsePath(Napi::Value value, const std::string& name);
uint64_t ParseU64(Napi::Value value, const std::string& name);
uint32_t ParseU32(Napi::Value value, const std::string& name, uint32_t min = 0);
bool ParseBool(Napi::Value value, const std::string& name, bool fallback);
// Options object: undefined/null -> empty object semantics (returns false), else must be an object.
bool ParseOptionsObject(Napi::Value value, const std::string& name, Napi::Object* out);

EpochBatch ParseBatch(Napi::Value value, const std::string& name);
// The packed form of a batch lib/segment-pack.ts builds for well-formed input: per record
// kPackedFields numbers in `fields` (txnId, txnToken.epoch, epoch, pageId, beginSeq, endSeq or
// -1 for none) and two images in `images` (before, after; null for an empty one). The records
// borrow the images, which stay valid while the call's arguments are alive and no JS runs:
// encode before returning.
constexpr size_t kPackedFields = 6;
EpochBatchRef ParsePackedBatch(Napi::Value epoch, Napi::Value fields, Napi::Value images,
                               Napi::Value records_per_core, Napi::Value db_size_pages,
                               const std::string& name);
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
