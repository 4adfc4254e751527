// FileSystem: the only way the core touches files, so tests can swap in a fault-injecting one.
//
// Contracts:
// - All paths are absolute or relative to the process cwd; no call changes the cwd.
// - Implementations are thread-safe; a WritableFile is used by one thread at a time.
// - A failed Sync() leaves the file's durability unknown: callers never Sync() it again and
//   never rename it into place (fsyncgate); they rewrite the data into a fresh file.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "status.h"

namespace pwal {

enum class SyncMode {
  kNone,      // FsyncPolicy off
  kData,      // fdatasync (FsyncPolicy normal)
  kFull,      // fsync / F_FULLFSYNC (FsyncPolicy full)
  // Data (and the metadata needed to read it back: size, block map) durable through the device
  // cache, timestamps not: fdatasync on Linux, F_FULLFSYNC on macOS. Used for an in-place
  // overwrite of a prepared segment file whose size and blocks are already durable, where the
  // only metadata fsync would add is mtime (one extra journal commit per epoch).
  kFullData,
};

class WritableFile {
 public:
  virtual ~WritableFile() = default;
  virtual Status Append(const uint8_t* data, size_t n) = 0;
  // Gathered append of several buffers in one call (writev on POSIX).
  virtual Status AppendV(const uint8_t* const* bufs, const size_t* lens, size_t count);
  virtual Status Sync(SyncMode mode) = 0;
  // A hint: start writing the file's dirty data back now, without waiting and without any
  // durability promise (Linux: sync_file_range(SYNC_FILE_RANGE_WRITE)). Lets a caller that will
  // sync several files start all their writeback first, so the file system can allocate and
  // commit them together. Default: nothing.
  virtual void StartWriteback() {}
  // Only for a file from FileSystem::NewUnnamedFile, before Close(): gives it the name `path`,
  // never replacing (AlreadyExists if taken). NotSupported when this file cannot be linked here
  // (the caller then writes the data again under a temporary name). Default: NotSupported.
  virtual Status LinkAs(const std::string& path);
  // Only for a file from FileSystem::ReopenForOverwrite: waits for an exclusive advisory lock on
  // the file, held until Close() (POSIX: flock, which belongs to the open file description, so a
  // second open in the same process waits too); then, under the lock, reads up to `n` bytes from
  // offset 0 into `head` (*got: how many) and the file's size. NotFound if, once locked, the
  // file has no name any more (deleted meanwhile). Does not move the write position (0).
  // Default: NotSupported.
  virtual Status LockAndReadHead(uint8_t* head, size_t n, size_t* got, uint64_t* size);
  // Writes `n` bytes at `offset` (pwrite: the file position does not move), overwriting and
  // extending as needed. Used to write a frame into a slot of a preallocated log file.
  // Default: NotSupported.
  virtual Status WriteAt(uint64_t offset, const uint8_t* data, size_t n);
  // Sets the file's size (ftruncate). Durable after the next Sync(kFull). Default: NotSupported.
  virtual Status Truncate(uint64_t size);
  virtual Status Close() = 0;
};

// Advisory, exclusive, process-level lock; released on destruction.
class FileLock {
 public:
  virtual ~FileLock() = default;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // Creates `path`; fails with AlreadyExists if it exists (O_CREAT|O_EXCL).
  virtual Status NewWritableFile(const std::string& path, std::unique_ptr<WritableFile>* out) = 0;
  // Opens the EXISTING file `path` for writing (and reading) from offset 0, without truncating
  // it (NotFound if there is none): Append
  // overwrites bytes in place and extends the file only past its end. Used to publish into a
  // prepared (zero-filled, synced) segment file. Default: NotSupported (the caller falls back to
  // NewWritableFile); the POSIX and fault-injecting file systems implement it.
  virtual Status ReopenForOverwrite(const std::string& path, std::unique_ptr<WritableFile>* out);
  // Creates a file with no name in directory `dir` (Linux: O_TMPFILE), to be named by
  // WritableFile::LinkAs once complete and synced. Until then no reader can see it, and if the
  // process or the machine dies first the file system frees it: a publication that never
  // finishes leaves nothing to clean up. NotSupported where unavailable (the default; the
  // fault-injecting file systems; kernels or file systems without O_TMPFILE): callers then use
  // a temporary name and RenameNoReplace.
  virtual Status NewUnnamedFile(const std::string& dir, std::unique_ptr<WritableFile>* out);
  // Reads the whole file (callers check the size first with GetFileSize before trusting it).
  virtual Status ReadFile(const std::string& path, std::string* out) = 0;
  // Reads up to n bytes at offset; *read gets the count actually read.
  virtual Status ReadAt(const std::string& path, uint64_t offset, uint8_t* buf, size_t n,
                        size_t* read) = 0;
  virtual Status GetFileSize(const std::string& path, uint64_t* size) = 0;
  virtual Status FileExists(const std::string& path, bool* exists) = 0;
  // Renames without replacing: fails with AlreadyExists when `to` exists.
  virtual Status RenameNoReplace(const std::string& from, const std::string& to) = 0;
  // Makes directory entries (create/rename/delete) in `dir` durable.
  virtual Status SyncDir(const std::string& dir, SyncMode mode) = 0;
  // Names (not paths) of the entries of `dir`.
  virtual Status ListDir(const std::string& dir, std::vector<std::string>* names) = 0;
  virtual Status DeleteFile(const std::string& path) = 0;
  // Takes an exclusive advisory lock on `path` (created if missing). Locked if held elsewhere.
  virtual Status LockFile(const std::string& path, std::unique_ptr<FileLock>* out) = 0;

