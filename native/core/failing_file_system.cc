#include "failing_file_system.h"

#include <cstring>
#include <utility>
#include <vector>

namespace pwal {

bool ParseFailOp(const std::string& name, FailOp* out) {
  static const std::pair<const char*, FailOp> kOps[] = {
      {"none", FailOp::kNone},     {"open", FailOp::kOpen},       {"write", FailOp::kWrite},
      {"sync", FailOp::kSync},     {"rename", FailOp::kRename},   {"dirsync", FailOp::kDirSync},
      {"close", FailOp::kClose},   {"corrupt", FailOp::kCorrupt}, {"delete", FailOp::kDelete},
  };
  for (const auto& [n, op] : kOps) {
    if (name == n) {
      *out = op;
      return true;
    }
  }
  return false;
}

const char* FailOpName(FailOp op) {
  switch (op) {
    case FailOp::kNone: return "none";
    case FailOp::kOpen: return "open";
    case FailOp::kWrite: return "write";
    case FailOp::kSync: return "sync";
    case FailOp::kRename: return "rename";
    case FailOp::kDirSync: return "dirsync";
    case FailOp::kClose: return "close";
    case FailOp::kCorrupt: return "corrupt";
    case FailOp::kDelete: return "delete";
  }
  return "unknown";
}

namespace {

class FailingWritableFile : public WritableFile {
 public:
  FailingWritableFile(std::unique_ptr<WritableFile> base, FailingFileSystem* fs, std::string path)
      : base_(std::move(base)), fs_(fs), path_(std::move(path)) {}

  Status Append(const uint8_t* data, size_t n) override {
    PWAL_RETURN_IF_ERROR(fs_->MaybeFail(FailOp::kWrite, "write " + path_));
    if (n > 0 && fs_->MaybeCorrupt()) {
      std::vector<uint8_t> copy(data, data + n);
      copy[n / 2] ^= 0x01;
      return base_->Append(copy.data(), n);
    }
    return base_->Append(data, n);
  }
  Status AppendV(const uint8_t* const* bufs, const size_t* lens, size_t count) override {
    PWAL_RETURN_IF_ERROR(fs_->MaybeFail(FailOp::kWrite, "writev " + path_));
    size_t total = 0;
    for (size_t i = 0; i < count; ++i) total += lens[i];
    if (total > 0 && fs_->MaybeCorrupt()) {
      // Flip one bit in the middle of the gathered bytes.
      std::vector<uint8_t> copy;
      copy.reserve(total);
      for (size_t i = 0; i < count; ++i) copy.insert(copy.end(), bufs[i], bufs[i] + lens[i]);
      copy[total / 2] ^= 0x01;
      return base_->Append(copy.data(), copy.size());
    }
    return base_->AppendV(bufs, lens, count);
  }
  Status Sync(SyncMode mode) override {
    PWAL_RETURN_IF_ERROR(fs_->MaybeFail(FailOp::kSync, "fsync " + path_));
    return base_->Sync(mode);
  }
  Status LockAndReadHead(uint8_t* head, size_t n, size_t* got, uint64_t* size) override {
    return base_->LockAndReadHead(head, n, got, size);
  }
  Status WriteAt(uint64_t offset, const uint8_t* data, size_t n) override {
    PWAL_RETURN_IF_ERROR(fs_->MaybeFail(FailOp::kWrite, "pwrite " + path_));
    if (n > 0 && fs_->MaybeCorrupt()) {
      std::vector<uint8_t> copy(data, data + n);
      copy[n / 2] ^= 0x01;
      return base_->WriteAt(offset, copy.data(), n);
    }
    return base_->WriteAt(offset, data, n);
  }
  Status Truncate(uint64_t size) override {
    PWAL_RETURN_IF_ERROR(fs_->MaybeFail(FailOp::kWrite, "ftruncate " + path_));
    return base_->Truncate(size);
  }
  Status Close() override {
    Status injected = fs_->MaybeFail(FailOp::kClose, "close " + path_);
    Status st = base_->Close();  // always release the descriptor
    return injected.ok() ? st : injected;
  }

