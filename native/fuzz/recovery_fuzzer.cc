// libFuzzer target: RecoverSegments over a fault-injecting in-memory directory whose files come
// from the input. Input: byte 0 = options bits; then records of
//   [u8 epoch][u8 kind][u16 length][length bytes]
// kind 0: a raw file under the segment name of `epoch`; kind 1: a valid v2 segment for `epoch`
// (linked to the previous valid one), then the bytes XOR-ed over it; kind 2: a temporary.
// Recovery must never crash, must return only Ok/Corruption/CertificateGap, and what it returns
// must be a prefix of the epochs on disk, in replay order.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "fault_file_system.h"
#include "segment.h"

namespace {

pwal::EpochBatch Batch(uint64_t epoch, uint8_t seed) {
  pwal::EpochBatch b;
  b.epoch = epoch;
  for (int i = 0; i < 1 + seed % 3; ++i) {
    pwal::WalRecord r;
    r.txn_id = 1 + i;
    r.epoch = epoch;
    r.page_id = 1 + (seed + i) % 5;
    r.begin_seq = epoch * 10 + i;
    r.has_end_seq = true;
    r.end_seq = r.begin_seq;
    r.after_image.assign(1 + seed % 17, static_cast<uint8_t>(seed + i));
    b.records.push_back(r);
  }
  b.records_per_core = {static_cast<uint32_t>(b.records.size())};
  return b;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  pwal::FaultInjectingFileSystem fs;
  fs.MakeDir("/d");
  const std::string db = "/d/f.db";
  const uint8_t opts = data[0];
  size_t pos = 1;
  bool have_prev = false;
  uint64_t prev = 0;
  while (pos + 4 <= size) {
    const uint64_t epoch = data[pos];
    const uint8_t kind = data[pos + 1] % 3;
    size_t len = data[pos + 2] | (data[pos + 3] << 8);
    pos += 4;
    if (len > size - pos) len = size - pos;
    std::string bytes(reinterpret_cast<const char*>(data + pos), len);
    pos += len;
    const std::string path = pwal::SegmentPath(db, epoch);
    if (kind == 0) {
      fs.PutFile(path, bytes);
    } else if (kind == 1) {
      pwal::SegmentWriteOptions o;
      o.fsync_policy = pwal::FsyncPolicy::kOff;
      o.has_prev = have_prev && prev < epoch;
      o.prev_durable_epoch = o.has_prev ? prev : 0;
      std::string seg;
      if (!pwal::EncodeSegment(Batch(epoch, static_cast<uint8_t>(len)), o, &seg, nullptr).ok()) std::abort();
      for (size_t i = 0; i < bytes.size() && i < seg.size(); ++i) seg[i] ^= bytes[i];
      fs.PutFile(path, seg);
      have_prev = true;
      prev = epoch;
    } else {
      fs.PutFile(path + ".tmp-1-" + std::to_string(pos), bytes);
    }
  }
  pwal::RecoveryOptions ro;
  ro.skip_corrupt = (opts & 1) != 0;
  ro.delete_after_recovery = (opts & 2) != 0;
  ro.discard_torn_tail = (opts & 4) != 0;
  std::vector<pwal::SegmentEntry> before;
  if (!pwal::ListSegments(&fs, db, &before).ok()) std::abort();
  // Unwritten prepared files (>= 24 bytes, zero header) are not segments: recovery may skip
  // them (only with a proven chain, see docs/durability.md).
  std::vector<bool> unwritten(before.size(), false);
  for (size_t i = 0; i < before.size(); ++i) {
    bool u = false;
    if (!pwal::IsUnwrittenSegmentFile(&fs, before[i].path, &u).ok()) std::abort();
    unwritten[i] = u;
  }
  pwal::RecoveryResult rr;
  std::vector<pwal::WalRecord> records;
  const pwal::Status st = pwal::RecoverSegments(&fs, db, ro, &rr, &records);
  if (!st.ok()) {
    if (st.code() != pwal::Status::Code::kCorruption &&
        st.code() != pwal::Status::Code::kCertificateGap) {
      std::abort();
    }
    return 0;
  }
  // A prefix of the listing, in order (skipped unwritten files aside).
  if (rr.epochs.size() > before.size()) std::abort();
  size_t j = 0;
  for (size_t i = 0; i < rr.epochs.size(); ++i) {
    while (j < before.size() && unwritten[j]) ++j;
    if (j >= before.size() || rr.epochs[i] != before[j].epoch) std::abort();
    ++j;
  }
  if (rr.epochs.size() + rr.partial_segments.size() + rr.unwritten_skipped != before.size()) {
    std::abort();
  }
  for (size_t i = 1; i < records.size(); ++i) {
    if (pwal::ReplayLess(records[i], records[i - 1])) std::abort();
  }
  size_t n = 0;
  for (const pwal::WalRecord& r : records) {
    (void)r;
    ++n;
  }
  if (n != rr.records_applied) std::abort();
  return 0;
}
