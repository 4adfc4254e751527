// Log files: several consecutive epochs in one preallocated file, as frames.
//
// A log file is zero-filled and synced before its first use. Its epochs are written one after
// the other, each as a *frame*: a whole v2 segment image (docs/format.md) with the frame header
// flag (kSegmentFlagFrame), starting at a multiple of kLogFrameAlign, so that writing a frame
// never rewrites a sector that holds an earlier one. Between frames, and after the last one up
// to the end of the file, every byte is zero. Frames are written in epoch order, each only after
// the previous one's sync returned; within a file every frame after the first certifies the one
// before it (has_prev, prev_durable_epoch = its epoch).
//
// So after a crash at most the newest frame of the newest file can be torn, and all later bytes
// of that file are still zero. DecodeLogFile reads the frames in order and, at the first slot
// that is neither a valid frame nor the zero end, reports *damage* there, plus whether any valid
// frame header stands at a later slot (then it cannot be a torn tail: something was written
// after it). The recovery rules built on that are in docs/durability.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "segment.h"
#include "status.h"

namespace pwal {

constexpr size_t kLogFrameAlign = 4096;

struct LogFileView {
  // The frames before any damage, in file order; record views' offsets are relative to the
  // start of the file's bytes.
  std::vector<SegmentView> frames;
  std::vector<uint64_t> frame_offsets;
  // Where the first slot that is neither a valid frame nor the zero end starts, and why.
  std::optional<uint64_t> damage_offset;
  Status damage;
  // Damage found, and a slot after it starts with a valid frame header of a later epoch than
  // the last good frame: written after the damaged bytes, so they are not a torn tail.
  bool frame_after_damage = false;
};

// Reads the frames of a log file held in memory. Never fails: what it cannot read is reported
// in out->damage_offset / out->damage. A file whose first slot is zero has no frames (an
// unwritten prepared log file).
void DecodeLogFile(const uint8_t* data, size_t size, LogFileView* out);

// True when `data` starts with a valid v2 header carrying the frame flag (a log file).
bool IsLogFileImage(const uint8_t* data, size_t size);

}  // namespace pwal
