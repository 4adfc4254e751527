#include "log_file.h"

#include <algorithm>
#include <cstring>
#include <string>

namespace pwal {
namespace {

bool AllZero(const uint8_t* p, size_t n) {
  // Word at a time: a log file is mostly zeros, and recovery reads every byte of it.
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    if (w != 0) return false;
  }
  for (; i < n; ++i) {
    if (p[i] != 0) return false;
  }
  return true;
}

uint64_t AlignUp(uint64_t x) { return (x + kLogFrameAlign - 1) / kLogFrameAlign * kLogFrameAlign; }

// A slot whose header decodes, carries the frame flag, and names an epoch after `after`.
bool FrameHeaderAt(const uint8_t* data, size_t size, uint64_t off, std::optional<uint64_t> after) {
  SegmentHeader h;
  if (off >= size || !DecodeSegmentHeader(data + off, size - off, &h).ok()) return false;
  if (h.version != kSegmentFormatV2 || (h.flags & kSegmentFlagFrame) == 0) return false;
  return !after.has_value() || h.epoch > *after;
}

}  // namespace

bool IsLogFileImage(const uint8_t* data, size_t size) {
  return FrameHeaderAt(data, size, 0, std::nullopt);
}

void DecodeLogFile(const uint8_t* data, size_t size, LogFileView* out) {
  *out = LogFileView{};
  std::optional<uint64_t> last_epoch;
  uint64_t off = 0;
  const auto damaged = [&](Status why) {
    out->damage_offset = off;
    out->damage = Status::Corruption("log frame at offset " + std::to_string(off) + ": " +
                                     why.message());
    // A whole later frame (not just a header: image bytes of the torn frame could hold one by
    // chance) means the damaged slot was followed by a write. A page image that embeds a whole
    // valid frame of a later epoch at an aligned offset would be read as such: the safe side
    // (corruption is reported, nothing is dropped).
    for (uint64_t s = AlignUp(off + 1); s < size; s += kLogFrameAlign) {
      if (!FrameHeaderAt(data, size, s, last_epoch)) continue;
      SegmentView later;
      size_t end = 0;
      if (DecodeSegmentImage(data + s, size - s, &later, &end).ok()) {
        out->frame_after_damage = true;
        break;
      }
    }
  };
  while (off < size) {
    const size_t left = size - off;
    if (left < kSegmentHeaderSize || AllZero(data + off, kSegmentHeaderSize)) {
      // The end of the frames: everything from here on must be zero.
      if (!AllZero(data + off, left)) damaged(Status::Corruption("non-zero bytes after the last frame"));
      return;
    }
    SegmentView frame;
    size_t end = 0;
    Status st = DecodeSegmentImage(data + off, left, &frame, &end);
    if (!st.ok()) return damaged(st);
    if (frame.header.version != kSegmentFormatV2 || (frame.header.flags & kSegmentFlagFrame) == 0) {
      return damaged(Status::Corruption("not a frame (the frame flag is not set)"));
    }
    if (last_epoch.has_value()) {
      if (frame.header.epoch <= *last_epoch) {
        return damaged(Status::Corruption("epoch " + std::to_string(frame.header.epoch) +
                                          " does not follow epoch " + std::to_string(*last_epoch)));
      }
      const CommitCertificate& c = *frame.certificate;  // v2: always present
      if (!c.has_prev || c.prev_durable_epoch != *last_epoch) {
        return damaged(Status::Corruption(
            "epoch " + std::to_string(frame.header.epoch) +
            " does not certify the frame before it (epoch " + std::to_string(*last_epoch) + ")"));
      }
    }
    const uint64_t next = std::min<uint64_t>(AlignUp(off + end), size);
    if (!AllZero(data + off + end, next - (off + end))) {
      return damaged(Status::Corruption("non-zero bytes between frames"));
    }
    for (RecordView& r : frame.records) {
      r.before_offset += off;
      r.after_offset += off;
    }
    last_epoch = frame.header.epoch;
    out->frames.push_back(std::move(frame));
    out->frame_offsets.push_back(off);
    off = next;
  }
}

}  // namespace pwal
