// FileSystem::Default(): the POSIX implementation.
//
// Why each call is the way it is:
// - Files are created with O_CREAT|O_EXCL so a writer can never truncate or reuse a name.
// - write()/writev() loop on EINTR and short writes (a short write is not an error).
// - Sync: fdatasync for kData, fsync for kFull; on macOS fsync does not reach the platter, so
//   kFull uses fcntl(F_FULLFSYNC) (falling back to fsync where the FS refuses it).
// - A file whose sync failed is poisoned: later Sync() calls fail too, because on Linux a second
//   fsync after EIO reports success while the data is gone (fsyncgate).
// - RenameNoReplace uses renameat2(RENAME_NOREPLACE) (renamex_np(RENAME_EXCL) on macOS); where
//   the kernel or file system does not support it, link()+unlink(): link() fails with EEXIST
//   rather than replacing, which gives the same no-replace guarantee.
// - LockFile uses flock(), whose locks belong to the open file description, so a second open in
//   the same process conflicts too (fcntl locks would silently succeed in-process).
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>

#include "file_system.h"

#if defined(__APPLE__)
#include <sys/stdio.h>
#endif

namespace pwal {
namespace {

Status ErrnoStatus(const std::string& what, const std::string& path, int err) {
  std::string msg = what + " " + path + ": " + std::strerror(err);
  if (err == ENOENT) return Status::NotFound(msg, err);
  if (err == EEXIST) return Status::AlreadyExists(msg, err);
  return Status::IoError(msg, err);
}

int SyncFd(int fd, SyncMode mode) {
  if (mode == SyncMode::kNone) return 0;
#if defined(__APPLE__)
  if (mode == SyncMode::kFull || mode == SyncMode::kFullData) {
    if (fcntl(fd, F_FULLFSYNC) == 0) return 0;
    // Some file systems (e.g. network ones) refuse F_FULLFSYNC; fsync is the best left.
  }
  return fsync(fd);
#else
  // kFullData: fdatasync writes the data and any metadata needed to read it back (size, block
  // allocation) and flushes the device cache; it skips only timestamps.
  return mode == SyncMode::kFull ? fsync(fd) : fdatasync(fd);
#endif
}

class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(std::string path, int fd, bool unnamed = false)
      : path_(std::move(path)), fd_(fd), unnamed_(unnamed) {}
  ~PosixWritableFile() override {
    if (fd_ >= 0) ::close(fd_);
  }

  Status Append(const uint8_t* data, size_t n) override {
    if (fd_ < 0) return Status::IoError("append to closed file " + path_, EBADF);
    while (n > 0) {
      const ssize_t w = ::write(fd_, data, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus("write", path_, errno);
      }
      data += w;
      n -= static_cast<size_t>(w);
    }
    return Status::OK();
  }

  Status WriteAt(uint64_t offset, const uint8_t* data, size_t n) override {
    if (fd_ < 0) return Status::IoError("pwrite to closed file " + path_, EBADF);
    while (n > 0) {
      const ssize_t w = ::pwrite(fd_, data, n, static_cast<off_t>(offset));
      if (w < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus("pwrite", path_, errno);
      }
      data += w;
      offset += static_cast<uint64_t>(w);
      n -= static_cast<size_t>(w);
    }
    return Status::OK();
  }

  Status Truncate(uint64_t size) override {
    if (fd_ < 0) return Status::IoError("ftruncate of closed file " + path_, EBADF);
    while (::ftruncate(fd_, static_cast<off_t>(size)) != 0) {
      if (errno != EINTR) return ErrnoStatus("ftruncate", path_, errno);
    }
    return Status::OK();
  }

  Status AppendV(const uint8_t* const* bufs, const size_t* lens, size_t count) override {
    if (fd_ < 0) return Status::IoError("append to closed file " + path_, EBADF);
    std::vector<iovec> iov;
    iov.reserve(count);
    for (size_t i = 0; i < count; ++i) {
      if (lens[i] > 0) iov.push_back({const_cast<uint8_t*>(bufs[i]), lens[i]});
    }
    size_t first = 0;
    while (first < iov.size()) {
      const int n = static_cast<int>(std::min<size_t>(iov.size() - first, IOV_MAX));
      const ssize_t w = ::writev(fd_, iov.data() + first, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus("writev", path_, errno);
      }
      // Advance past what was written; a short write leaves a partial iovec at `first`.
      size_t left = static_cast<size_t>(w);
      while (first < iov.size() && left >= iov[first].iov_len) {
        left -= iov[first].iov_len;
        ++first;
      }
      if (left > 0) {
        iov[first].iov_base = static_cast<uint8_t*>(iov[first].iov_base) + left;
        iov[first].iov_len -= left;
      }
    }
    return Status::OK();
  }

  Status Sync(SyncMode mode) override {
    if (fd_ < 0) return Status::IoError("sync of closed file " + path_, EBADF);
    if (poisoned_) {
      return Status::IoError("sync " + path_ + ": an earlier sync failed; the file is abandoned",
                             EIO);
    }
    if (SyncFd(fd_, mode) != 0) {
      poisoned_ = true;
      return ErrnoStatus(mode == SyncMode::kFull ? "fsync" : "fdatasync", path_, errno);
    }
    return Status::OK();
  }

