// FaultInjectingFileSystem: an in-memory FileSystem for tests that can fail chosen calls and
// simulate power loss. It models the strict POSIX durability contract:
//   - a file's bytes survive power loss only up to its last successful Sync();
//   - a directory entry (create, rename, delete) survives only after a successful SyncDir() of
//     its directory; until then power loss restores the directory's last synced entries;
//   - a failed Sync() leaves the unsynced bytes undurable for good, and later Sync() calls on
//     that file report success without making anything durable (what Linux does after EIO:
//     "fsyncgate"), so code that re-syncs after a failure is caught by the tests;
//   - power loss may tear a file's unsynced tail: drop it, cut it short, or keep its length
//     with zeros or garbage in it (file size persisted, data not), chosen by TearMode/seed;
//   - bytes overwritten in place (ReopenForOverwrite) and not yet synced are torn per 512-byte
//     sector: the old sector (drop), a random subset of new sectors (cut short), zeros or garbage.
// Directories are created with MakeDir and are themselves always durable.
//
// Every mutating call (create, write, sync, rename, dir sync, delete) is one numbered "step",
// so a test can crash at every step of an operation: CrashAtStep(k) makes step k and every
// later call fail with EIO and have no effect, until PowerLoss() brings the machine back.
// Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "file_system.h"

namespace pwal {

class FaultInjectingFileSystem final : public FileSystem {
 public:
  enum class Op { kOpen = 0, kWrite, kSync, kRename, kDirSync, kDelete, kRead, kList, kCount };
  enum class TearMode { kDrop, kCutShort, kZeroFill, kGarbage, kRandom };

  FaultInjectingFileSystem() = default;

  // ---- faults ----
  // The nth call of `op` from now on (1-based) fails with `err` (EIO, ENOSPC, ...) and has no
  // effect; with `persistent`, every later call of `op` fails too.
  void FailNth(Op op, uint64_t nth, int err, bool persistent = false);
  void ClearFaults();
  // Calls of `op` since construction.
  uint64_t CallCount(Op op) const;

  // ---- crashes ----
  uint64_t steps() const;
  void CrashAtStep(uint64_t step);  // absolute step number (steps() + 1 is the next call)
  bool crashed() const;
  // Restores the durable state (see above) and clears the crash; open WritableFiles are dead.
  void PowerLoss(TearMode mode = TearMode::kDrop, uint64_t seed = 0);

  // ---- test setup and inspection (no steps, no faults) ----
  void MakeDir(const std::string& dir);
  // Puts a file; `durable` also makes its bytes and its directory entry durable.
  void PutFile(const std::string& path, const std::string& bytes, bool durable = true);
  bool GetFile(const std::string& path, std::string* bytes) const;
  std::vector<std::string> Names(const std::string& dir) const;

  // ---- FileSystem ----
  Status NewWritableFile(const std::string& path, std::unique_ptr<WritableFile>* out) override;
  Status ReopenForOverwrite(const std::string& path, std::unique_ptr<WritableFile>* out) override;
  Status ReadFile(const std::string& path, std::string* out) override;
  Status ReadAt(const std::string& path, uint64_t offset, uint8_t* buf, size_t n,
                size_t* read) override;
  Status GetFileSize(const std::string& path, uint64_t* size) override;
  Status FileExists(const std::string& path, bool* exists) override;
  Status RenameNoReplace(const std::string& from, const std::string& to) override;
  Status SyncDir(const std::string& dir, SyncMode mode) override;
  Status ListDir(const std::string& dir, std::vector<std::string>* names) override;
  Status DeleteFile(const std::string& path) override;
  Status LockFile(const std::string& path, std::unique_ptr<FileLock>* out) override;

 private:
  struct Inode {
    std::string data;     // what reads see
    std::string durable;  // what survives power loss
    bool sync_failed = false;
  };
  using Dir = std::map<std::string, std::shared_ptr<Inode>>;
  struct Fault {
    uint64_t nth = 0;  // call index (counted from arming) that fails; 0 = none
    uint64_t armed_at = 0;
    int err = 0;
    bool persistent = false;
  };
  class File;
  class Lock;
  friend class File;
  friend class Lock;

  // Counts a call of `op` and decides whether it fails; `mutating` calls are steps. Requires mu_.
  Status Enter(Op op, bool mutating, const std::string& what);
  Status FileAppend(const std::shared_ptr<Inode>& inode, uint64_t generation,
                    const std::string& path, uint64_t pos, const uint8_t* data, size_t n);
  Status FileSync(const std::shared_ptr<Inode>& inode, uint64_t generation,
                  const std::string& path, SyncMode mode);
  Status FileTruncate(const std::shared_ptr<Inode>& inode, uint64_t generation,
                      const std::string& path, uint64_t size);
  Status FileLockAndReadHead(const std::shared_ptr<Inode>& inode, const std::string& path,
                             uint8_t* head, size_t n, size_t* got, uint64_t* size);
  std::shared_ptr<Inode> Find(const std::string& path) const;  // requires mu_

  mutable std::mutex mu_;
  std::set<std::string> dirs_;
  std::map<std::string, Dir> live_;
  std::map<std::string, Dir> durable_;
  std::set<std::string> locks_;
  uint64_t calls_[static_cast<int>(Op::kCount)] = {};
  Fault faults_[static_cast<int>(Op::kCount)];
  uint64_t steps_ = 0;
  uint64_t crash_at_ = 0;  // 0 = never
  bool crashed_ = false;
  uint64_t generation_ = 0;  // bumped by PowerLoss: files opened before it are dead
};

}  // namespace pwal
