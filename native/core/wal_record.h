// WalRecord and EpochBatch: the unit of logging and the unit of publication.
//
// A record is one page image written by one transaction. Ids follow the seed:
// txn_id != 0, page_id != 0, images at most kMaxImageBytes (SQLite's largest page).
// Replay order inside and across epochs is the key (epoch, begin_seq, txn_id, page_id).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "status.h"

namespace pwal {

constexpr size_t kMaxImageBytes = 65536;
// Buffer accounting cost of one record beyond its images (the seed's "48 bytes + images").
constexpr size_t kRecordOverheadBytes = 48;

struct WalRecord {
  uint64_t txn_id = 0;
  uint32_t txn_epoch = 0;
  uint64_t epoch = 0;
  uint32_t page_id = 0;
  uint64_t begin_seq = 0;
  bool has_end_seq = false;  // false: an aborted write, dropped at flush
  uint64_t end_seq = 0;
  std::vector<uint8_t> before_image;
  std::vector<uint8_t> after_image;

  size_t AccountedBytes() const {
    return kRecordOverheadBytes + before_image.size() + after_image.size();
  }
};

// Strict weak order of replay: (epoch, begin_seq, txn_id, page_id).
inline bool ReplayLess(const WalRecord& a, const WalRecord& b) {
  if (a.epoch != b.epoch) return a.epoch < b.epoch;
  if (a.begin_seq != b.begin_seq) return a.begin_seq < b.begin_seq;
  if (a.txn_id != b.txn_id) return a.txn_id < b.txn_id;
  return a.page_id < b.page_id;
}

// Sorts records into replay order (stable, so equal keys keep submission order).
void SortForReplay(std::vector<WalRecord>* records);

// Checks the invariants every writer enforces before touching a file: non-zero ids, image
// sizes, every record in `epoch`. Names the offending record index in the message.
Status ValidateRecordsForEpoch(uint64_t epoch, const std::vector<WalRecord>& records);

// What an epoch flush hands to the segment layer.
struct EpochBatch {
  uint64_t epoch = 0;
  std::vector<WalRecord> records;
  std::vector<uint32_t> records_per_core;  // one count per lane/slot that contributed
  uint32_t db_size_pages = 0;              // largest dbSizeIfCommit seen in the epoch
};

}  // namespace pwal