  void StartWriteback() override {
#if defined(__linux__)
    if (fd_ >= 0) ::sync_file_range(fd_, 0, 0, SYNC_FILE_RANGE_WRITE);
#endif
  }

  // linkat() of /proc/self/fd/N with AT_SYMLINK_FOLLOW: the unprivileged way to name an
  // O_TMPFILE file (AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH). linkat never replaces a name.
  Status LinkAs(const std::string& path) override {
#if defined(__linux__)
    if (fd_ < 0 || !unnamed_) return WritableFile::LinkAs(path);
    char proc[64];
    std::snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd_);
    if (::linkat(AT_FDCWD, proc, AT_FDCWD, path.c_str(), AT_SYMLINK_FOLLOW) == 0) {
      unnamed_ = false;
      path_ = path;
      return Status::OK();
    }
    const int err = errno;
    // No /proc, a sandbox that forbids it, or a file system that cannot link this inode: the
    // caller writes the data again under a temporary name.
    if (err == ENOENT || err == EPERM || err == EACCES || err == EXDEV || err == EOPNOTSUPP ||
        err == EINVAL || err == ENOSYS) {
      return Status::NotSupported(std::string("link of an unnamed file as ") + path + ": " +
                                  std::strerror(err));
    }
    return ErrnoStatus("link", path, err);
#else
    return WritableFile::LinkAs(path);
#endif
  }

  // flock() waits for the lock; close() releases it. A file deleted before we got the lock has
  // no links left: its path now names another file or none.
  Status LockAndReadHead(uint8_t* head, size_t n, size_t* got, uint64_t* size) override {
    *got = 0;
    if (fd_ < 0 || unnamed_) return WritableFile::LockAndReadHead(head, n, got, size);
    while (::flock(fd_, LOCK_EX) != 0) {
      if (errno != EINTR) return ErrnoStatus("lock", path_, errno);
    }
    struct stat st;
    if (::fstat(fd_, &st) != 0) return ErrnoStatus("stat", path_, errno);
    if (st.st_nlink == 0) return Status::NotFound("lock " + path_ + ": the file was deleted");
    *size = static_cast<uint64_t>(st.st_size);
    while (*got < n) {
      const ssize_t r = ::pread(fd_, head + *got, n - *got, static_cast<off_t>(*got));
      if (r < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus("read", path_, errno);
      }
      if (r == 0) break;
      *got += static_cast<size_t>(r);
    }
    return Status::OK();
  }

  Status Close() override {
    if (fd_ < 0) return Status::OK();
    const int fd = fd_;
    fd_ = -1;
    // close() is never retried on EINTR: on Linux the descriptor is already released.
    if (::close(fd) != 0 && errno != EINTR) return ErrnoStatus("close", path_, errno);
    return Status::OK();
  }

 private:
  std::string path_;
  int fd_;
  bool unnamed_;  // from NewUnnamedFile and not yet linked
  bool poisoned_ = false;
};

class PosixFileLock final : public FileLock {
 public:
  explicit PosixFileLock(int fd) : fd_(fd) {}
  ~PosixFileLock() override {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }

 private:
  int fd_;
};

int OpenRead(const std::string& path) {
  int fd;
  do {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  return fd;
}

int RenameNoReplaceSyscall(const char* from, const char* to) {
#if defined(__linux__) && defined(SYS_renameat2)
#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
  return static_cast<int>(::syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE));
#elif defined(__APPLE__) && defined(RENAME_EXCL)
  return ::renamex_np(from, to, RENAME_EXCL);
#else
  (void)from;
  (void)to;
  errno = ENOSYS;
  return -1;
#endif
}

class PosixFileSystem final : public FileSystem {
 public:
  Status NewWritableFile(const std::string& path, std::unique_ptr<WritableFile>* out) override {
    int fd;
    do {
      fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) return ErrnoStatus("create", path, errno);
    out->reset(new PosixWritableFile(path, fd));
    return Status::OK();
  }

  Status NewUnnamedFile(const std::string& dir, std::unique_ptr<WritableFile>* out) override {
#if defined(__linux__) && defined(O_TMPFILE)
    int fd;
    do {
      fd = ::open(dir.c_str(), O_WRONLY | O_TMPFILE | O_CLOEXEC, 0644);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
      const int err = errno;
      // Kernels before 3.11 see O_TMPFILE's O_DIRECTORY part (EISDIR); file systems without
      // support say EOPNOTSUPP.
      if (err == EOPNOTSUPP || err == EISDIR || err == EINVAL || err == ENOSYS) {
        return FileSystem::NewUnnamedFile(dir, out);
      }
      return ErrnoStatus("create unnamed file in", dir, err);
    }
    *out = std::make_unique<PosixWritableFile>(dir + "/(unnamed)", fd, true);
    return Status::OK();
#else
    return FileSystem::NewUnnamedFile(dir, out);
#endif
  }

