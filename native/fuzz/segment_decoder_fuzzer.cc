// libFuzzer target: DecodeSegment on arbitrary bytes must return a Status, never crash, never
// allocate from an unchecked size, and a decoded segment must re-encode to the same bytes
// (so nothing is accepted that the writer would not have produced, except v1's unchecked
// record contents and record order, which re-encoding canonicalizes).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "segment.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The zero-copy decoder (what the addon uses): same verdict, views inside the input.
  pwal::SegmentView view;
  const pwal::Status vst = pwal::DecodeSegmentView(data, size, &view);
  if (vst.ok()) {
    for (const pwal::RecordView& v : view.records) {
      if (v.before_offset > size || v.before_len > size - v.before_offset) std::abort();
      if (v.after_offset > size || v.after_len > size - v.after_offset) std::abort();
      if (v.epoch != view.header.epoch) std::abort();
    }
  } else if (vst.code() != pwal::Status::Code::kCorruption) {
    std::abort();
  }
  pwal::SegmentContents contents;
  const pwal::Status st = pwal::DecodeSegment(data, size, &contents);
  if (st.ok() != vst.ok()) std::abort();
  if (!st.ok()) {
    if (st.code() != pwal::Status::Code::kCorruption) std::abort();  // only ever corruption
    return 0;
  }
  if (contents.records.size() != contents.header.record_count) std::abort();
  if (contents.header.version == pwal::kSegmentFormatV2) {
    // v2 covers every byte: a successful decode must be exactly what the encoder writes.
    pwal::EpochBatch batch;
    batch.epoch = contents.header.epoch;
    batch.records = contents.records;
    batch.records_per_core = contents.certificate->lane_record_counts;
    batch.db_size_pages = contents.certificate->db_size_pages;
    pwal::SegmentWriteOptions o;
    o.format_version = pwal::kSegmentFormatV2;
    o.has_prev = contents.certificate->has_prev;
    o.prev_durable_epoch = contents.certificate->prev_durable_epoch;
    o.fallback_active = contents.certificate->fallback_active;
    o.padded = (contents.header.flags & pwal::kSegmentFlagPadded) != 0;
    o.frame = (contents.header.flags & pwal::kSegmentFlagFrame) != 0;
    std::string again;
    if (!pwal::EncodeSegment(batch, o, &again, nullptr).ok()) std::abort();
    // A padded segment (written into a prepared file), or a frame read alone, is followed by
    // zeros to the end of the file; the decoder verified every one of them.
    if (again.size() > size || (!o.padded && !o.frame && again.size() != size)) std::abort();
    if (std::memcmp(again.data(), data, again.size()) != 0) std::abort();
    for (size_t k = again.size(); k < size; ++k) {
      if (data[k] != 0) std::abort();
    }
  }
  return 0;
}