  // The process-wide POSIX implementation (never destroyed).
  static FileSystem* Default();
};

// Decorators: forward every call to a base, so that a subclass overrides only what it changes
// and a method added here reaches the base unless a decorator decides otherwise. (A decorator
// that fell back to the defaults instead would silently switch protocols: the WAL's timing
// decorator once turned every O_TMPFILE publication into temp+rename that way.)
class WritableFileWrapper : public WritableFile {
 public:
  explicit WritableFileWrapper(std::unique_ptr<WritableFile> base) : base_(std::move(base)) {}
  Status Append(const uint8_t* data, size_t n) override { return base_->Append(data, n); }
  Status AppendV(const uint8_t* const* bufs, const size_t* lens, size_t count) override {
    return base_->AppendV(bufs, lens, count);
  }
  Status Sync(SyncMode mode) override { return base_->Sync(mode); }
  void StartWriteback() override { base_->StartWriteback(); }
  Status LinkAs(const std::string& path) override { return base_->LinkAs(path); }
  Status LockAndReadHead(uint8_t* head, size_t n, size_t* got, uint64_t* size) override {
    return base_->LockAndReadHead(head, n, got, size);
  }
  Status WriteAt(uint64_t offset, const uint8_t* data, size_t n) override {
    return base_->WriteAt(offset, data, n);
  }
  Status Truncate(uint64_t size) override { return base_->Truncate(size); }
  Status Close() override { return base_->Close(); }

 protected:
  std::unique_ptr<WritableFile> base_;
};

class FileSystemWrapper : public FileSystem {
 public:
  explicit FileSystemWrapper(FileSystem* base) : base_(base) {}  // base must outlive this
  Status NewWritableFile(const std::string& path, std::unique_ptr<WritableFile>* out) override {
    return base_->NewWritableFile(path, out);
  }
  Status ReopenForOverwrite(const std::string& path, std::unique_ptr<WritableFile>* out) override {
    return base_->ReopenForOverwrite(path, out);
  }
  Status NewUnnamedFile(const std::string& dir, std::unique_ptr<WritableFile>* out) override {
    return base_->NewUnnamedFile(dir, out);
  }
  Status ReadFile(const std::string& path, std::string* out) override {
    return base_->ReadFile(path, out);
  }
  Status ReadAt(const std::string& path, uint64_t offset, uint8_t* buf, size_t n,
                size_t* read) override {
    return base_->ReadAt(path, offset, buf, n, read);
  }
  Status GetFileSize(const std::string& path, uint64_t* size) override {
    return base_->GetFileSize(path, size);
  }
  Status FileExists(const std::string& path, bool* exists) override {
    return base_->FileExists(path, exists);
  }
  Status RenameNoReplace(const std::string& from, const std::string& to) override {
    return base_->RenameNoReplace(from, to);
  }
  Status SyncDir(const std::string& dir, SyncMode mode) override { return base_->SyncDir(dir, mode); }
  Status ListDir(const std::string& dir, std::vector<std::string>* names) override {
    return base_->ListDir(dir, names);
  }
  Status DeleteFile(const std::string& path) override { return base_->DeleteFile(path); }
  Status LockFile(const std::string& path, std::unique_ptr<FileLock>* out) override {
    return base_->LockFile(path, out);
  }

 protected:
  FileSystem* base_;
};

// Directory part and file-name part of a path ("a/b/c.db" -> "a/b", "c.db"; "c.db" -> ".", "c.db").
std::string DirName(const std::string& path);
std::string BaseName(const std::string& path);

}  // namespace pwal
