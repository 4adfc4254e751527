// Writes the seed corpus for the fuzz targets (run by scripts/fuzz.sh when the corpus is
// missing; the committed corpus was produced by it): small valid v1 and v2 segments, an empty
// one, one with a certificate link, recovery inputs built from them, and log files.
#include <cstdio>
#include <string>

#include "log_file.h"
#include "segment.h"

namespace {

void Write(const std::string& path, const std::string& bytes) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return;
  std::fwrite(bytes.data(), 1, bytes.size(), f);
  std::fclose(f);
}

pwal::WalRecord Rec(uint64_t txn, uint64_t epoch, uint32_t page, uint64_t seq, size_t n, bool end) {
  pwal::WalRecord r;
  r.txn_id = txn;
  r.epoch = epoch;
  r.page_id = page;
  r.begin_seq = seq;
  r.has_end_seq = end;
  r.end_seq = end ? seq : 0;
  r.before_image.assign(n / 2, 0xB0);
  r.after_image.assign(n, 0xA0);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_corpus <corpus dir>\n");
    return 2;
  }
  const std::string dir = argv[1];
  std::string rec_input(1, '\0');
  int idx = 0;
  for (uint16_t version : {pwal::kSegmentFormatV1, pwal::kSegmentFormatV2}) {
    for (int shape = 0; shape < 3; ++shape) {
      pwal::EpochBatch b;
      b.epoch = 3 + shape;
      if (shape >= 1) b.records.push_back(Rec(1, b.epoch, 1, 10, 8, true));
      if (shape >= 2) b.records.push_back(Rec(2, b.epoch, 2, 11, 3, false));
      b.records_per_core = {static_cast<uint32_t>(b.records.size()), 0};
      b.db_size_pages = 4;
      pwal::SegmentWriteOptions o;
      o.format_version = version;
      o.has_prev = shape == 2;
      o.prev_durable_epoch = 2;
      std::string bytes;
      if (!pwal::EncodeSegment(b, o, &bytes, nullptr).ok()) return 1;
      Write(dir + "/segment_decoder/v" + std::to_string(version) + "_" + std::to_string(shape), bytes);
      // Recovery input: this segment as a raw file under its epoch.
      std::string chunk;
      chunk.push_back(static_cast<char>(b.epoch));
      chunk.push_back(0);
      chunk.push_back(static_cast<char>(bytes.size() & 0xFF));
      chunk.push_back(static_cast<char>(bytes.size() >> 8));
      rec_input += chunk + bytes;
      ++idx;
    }
  }
  Write(dir + "/recovery/raw_segments", rec_input);
  // Three generated, linked segments (kind 1, no XOR damage) then one damaged in the middle.
  std::string chain(1, '\0');
  for (int e = 1; e <= 3; ++e) chain += std::string{static_cast<char>(e), 1, 0, 0};
  Write(dir + "/recovery/chain", chain);
  std::string damaged(1, '\0');
  damaged += std::string{1, 1, 0, 0};
  damaged += std::string{2, 1, 1, 0} + std::string(1, '\x40');
  damaged += std::string{3, 1, 0, 0};
  Write(dir + "/recovery/damaged_middle", damaged);
  // Log files: two chained frames at aligned slots, zeros after; and an unwritten one.
  std::string log(2 * pwal::kLogFrameAlign + 64, '\0');
  for (int k = 0; k < 2; ++k) {
    pwal::EpochBatch b;
    b.epoch = 7 + k;
    b.records.push_back(Rec(1 + k, b.epoch, 1, 20 + k, 8, true));
    b.records_per_core = {1};
    pwal::SegmentWriteOptions o;
    o.frame = true;
    o.has_prev = true;
    o.prev_durable_epoch = 6 + k;
    std::string bytes;
    if (!pwal::EncodeSegment(b, o, &bytes, nullptr).ok()) return 1;
    log.replace(k * pwal::kLogFrameAlign, bytes.size(), bytes);
  }
  Write(dir + "/log_file/two_frames", log);
  Write(dir + "/log_file/unwritten", std::string(pwal::kLogFrameAlign, '\0'));
  std::printf("wrote %d decoder seeds, 3 recovery seeds and 2 log-file seeds\n", idx);
  return 0;
}
