// Builders shared by the segment tests.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "segment.h"

namespace pwal {
namespace testing {

// The POSIX file system the segment tests run against.
inline FileSystem* Fs() { return FileSystem::Default(); }

inline WalRecord MakeRecord(uint64_t txn, uint64_t epoch, uint32_t page, uint64_t seq,
                            std::vector<uint8_t> after, bool has_end = true,
                            std::vector<uint8_t> before = {}) {
  WalRecord r;
  r.txn_id = txn;
  r.txn_epoch = 0;
  r.epoch = epoch;
  r.page_id = page;
  r.begin_seq = seq;
  r.has_end_seq = has_end;
  r.end_seq = has_end ? seq : 0;
  r.before_image = std::move(before);
  r.after_image = std::move(after);
  return r;
}

inline EpochBatch MakeBatch(uint64_t epoch, std::vector<WalRecord> records,
                            std::vector<uint32_t> per_core = {}) {
  EpochBatch b;
  b.epoch = epoch;
  if (per_core.empty() && !records.empty()) per_core = {static_cast<uint32_t>(records.size())};
  b.records = std::move(records);
  b.records_per_core = std::move(per_core);
  return b;
}

// One record per epoch on page 1 with a 16-byte after-image filled with the epoch.
inline EpochBatch SimpleBatch(uint64_t epoch) {
  return MakeBatch(epoch, {MakeRecord(epoch, epoch, 1, epoch * 100,
                                      std::vector<uint8_t>(16, static_cast<uint8_t>(epoch)))});
}

inline SegmentWriteOptions Opts(FsyncPolicy p = FsyncPolicy::kOff, uint16_t version = kSegmentFormatV2) {
  SegmentWriteOptions o;
  o.fsync_policy = p;
  o.format_version = version;
  return o;
}

}  // namespace testing
}  // namespace pwal
