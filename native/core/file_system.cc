// Parts of the FileSystem interface shared by every implementation.
#include "file_system.h"

namespace pwal {

// The default gathers by appending each buffer in turn: correct for any implementation, and
// implementations with a native gather (POSIX writev) override it.
Status WritableFile::AppendV(const uint8_t* const* bufs, const size_t* lens, size_t count) {
  for (size_t i = 0; i < count; ++i) {
    if (lens[i] == 0) continue;
    PWAL_RETURN_IF_ERROR(Append(bufs[i], lens[i]));
  }
  return Status::OK();
}

Status FileSystem::ReopenForOverwrite(const std::string& path, std::unique_ptr<WritableFile>* out) {
  out->reset();
  return Status::NotSupported("overwrite of " + path + " is not supported by this file system");
}

Status WritableFile::LinkAs(const std::string& path) {
  return Status::NotSupported("linking an unnamed file as " + path + " is not supported");
}

Status WritableFile::LockAndReadHead(uint8_t*, size_t, size_t*, uint64_t*) {
  return Status::NotSupported("locking a file is not supported by this file system");
}

Status WritableFile::WriteAt(uint64_t, const uint8_t*, size_t) {
  return Status::NotSupported("positioned writes are not supported by this file");
}

Status WritableFile::Truncate(uint64_t) {
  return Status::NotSupported("truncating is not supported by this file");
}

Status FileSystem::NewUnnamedFile(const std::string& dir, std::unique_ptr<WritableFile>* out) {
  out->reset();
  return Status::NotSupported("unnamed files in " + dir + " are not supported by this file system");
}

std::string DirName(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  // "a//b" -> "a": drop a run of separators, but keep a lone root.
  size_t end = slash;
  while (end > 1 && path[end - 1] == '/') --end;
  return path.substr(0, end);
}

std::string BaseName(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return path;
  return path.substr(slash + 1);
}

}  // namespace pwal
