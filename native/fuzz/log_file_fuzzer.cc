// libFuzzer target: DecodeLogFile on arbitrary bytes never crashes and reports only corruption;
// every frame it returns is aligned, after the previous one, chained to it, inside the input,
// and exactly what the encoder writes for its records (nothing is accepted that a writer would
// not have produced); damage is never followed by "a frame after the damage" unless damage was
// reported at all.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include "log_file.h"
#include "segment.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pwal::LogFileView v;
  pwal::DecodeLogFile(data, size, &v);
  if (v.frames.size() != v.frame_offsets.size()) std::abort();
  if (v.damage_offset.has_value()) {
    if (*v.damage_offset > size) std::abort();
    if (v.damage.code() != pwal::Status::Code::kCorruption) std::abort();
  } else if (v.frame_after_damage) {
    std::abort();
  }
  uint64_t min_next = 0;
  std::optional<uint64_t> prev_epoch;
  for (size_t k = 0; k < v.frames.size(); ++k) {
    const uint64_t off = v.frame_offsets[k];
    const pwal::SegmentView& f = v.frames[k];
    if (off % pwal::kLogFrameAlign != 0 || off < min_next || off >= size) std::abort();
    if ((f.header.flags & pwal::kSegmentFlagFrame) == 0 || !f.certificate) std::abort();
    if (prev_epoch.has_value()) {
      if (f.header.epoch <= *prev_epoch) std::abort();
      if (!f.certificate->has_prev || f.certificate->prev_durable_epoch != *prev_epoch) std::abort();
    }
    pwal::EpochBatch batch;
    batch.epoch = f.header.epoch;
    batch.records.resize(f.records.size());
    for (size_t i = 0; i < f.records.size(); ++i) {
      const pwal::RecordView& r = f.records[i];
      if (r.before_offset < off || r.before_offset > size || r.before_len > size - r.before_offset) std::abort();
      if (r.after_offset < off || r.after_offset > size || r.after_len > size - r.after_offset) std::abort();
      pwal::MaterializeRecord(data, r, &batch.records[i]);
    }
    batch.records_per_core = f.certificate->lane_record_counts;
    batch.db_size_pages = f.certificate->db_size_pages;
    pwal::SegmentWriteOptions o;
    o.frame = true;
    o.has_prev = f.certificate->has_prev;
    o.prev_durable_epoch = f.certificate->prev_durable_epoch;
    o.fallback_active = f.certificate->fallback_active;
    std::string again;
    if (!pwal::EncodeSegment(batch, o, &again, nullptr).ok()) std::abort();
    if (again.size() > size - off || std::memcmp(again.data(), data + off, again.size()) != 0) std::abort();
    min_next = off + again.size();
    prev_epoch = f.header.epoch;
  }
  return 0;
}
