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

// A record's fields other than its images (shared by the owning and the borrowing kind).
struct WalRecordFields {
  uint64_t txn_id = 0;
  uint32_t txn_epoch = 0;
  uint64_t epoch = 0;
  uint32_t page_id = 0;
  uint64_t begin_seq = 0;
  bool has_end_seq = false;  // false: an aborted write, dropped at flush
  uint64_t end_seq = 0;
};

struct WalRecord : WalRecordFields {
  std::vector<uint8_t> before_image;
  std::vector<uint8_t> after_image;

  size_t AccountedBytes() const {
    return kRecordOverheadBytes + before_image.size() + after_image.size();
  }
};

// Bytes a record borrows (WalRecordRef): the caller keeps them alive and unchanged while the
// record is in use.
struct ImageSpan {
  const uint8_t* data = nullptr;
  size_t size = 0;
  bool empty() const { return size == 0; }
};

// A record whose images live elsewhere: what a caller that already holds the bytes (the addon,
// holding a JS call's buffers) encodes from, so the images are copied once, straight into the
// segment, instead of into owned vectors first.
struct WalRecordRef : WalRecordFields {
  ImageSpan before_image;
  ImageSpan after_image;
};

// The images of either kind of record, as spans (what the encoder reads).
inline ImageSpan Span(const std::vector<uint8_t>& v) { return ImageSpan{v.data(), v.size()}; }
inline ImageSpan Span(ImageSpan s) { return s; }

// Strict weak order of replay: (epoch, begin_seq, txn_id, page_id).
template <typename Record>
inline bool ReplayLess(const Record& a, const Record& b) {
  if (a.epoch != b.epoch) return a.epoch < b.epoch;
  if (a.begin_seq != b.begin_seq) return a.begin_seq < b.begin_seq;
  if (a.txn_id != b.txn_id) return a.txn_id < b.txn_id;
  return a.page_id < b.page_id;
}

// Sorts records into replay order (stable, so equal keys keep submission order).
void SortForReplay(std::vector<WalRecord>* records);

// Checks the invariants every writer enforces before touching a file: non-zero ids, image
// sizes, every record in `epoch`. Names the offending record index in the message.
// Defined for WalRecord and WalRecordRef.
template <typename Record>
Status ValidateRecordsForEpoch(uint64_t epoch, const std::vector<Record>& records);

// What an epoch flush hands to the segment layer: owned records (EpochBatch) or borrowed ones
// (EpochBatchRef).
template <typename Record>
struct BasicEpochBatch {
  uint64_t epoch = 0;
  std::vector<Record> records;
  std::vector<uint32_t> records_per_core;  // one count per lane/slot that contributed
  uint32_t db_size_pages = 0;              // largest dbSizeIfCommit seen in the epoch
};
using EpochBatch = BasicEpochBatch<WalRecord>;
using EpochBatchRef = BasicEpochBatch<WalRecordRef>;

}  // namespace pwal
