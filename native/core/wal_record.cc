#include "wal_record.h"

#include <algorithm>

namespace pwal {

void SortForReplay(std::vector<WalRecord>* records) {
  std::stable_sort(records->begin(), records->end(), ReplayLess<WalRecord>);
}

template <typename Record>
Status ValidateRecordsForEpoch(uint64_t epoch, const std::vector<Record>& records) {
  for (size_t i = 0; i < records.size(); ++i) {
    const Record& r = records[i];
    const std::string where = "record " + std::to_string(i);
    if (r.epoch != epoch) {
      return Status::InvalidArgument("segment epoch " + std::to_string(epoch) +
                                     " contains record from epoch " + std::to_string(r.epoch) +
                                     " (" + where + ")");
    }
    if (r.txn_id == 0) return Status::InvalidArgument(where + ": invalid txn_id (zero)");
    if (r.page_id == 0) return Status::InvalidArgument(where + ": invalid page_id (zero)");
    if (Span(r.before_image).size > kMaxImageBytes) {
      return Status::InvalidArgument(where + ": before_image length " +
                                     std::to_string(Span(r.before_image).size) + " exceeds maximum " +
                                     std::to_string(kMaxImageBytes));
    }
    if (Span(r.after_image).size > kMaxImageBytes) {
      return Status::InvalidArgument(where + ": after_image length " +
                                     std::to_string(Span(r.after_image).size) + " exceeds maximum " +
                                     std::to_string(kMaxImageBytes));
    }
  }
  return Status::OK();
}

template Status ValidateRecordsForEpoch(uint64_t, const std::vector<WalRecord>&);
template Status ValidateRecordsForEpoch(uint64_t, const std::vector<WalRecordRef>&);

}  // namespace pwal
