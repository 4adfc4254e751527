// Wal's prepared files (contracts in wal.h): segment files and log files made ahead of time,
// off the commit path, so that publishing an epoch needs no new inode or name. The preparer
// runs on its own thread (PrepareMode::kBackground) or inline on the flusher's; the flusher
// claims files under prep_mu_.
#include <algorithm>
#include <mutex>

#include "log_file.h"
#include "wal.h"

namespace pwal {

namespace {
constexpr uint64_t kMinPreparedSize = 4096;
constexpr size_t kPrepareBatch = 32;
constexpr uint64_t kPreparedBytesAhead = 16u << 20;

uint64_t PreparedSizeFor(uint64_t bytes) {
  uint64_t want = bytes + bytes / 4;
  uint64_t p = kMinPreparedSize;
  while (p < want) p <<= 1;
  return p;
}
}  // namespace

// ---- prepared segment files ------------------------------------------------------------------

bool Wal::ClaimPrepared(uint64_t e, bool has_records, PreparedFile* out) {
  if (!prep_on_) return false;
  std::vector<uint64_t> orphans;
  bool have = false;
  {
    std::lock_guard<std::mutex> g(prep_mu_);
    if (prep_floor_ < e + 1) prep_floor_ = e + 1;
    while (!prep_named_.empty() && prep_named_.begin()->first <= e) {
      auto it = prep_named_.begin();
      if (it->first == e && has_records) {
        *out = it->second;
        have = true;
      } else {
        orphans.push_back(it->first);
      }
      prep_named_.erase(it);
    }
  }
  if (prep_background_) prep_cv_.notify_one();
  // A prepared file whose number was sealed empty (or skipped) is an orphan: all zeros, never
  // acknowledged. Deleted now; the deletion needs no sync of its own (recovery skips an
  // unwritten file wherever it is, see docs/durability.md), the next directory sync covers it.
  for (uint64_t n : orphans) fs_->DeleteFile(SegmentPath(db_path_, n));
  if (have && !out->synced) {
    // Named but its name not yet durable: sync the directory now (the data would otherwise sit
    // in an inode whose name a crash can lose).
    Status st = fs_->SyncDir(DirName(SegmentPath(db_path_, e)), SyncMode::kFull);
    if (!st.ok()) {
      fs_->DeleteFile(SegmentPath(db_path_, e));
      std::lock_guard<std::mutex> g(prep_mu_);
      prep_failed_ = true;
      return false;
    }
    out->synced = true;
  }
  return have;
}

void Wal::NoteSegmentSize(uint64_t bytes) {
  if (!prep_on_) return;
  std::lock_guard<std::mutex> g(prep_mu_);
  if (prep_recent_sizes_.size() >= 16) prep_recent_sizes_.erase(prep_recent_sizes_.begin());
  prep_recent_sizes_.push_back(bytes);
  const uint64_t biggest = *std::max_element(prep_recent_sizes_.begin(), prep_recent_sizes_.end());
  const uint64_t want = PreparedSizeFor(biggest);
  // Epochs this big amortize a new file's metadata cost themselves, and zero-filling ahead
  // would double the bytes written: not worth preparing.
  if (want > kMaxPreparedSegmentBytes) {
    prep_size_ = 0;
  } else if (want > prep_size_ || want * 4 <= prep_size_) {
    // Grow at once; shrink only when far too big (a size that flips would waste the pool).
    prep_size_ = want;
  }
}

bool Wal::PrepareWanted() const {
  if (prep_failed_ || prep_stop_) return false;
  // Log mode: one log file ready beyond the one being written; nothing named ahead.
  if (log_mode_) return prep_log_temps_.empty() && fill_wanted_;
  if (prep_size_ == 0) return false;
  const size_t ahead = PrepareAhead();
  // Names are refilled only once half of them are used: naming one file per epoch would cost a
  // directory sync (a journal commit) per epoch, running concurrently with — and slowing — the
  // epoch's own data sync. In batches it is one directory sync per ahead/2 epochs. The pool
  // holds enough synced temporaries to refill the names at once, so the refill never waits
  // for zeros to be written.
  if (prep_named_.size() <= ahead / 2 && !prep_pool_.empty()) return true;
  if (prep_pool_.size() < PoolTarget(ahead)) return true;
  for (const auto& t : prep_pool_) {
    if (t.second != prep_size_) return true;  // stale size: replace
  }
  return false;
}

size_t Wal::PrepareAhead() const {
  // At most kPreparedBytesAhead of zeros named ahead (a few files at least, when segments are
  // large), so a burst of big epochs does not double the bytes written.
  const uint64_t by_bytes = prep_size_ == 0 ? 0 : kPreparedBytesAhead / prep_size_;
  return std::min<size_t>(options_.prepare_ahead,
                          static_cast<size_t>(std::max<uint64_t>(by_bytes, 4)));
}

bool Wal::PrepareRound(std::unique_lock<std::mutex>& lock) {
  if (!PrepareWanted()) return false;
  if (log_mode_) {
    // A zero-filled, synced log temporary (named when its first frame is written).
    const SyncMode mode = options_.fsync == FsyncPolicy::kNormal ? SyncMode::kData : SyncMode::kFull;
    lock.unlock();
    std::vector<std::string> made;
    Status st = CreatePreparedTemps(prep_fs_, db_path_, options_.log_file_bytes, mode, 1, &made);
    lock.lock();
    for (std::string& t : made) prep_log_temps_.push_back(std::move(t));
    if (!st.ok()) {
      prep_failed_ = true;  // publication goes on through new files
      return true;
    }
    std::lock_guard<std::mutex> g(stats_mu_);
    ++stats_.prepared_files;
    return true;
  }
  const size_t ahead = PrepareAhead();
  const uint64_t size = prep_size_;
  const SyncMode mode = options_.fsync == FsyncPolicy::kNormal ? SyncMode::kData : SyncMode::kFull;
  bool did = false;
  std::vector<std::string> stale;
  for (auto it = prep_pool_.begin(); it != prep_pool_.end();) {
    if (it->second != size) {
      stale.push_back(it->first);
      it = prep_pool_.erase(it);
    } else {
      ++it;
    }
  }
  // 1. Names, once half are used: pool files take the next epoch numbers (under the lock:
  //    ClaimPrepared sees either the name or the raised floor, never a half state), then one
  //    directory sync.
  bool named = false;
  if (prep_named_.size() <= ahead / 2) {
    while (prep_named_.size() < ahead && !prep_pool_.empty()) {
      const uint64_t target =
          prep_named_.empty() ? prep_floor_ : std::max(prep_floor_, prep_named_.rbegin()->first + 1);
      auto [temp, psize] = prep_pool_.back();
      prep_pool_.pop_back();
      Status st = NamePreparedSegment(prep_fs_, temp, db_path_, target);
      if (!st.ok()) {
        prep_fs_->DeleteFile(temp);
        prep_failed_ = true;
        break;
      }
      prep_named_[target] = PreparedFile{psize, false};
      named = true;
    }
  }
  if (named) {
    did = true;
    lock.unlock();
    Status st = prep_fs_->SyncDir(DirName(SegmentPath(db_path_, 0)), SyncMode::kFull);
    lock.lock();
    // Every file named above was named before this sync began (only this round names files;
    // rounds never overlap: the preparer thread, or the flush cycle under the gate).
    if (st.ok()) {
      for (auto& kv : prep_named_) kv.second.synced = true;
    } else {
      prep_failed_ = true;  // names of unknown durability: ClaimPrepared syncs (or gives up)
    }
    std::lock_guard<std::mutex> g(stats_mu_);
    ++stats_.prepared_files;
  }
  if (prep_failed_ || prep_stop_) return did;
  // 2. Pool: temporaries of the wanted size, zeros written and synced (outside the lock).
  const size_t target = PoolTarget(ahead);
  const size_t make = prep_pool_.size() < target ? std::min(kPrepareBatch, target - prep_pool_.size()) : 0;
  if (make > 0 || !stale.empty()) {
    did = true;
    lock.unlock();
    for (const std::string& p : stale) prep_fs_->DeleteFile(p);
    std::vector<std::string> made;
    Status st;
    if (make > 0) st = CreatePreparedTemps(prep_fs_, db_path_, size, mode, make, &made);
    lock.lock();
    for (std::string& t : made) prep_pool_.emplace_back(std::move(t), size);
    if (!st.ok()) prep_failed_ = true;
  }
  return did;
}

void Wal::PreparerLoop() {
  std::unique_lock<std::mutex> lock(prep_mu_);
  while (!prep_stop_) {
    if (PrepareRound(lock)) continue;
    prep_cv_.wait(lock, [&] { return prep_stop_ || PrepareWanted(); });
  }
}

void Wal::StopPreparer() {
  {
    std::lock_guard<std::mutex> g(prep_mu_);
    if (!prep_thread_.joinable()) return;
    prep_stop_ = true;
  }
  prep_cv_.notify_all();
  prep_thread_.join();
  std::lock_guard<std::mutex> g(prep_mu_);
  prep_stop_ = false;
}

void Wal::DropPreparedFiles() {
  if (!prep_on_) return;
  std::map<uint64_t, PreparedFile> named;
  std::vector<std::pair<std::string, uint64_t>> pool;
  {
    std::lock_guard<std::mutex> g(prep_mu_);
    named.swap(prep_named_);
    pool.swap(prep_pool_);
    for (std::string& t : prep_log_temps_) pool.emplace_back(std::move(t), 0);
    prep_log_temps_.clear();
    prep_failed_ = true;  // no more preparation after close
  }
  TrimLogFile();
  // Best effort: whatever survives is all zero and never acknowledged; the next open (or
  // CleanupSegments) removes it.
  for (const auto& kv : named) fs_->DeleteFile(SegmentPath(db_path_, kv.first));
  for (const auto& t : pool) fs_->DeleteFile(t.first);
  if (!named.empty() || !pool.empty()) {
    fs_->SyncDir(DirName(SegmentPath(db_path_, 0)), SyncMode::kFull);
  }
}

}  // namespace pwal
