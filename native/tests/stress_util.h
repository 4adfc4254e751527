// Shared pieces of the reliability campaign's native drivers (stress_*_test.cc): seeded
// workloads of commits, deterministic page images, and the recovery checker.
//
// The checker is written to collect failure descriptions instead of aborting at the first one,
// so that a long run (`npm run stress -- --workloads 100000`) reports every failing seed.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "segment.h"
#include "wal.h"
#include "wal_record.h"

namespace pwal {
namespace stress {

inline uint64_t SplitMix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// The page image of (txn, page): `size` bytes derived from both, so a torn, zeroed or
// garbage image can never match, and an image of another commit never matches either.
inline std::vector<uint8_t> Image(uint64_t txn, uint32_t page, size_t size) {
  std::vector<uint8_t> v(size);
  uint64_t s = SplitMix(txn * 0x100000001B3ull ^ page);
  for (size_t i = 0; i < size; i += 8) {
    s = SplitMix(s);
    for (size_t j = 0; j < 8 && i + j < size; ++j) v[i + j] = static_cast<uint8_t>(s >> (8 * j));
  }
  return v;
}

struct Commit {
  uint64_t txn = 0;                 // also the commit seq
  std::vector<uint32_t> pages;      // distinct, non-zero
  std::vector<uint32_t> sizes;      // one image size per page
  uint64_t epoch = 0;               // filled in at submit
  bool submitted = false;           // Submit returned OK
};

// Submits `c` to `slot` (Submit, or SubmitWait when wait_ms > 0).
inline Status SubmitCommit(Wal* wal, size_t slot, Commit* c, uint32_t wait_ms = 0) {
  std::vector<std::vector<uint8_t>> images;
  std::vector<SubmitFrame> frames;
  images.reserve(c->pages.size());
  for (size_t i = 0; i < c->pages.size(); ++i) images.push_back(Image(c->txn, c->pages[i], c->sizes[i]));
  for (size_t i = 0; i < c->pages.size(); ++i) {
    frames.push_back(SubmitFrame{c->pages[i], images[i].data(), images[i].size(),
                                 i + 1 == c->pages.size() ? static_cast<uint32_t>(c->pages.size()) : 0});
  }
  SubmitBatch b;
  b.txn_id = c->txn;
  b.txn_epoch = static_cast<uint32_t>(c->txn & 0xFFFF);
  b.commit_seq = c->txn;
  b.frames = frames.data();
  b.frame_count = frames.size();
  uint64_t e = 0;
  Status st = wait_ms > 0 ? wal->SubmitWait(slot, b, wait_ms, &e) : wal->Submit(slot, b, &e);
  if (st.ok()) {
    c->epoch = e;
    c->submitted = true;
  }
  return st;
}

// Mixed record sizes: mostly small, some pages, a few up to the 64 KiB maximum (and empty).
template <typename Rng>
uint32_t RandomImageSize(Rng& rng) {
  const uint64_t r = rng() % 1000;
  if (r < 30) return 0;
  if (r < 450) return 1 + rng() % 64;
  if (r < 750) return 65 + rng() % 960;
  if (r < 930) return 1025 + rng() % 7168;
  if (r < 990) return 8193 + rng() % 24576;
  return 65536;
}

template <typename Rng>
Commit RandomCommit(Rng& rng, uint64_t txn) {
  Commit c;
  c.txn = txn;
  const size_t frames = 1 + (rng() % 8 == 0 ? rng() % 6 : rng() % 2);
  std::set<uint32_t> pages;
  while (pages.size() < frames) pages.insert(1 + static_cast<uint32_t>(rng() % 64));
  for (uint32_t p : pages) {
    c.pages.push_back(p);
    c.sizes.push_back(RandomImageSize(rng));
  }
  return c;
}

// What a run did: every commit by txn, and the txns acknowledged durable.
struct Ledger {
  std::map<uint64_t, Commit> commits;   // submitted (epoch != 0) or attempted (epoch == 0)
  std::set<uint64_t> acked;
  // The largest epoch a checkpoint was asked to delete up to (clamped to the durable epoch at
  // the time), noted before the call: a crash may land in the middle of one. nullopt: none.
  std::optional<uint64_t> checkpoint_upto;
  uint64_t checkpoint_files_deleted = 0;  // by the checkpoints that returned OK
};


struct CheckStats {
  uint64_t records = 0;
  uint64_t commits_present = 0;
  uint64_t acked_checked = 0;
  uint64_t max_epoch = 0;
  bool any = false;
};

// Recovers `db` strictly and checks the campaign's invariants against `ledger`:
//   (1) strict recovery succeeds; with full/normal publication there is no torn tail;
//   (2) every record belongs to a submitted commit, in that commit's epoch, with the exact
//       image bytes, seq and token; no record twice;
//   (3) records come back in replay order (epoch, begin seq, txn id, page id);
//   (4) every commit is whole or absent;
//   (5) gap-free prefix: every submitted commit whose epoch <= the newest recovered epoch is
//       present (nothing is skipped), and every acknowledged commit is present;
//   (6) after checkpoints (ledger.checkpoint_upto): a gap-free *suffix* instead: commits of
//       epochs <= checkpoint_upto may be gone, but only below the oldest recovered epoch, and
//       nothing of a later epoch is ever gone.
// Appends failure descriptions to *failures; returns what was recovered (txn -> epoch).
inline std::map<uint64_t, uint64_t> CheckRecovered(FileSystem* fs, const std::string& db,
                                                   const Ledger& ledger, bool expect_no_torn_tail,
                                                   std::vector<std::string>* failures,
                                                   CheckStats* stats = nullptr) {
  std::map<uint64_t, uint64_t> present;
  auto fail = [&](const std::string& m) {
    if (failures->size() < 20) failures->push_back(m);
  };
  RecoveryResult rr;
  std::vector<WalRecord> records;
  Status st = RecoverSegments(fs, db, RecoveryOptions(), &rr, &records);
  if (!st.ok()) {
    fail("strict recovery failed: " + st.ToString());
    return present;
  }
  if (expect_no_torn_tail && rr.torn_tail) fail("torn tail after full/normal publication: " + rr.stop_reason);
  std::map<uint64_t, std::set<uint32_t>> pages_of;
  for (size_t i = 0; i < records.size(); ++i) {
    const WalRecord& r = records[i];
    if (i > 0 && ReplayLess(r, records[i - 1])) fail("record " + std::to_string(i) + " out of replay order");
    auto it = ledger.commits.find(r.txn_id);
    if (it == ledger.commits.end() || !it->second.submitted) {
      fail("recovered txn " + std::to_string(r.txn_id) + " that was never submitted");
      continue;
    }
    const Commit& c = it->second;
    size_t k = 0;
    while (k < c.pages.size() && c.pages[k] != r.page_id) ++k;
    if (k == c.pages.size()) {
      fail("txn " + std::to_string(r.txn_id) + ": unknown page " + std::to_string(r.page_id));
      continue;
    }
    if (r.epoch != c.epoch) {
      fail("txn " + std::to_string(r.txn_id) + " recovered in epoch " + std::to_string(r.epoch) +
           ", submitted to epoch " + std::to_string(c.epoch));
    }
    if (r.begin_seq != c.txn || !r.has_end_seq || r.end_seq != c.txn ||
        r.txn_epoch != static_cast<uint32_t>(c.txn & 0xFFFF) || !r.before_image.empty()) {
      fail("txn " + std::to_string(r.txn_id) + ": wrong seq/token fields");
    }
    if (r.after_image != Image(c.txn, r.page_id, c.sizes[k])) {
      fail("txn " + std::to_string(r.txn_id) + " page " + std::to_string(r.page_id) + ": corrupt image");
    }
    if (!pages_of[r.txn_id].insert(r.page_id).second) fail("txn " + std::to_string(r.txn_id) + ": duplicate page");
    if (stats) ++stats->records;
  }
  uint64_t max_epoch = 0;
  uint64_t min_epoch = UINT64_MAX;
  bool any = false;
  for (const auto& [txn, pages] : pages_of) {
    const Commit& c = ledger.commits.at(txn);
    if (pages.size() != c.pages.size()) {
      fail("partial commit " + std::to_string(txn) + ": " + std::to_string(pages.size()) + " of " +
           std::to_string(c.pages.size()) + " frames");
    }
    present[txn] = c.epoch;
    max_epoch = std::max(max_epoch, c.epoch);
    min_epoch = std::min(min_epoch, c.epoch);
    any = true;
  }
  // A commit that a checkpoint may have deleted: of an epoch it covered.
  auto checkpointed = [&](uint64_t epoch) {
    return ledger.checkpoint_upto.has_value() && epoch <= *ledger.checkpoint_upto;
  };
  for (const auto& [txn, c] : ledger.commits) {
    if (!c.submitted || present.count(txn) != 0) continue;
    if (any && c.epoch <= max_epoch && !(checkpointed(c.epoch) && c.epoch < min_epoch)) {
      fail("gap: txn " + std::to_string(txn) + " of epoch " + std::to_string(c.epoch) +
           " missing although epochs " + std::to_string(min_epoch) + ".." + std::to_string(max_epoch) +
           " were recovered" +
           (ledger.checkpoint_upto ? " (checkpoint up to " + std::to_string(*ledger.checkpoint_upto) + ")" : ""));
    }
  }
  for (uint64_t txn : ledger.acked) {
    if (present.count(txn) == 0) {
      auto it = ledger.commits.find(txn);
      if (it != ledger.commits.end() && checkpointed(it->second.epoch)) continue;
      fail("LOST acknowledged txn " + std::to_string(txn) + " (epoch " +
           std::to_string(it == ledger.commits.end() ? 0 : it->second.epoch) + ")");
    }
  }
  if (stats) {
    stats->commits_present += present.size();
    stats->acked_checked += ledger.acked.size();
    stats->max_epoch = max_epoch;
    stats->any = any;
  }
  return present;
}

inline uint64_t EnvU64(const char* name, uint64_t dflt) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return dflt;
  return std::strtoull(v, nullptr, 10);
}

inline const char* PolicyName(FsyncPolicy p) {
  return p == FsyncPolicy::kFull ? "full" : p == FsyncPolicy::kNormal ? "normal" : "off";
}

// True when built with ThreadSanitizer (a slower build: CI runs fewer workloads there).
constexpr bool kUnderTsan =
#if defined(__SANITIZE_THREAD__)
    true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
    true;
#else
    false;
#endif
#else
    false;
#endif

}  // namespace stress
}  // namespace pwal
