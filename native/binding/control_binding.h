// The control surface's addon exports (threadSlot for the lane stager, the checkpoint-conflict
// guard of the segment API) and the parsing of the `control` open option.
#pragma once

#include <napi.h>

#include <string>

#include "../core/status.h"
#include "../core/wal_control.h"

namespace pwal {

// threadSlot(count), __resetThreadSlotCounterForTesting().
void RegisterControl(Napi::Env env, Napi::Object exports);

// Reads the (TypeScript-validated) native control fields of the options object:
// mode, laneCount, maxParallelCommitBytes, shadowPerMille. Returns false with a pending
// exception on a bad value.
bool ParseControlOptions(Napi::Env env, Napi::Object options, WalControlOptions* out);

// CheckpointConflict when deleting segments of `db_path` would pull history from under an open
// WAL: one open in this process (its next certificate links to the newest segment on disk), or
// one held by another process (its advisory lock "<db_path>-wal.lock" is taken). The open WAL of
// this process, if any, counts the conflict in its stats. Any thread.
Status CheckNoOpenWal(const std::string& db_path, const char* what);
// The db path a segment file belongs to ("<db>-wal-seg-<16 hex>"), or "" for another name.
std::string DbPathOfSegment(const std::string& segment_path);

}  // namespace pwal