 private:
  std::unique_ptr<WritableFile> base_;
  FailingFileSystem* fs_;
  std::string path_;
};

}  // namespace

void FailingFileSystem::Arm(const FailSpec& spec) {
  std::lock_guard<std::mutex> g(mu_);
  spec_ = spec;
  if (spec_.nth == 0) spec_.nth = 1;
  armed_calls_ = 0;
}

void FailingFileSystem::Disarm() {
  std::lock_guard<std::mutex> g(mu_);
  spec_ = FailSpec();
  armed_calls_ = 0;
}

uint64_t FailingFileSystem::calls(FailOp op) const {
  std::lock_guard<std::mutex> g(mu_);
  return counts_[static_cast<int>(op)];
}

Status FailingFileSystem::MaybeFail(FailOp op, const std::string& what) {
  int err = 0;
  {
    std::lock_guard<std::mutex> g(mu_);
    ++counts_[static_cast<int>(op)];
    if (spec_.op != op) return Status::OK();
    ++armed_calls_;
    const bool hit = armed_calls_ == spec_.nth || (spec_.persistent && armed_calls_ > spec_.nth);
    if (!hit) return Status::OK();
    err = spec_.err;
  }
  failures_.fetch_add(1);
  return Status::IoError(what + ": injected failure: " + std::strerror(err), err);
}

bool FailingFileSystem::MaybeCorrupt() {
  {
    std::lock_guard<std::mutex> g(mu_);
    ++counts_[static_cast<int>(FailOp::kCorrupt)];
    if (spec_.op != FailOp::kCorrupt) return false;
    ++armed_calls_;
    const bool hit = armed_calls_ == spec_.nth || (spec_.persistent && armed_calls_ > spec_.nth);
    if (!hit) return false;
  }
  failures_.fetch_add(1);
  return true;
}

Status FailingFileSystem::NewWritableFile(const std::string& path,
                                          std::unique_ptr<WritableFile>* out) {
  PWAL_RETURN_IF_ERROR(MaybeFail(FailOp::kOpen, "open " + path));
  std::unique_ptr<WritableFile> base;
  PWAL_RETURN_IF_ERROR(base_->NewWritableFile(path, &base));
  *out = std::make_unique<FailingWritableFile>(std::move(base), this, path);
  return Status::OK();
}

Status FailingFileSystem::ReopenForOverwrite(const std::string& path,
                                             std::unique_ptr<WritableFile>* out) {
  PWAL_RETURN_IF_ERROR(MaybeFail(FailOp::kOpen, "open " + path));
  std::unique_ptr<WritableFile> base;
  PWAL_RETURN_IF_ERROR(base_->ReopenForOverwrite(path, &base));
  *out = std::make_unique<FailingWritableFile>(std::move(base), this, path);
  return Status::OK();
}

Status FailingFileSystem::ReadFile(const std::string& path, std::string* out) {
  return base_->ReadFile(path, out);
}
Status FailingFileSystem::ReadAt(const std::string& path, uint64_t offset, uint8_t* buf, size_t n,
                                 size_t* read) {
  return base_->ReadAt(path, offset, buf, n, read);
}
Status FailingFileSystem::GetFileSize(const std::string& path, uint64_t* size) {
  return base_->GetFileSize(path, size);
}
Status FailingFileSystem::FileExists(const std::string& path, bool* exists) {
  return base_->FileExists(path, exists);
}
Status FailingFileSystem::RenameNoReplace(const std::string& from, const std::string& to) {
  PWAL_RETURN_IF_ERROR(MaybeFail(FailOp::kRename, "rename " + from));
  return base_->RenameNoReplace(from, to);
}
Status FailingFileSystem::SyncDir(const std::string& dir, SyncMode mode) {
  PWAL_RETURN_IF_ERROR(MaybeFail(FailOp::kDirSync, "fsync dir " + dir));
  return base_->SyncDir(dir, mode);
}
Status FailingFileSystem::ListDir(const std::string& dir, std::vector<std::string>* names) {
  return base_->ListDir(dir, names);
}
Status FailingFileSystem::DeleteFile(const std::string& path) {
  PWAL_RETURN_IF_ERROR(MaybeFail(FailOp::kDelete, "unlink " + path));
  return base_->DeleteFile(path);
}
Status FailingFileSystem::LockFile(const std::string& path, std::unique_ptr<FileLock>* out) {
  return base_->LockFile(path, out);
}

}  // namespace pwal
