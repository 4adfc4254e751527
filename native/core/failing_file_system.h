// FailingFileSystem: a decorator over any FileSystem that fails the Nth call of one operation
// (once, or persistently from the Nth call on) with EIO or ENOSPC. Small on purpose: the JS
// engineer exposes it through a test-only open option; the C++ tests use it for the WAL's
// failure paths. Power-loss simulation is a different tool (fault_file_system.h, seg branch).
//
// THREADS: thread-safe; Arm/Disarm may be called while other threads use the file system.
// Counting: every call of the armed op (on any file) counts, starting at 1 after Arm.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "file_system.h"

namespace pwal {

enum class FailOp {
  kNone,
  kOpen,      // NewWritableFile
  kWrite,     // WritableFile::Append / AppendV
  kSync,      // WritableFile::Sync
  kRename,    // RenameNoReplace
  kDirSync,   // SyncDir
  kClose,     // WritableFile::Close
  kCorrupt,   // WritableFile::Append / AppendV succeed but one byte written is flipped
  kDelete,    // DeleteFile
};
// "open" / "write" / "sync" / "rename" / "dirsync" / "close" / "corrupt" / "delete" -> FailOp;
// false if unknown.
bool ParseFailOp(const std::string& name, FailOp* out);
const char* FailOpName(FailOp op);

struct FailSpec {
  FailOp op = FailOp::kNone;
  uint64_t nth = 1;          // fail the nth call after arming (1 = the next one)
  bool persistent = false;   // keep failing every call from the nth on
  int err = 5;               // EIO (5) or ENOSPC (28)
};

class FailingFileSystem : public FileSystem {
 public:
  explicit FailingFileSystem(FileSystem* base) : base_(base) {}

  void Arm(const FailSpec& spec);
  void Disarm();
  uint64_t failures() const { return failures_.load(); }   // injected failures so far
  uint64_t calls(FailOp op) const;                         // calls of op since construction

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

  // Internal: counts a call of op and returns the injected error if it must fail.
  Status MaybeFail(FailOp op, const std::string& what);
  // Internal: counts a write for the kCorrupt fault; true when this write must be corrupted
  // (the bytes reach the base file system with one bit flipped, and the call reports success:
  // a silent corruption, what shadow compare exists to catch).
  bool MaybeCorrupt();

 private:
  FileSystem* base_;
  mutable std::mutex mu_;
  FailSpec spec_;            // guarded by mu_
  uint64_t armed_calls_ = 0; // guarded by mu_: calls of spec_.op since Arm
  uint64_t counts_[static_cast<int>(FailOp::kDelete) + 1] = {};  // guarded by mu_
  std::atomic<uint64_t> failures_{0};
};

}  // namespace pwal