  Status ReopenForOverwrite(const std::string& path, std::unique_ptr<WritableFile>* out) override {
    int fd;
    do {
      fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);  // no O_CREAT, O_TRUNC nor O_APPEND
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) return ErrnoStatus("open for overwrite", path, errno);
    out->reset(new PosixWritableFile(path, fd));
    return Status::OK();
  }

  Status ReadFile(const std::string& path, std::string* out) override {
    const int fd = OpenRead(path);
    if (fd < 0) return ErrnoStatus("open", path, errno);
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      const int err = errno;
      ::close(fd);
      return ErrnoStatus("stat", path, err);
    }
    out->clear();
    out->resize(static_cast<size_t>(st.st_size));
    size_t got = 0;
    while (got < out->size()) {
      const ssize_t r = ::read(fd, &(*out)[got], out->size() - got);
      if (r < 0) {
        if (errno == EINTR) continue;
        const int err = errno;
        ::close(fd);
        return ErrnoStatus("read", path, err);
      }
      if (r == 0) break;  // the file shrank under us: return what exists
      got += static_cast<size_t>(r);
    }
    out->resize(got);
    ::close(fd);
    return Status::OK();
  }

  Status ReadAt(const std::string& path, uint64_t offset, uint8_t* buf, size_t n,
                size_t* read) override {
    *read = 0;
    const int fd = OpenRead(path);
    if (fd < 0) return ErrnoStatus("open", path, errno);
    while (*read < n) {
      const ssize_t r = ::pread(fd, buf + *read, n - *read, static_cast<off_t>(offset + *read));
      if (r < 0) {
        if (errno == EINTR) continue;
        const int err = errno;
        ::close(fd);
        return ErrnoStatus("read", path, err);
      }
      if (r == 0) break;
      *read += static_cast<size_t>(r);
    }
    ::close(fd);
    return Status::OK();
  }

  Status GetFileSize(const std::string& path, uint64_t* size) override {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return ErrnoStatus("stat", path, errno);
    *size = static_cast<uint64_t>(st.st_size);
    return Status::OK();
  }

  Status FileExists(const std::string& path, bool* exists) override {
    struct stat st;
    if (::lstat(path.c_str(), &st) == 0) {
      *exists = true;
      return Status::OK();
    }
    if (errno == ENOENT || errno == ENOTDIR) {
      *exists = false;
      return Status::OK();
    }
    return ErrnoStatus("stat", path, errno);
  }

  Status RenameNoReplace(const std::string& from, const std::string& to) override {
    if (RenameNoReplaceSyscall(from.c_str(), to.c_str()) == 0) return Status::OK();
    const int err = errno;
    if (err != ENOSYS && err != EINVAL && err != ENOTSUP && err != EOPNOTSUPP) {
      return ErrnoStatus("rename " + from + " to", to, err);
    }
    // No atomic no-replace rename here: link() refuses an existing target, then drop the old
    // name. A crash in between leaves both names for the same complete inode, which is harmless
    // (readers ignore temporaries; cleanup removes them).
    if (::link(from.c_str(), to.c_str()) != 0) return ErrnoStatus("link " + from + " to", to, errno);
    if (::unlink(from.c_str()) != 0) return ErrnoStatus("unlink", from, errno);
    return Status::OK();
  }

  Status SyncDir(const std::string& dir, SyncMode mode) override {
    if (mode == SyncMode::kNone) return Status::OK();
    int fd;
    do {
      fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) return ErrnoStatus("open directory", dir, errno);
    // Directories have no "data" distinct from metadata: always a full fsync.
    const int rc = SyncFd(fd, SyncMode::kFull);
    const int err = errno;
    ::close(fd);
    if (rc != 0) return ErrnoStatus("fsync directory", dir, err);
    return Status::OK();
  }

  Status ListDir(const std::string& dir, std::vector<std::string>* names) override {
    names->clear();
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return ErrnoStatus("list directory", dir, errno);
    errno = 0;
    while (struct dirent* e = ::readdir(d)) {
      if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
      names->emplace_back(e->d_name);
    }
    const int err = errno;
    ::closedir(d);
    if (err != 0) return ErrnoStatus("read directory", dir, err);
    return Status::OK();
  }

  Status DeleteFile(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return ErrnoStatus("delete", path, errno);
    return Status::OK();
  }

  Status LockFile(const std::string& path, std::unique_ptr<FileLock>* out) override {
    int fd;
    do {
      fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) return ErrnoStatus("open lock file", path, errno);
    int rc;
    do {
      rc = ::flock(fd, LOCK_EX | LOCK_NB);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) {
      const int err = errno;
      ::close(fd);
      if (err == EWOULDBLOCK) {
        return Status::Locked("lock " + path + ": held by another process or handle");
      }
      return ErrnoStatus("lock", path, err);
    }
    out->reset(new PosixFileLock(fd));
    return Status::OK();
  }
};

}  // namespace

FileSystem* FileSystem::Default() {
  static FileSystem* const fs = new PosixFileSystem();  // never destroyed: usable at exit
  return fs;
}

}  // namespace pwal
