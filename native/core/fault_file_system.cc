#include "fault_file_system.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace pwal {

class FaultInjectingFileSystem::File final : public WritableFile {
 public:
  File(FaultInjectingFileSystem* fs, std::shared_ptr<Inode> inode, std::string path,
       uint64_t generation)
      : fs_(fs), inode_(std::move(inode)), path_(std::move(path)), generation_(generation) {}
  // Writes at the file position (0 after open), overwriting and then extending, like write(2)
  // on a descriptor opened without O_APPEND.
  Status Append(const uint8_t* data, size_t n) override {
    if (closed_) return Status::IoError("append to closed file " + path_, EBADF);
    PWAL_RETURN_IF_ERROR(fs_->FileAppend(inode_, generation_, path_, pos_, data, n));
    pos_ += n;
    return Status::OK();
  }
  Status Sync(SyncMode mode) override {
    if (closed_) return Status::IoError("sync of closed file " + path_, EBADF);
    return fs_->FileSync(inode_, generation_, path_, mode);
  }
  // The in-memory file system has no concurrent writers to wait for; what it models is the
  // check that the file still has its name, and the read.
  Status LockAndReadHead(uint8_t* head, size_t n, size_t* got, uint64_t* size) override {
    *got = 0;
    if (closed_) return Status::IoError("lock of closed file " + path_, EBADF);
    return fs_->FileLockAndReadHead(inode_, path_, head, n, got, size);
  }
  Status WriteAt(uint64_t offset, const uint8_t* data, size_t n) override {
    if (closed_) return Status::IoError("pwrite to closed file " + path_, EBADF);
    return fs_->FileAppend(inode_, generation_, path_, offset, data, n);
  }
  Status Truncate(uint64_t size) override {
    if (closed_) return Status::IoError("ftruncate of closed file " + path_, EBADF);
    return fs_->FileTruncate(inode_, generation_, path_, size);
  }
  Status Close() override {
    closed_ = true;
    return Status::OK();
  }

 private:
  FaultInjectingFileSystem* fs_;
  std::shared_ptr<Inode> inode_;
  std::string path_;
  uint64_t generation_;
  uint64_t pos_ = 0;
  bool closed_ = false;
};

class FaultInjectingFileSystem::Lock final : public FileLock {
 public:
  Lock(FaultInjectingFileSystem* fs, std::string path) : fs_(fs), path_(std::move(path)) {}
  ~Lock() override {
    std::lock_guard<std::mutex> g(fs_->mu_);
    fs_->locks_.erase(path_);
  }

 private:
  FaultInjectingFileSystem* fs_;
  std::string path_;
};

namespace {
const char* OpName(FaultInjectingFileSystem::Op op) {
  using Op = FaultInjectingFileSystem::Op;
  switch (op) {
    case Op::kOpen: return "open";
    case Op::kWrite: return "write";
    case Op::kSync: return "sync";
    case Op::kRename: return "rename";
    case Op::kDirSync: return "dirsync";
    case Op::kDelete: return "delete";
    case Op::kRead: return "read";
    case Op::kList: return "list";
    case Op::kCount: break;
  }
  return "?";
}
}  // namespace

void FaultInjectingFileSystem::FailNth(Op op, uint64_t nth, int err, bool persistent) {
  std::lock_guard<std::mutex> g(mu_);
  Fault& f = faults_[static_cast<int>(op)];
  f.nth = nth;
  f.armed_at = calls_[static_cast<int>(op)];
  f.err = err;
  f.persistent = persistent;
}

void FaultInjectingFileSystem::ClearFaults() {
  std::lock_guard<std::mutex> g(mu_);
  for (Fault& f : faults_) f = Fault{};
}

uint64_t FaultInjectingFileSystem::CallCount(Op op) const {
  std::lock_guard<std::mutex> g(mu_);
  return calls_[static_cast<int>(op)];
}

uint64_t FaultInjectingFileSystem::steps() const {
  std::lock_guard<std::mutex> g(mu_);
  return steps_;
}

void FaultInjectingFileSystem::CrashAtStep(uint64_t step) {
  std::lock_guard<std::mutex> g(mu_);
  crash_at_ = step;
}

bool FaultInjectingFileSystem::crashed() const {
  std::lock_guard<std::mutex> g(mu_);
  return crashed_;
}

Status FaultInjectingFileSystem::Enter(Op op, bool mutating, const std::string& what) {
  const int i = static_cast<int>(op);
  const uint64_t call = ++calls_[i];
  if (mutating) {
    ++steps_;
    if (crash_at_ != 0 && steps_ >= crash_at_) crashed_ = true;
  }
  if (crashed_) return Status::IoError(std::string(OpName(op)) + " " + what + ": simulated crash", EIO);
  const Fault& f = faults_[i];
  if (f.nth != 0) {
    const uint64_t since = call - f.armed_at;
    if (since == f.nth || (f.persistent && since > f.nth)) {
      return Status::IoError(std::string(OpName(op)) + " " + what + ": injected fault: " +
                                 std::strerror(f.err),
                             f.err);
    }
  }
  return Status::OK();
}

std::shared_ptr<FaultInjectingFileSystem::Inode> FaultInjectingFileSystem::Find(
    const std::string& path) const {
  auto d = live_.find(DirName(path));
  if (d == live_.end()) return nullptr;
  auto f = d->second.find(BaseName(path));
  return f == d->second.end() ? nullptr : f->second;
}

void FaultInjectingFileSystem::PowerLoss(TearMode mode, uint64_t seed) {
  std::lock_guard<std::mutex> g(mu_);
  std::mt19937_64 rng(seed);
  live_ = durable_;
  std::set<Inode*> seen;
  for (auto& d : live_) {
    for (auto& e : d.second) {
      Inode* inode = e.second.get();
      if (!seen.insert(inode).second) continue;
      // What the disk holds: the synced bytes, plus possibly a torn copy of what was written
      // since: an unsynced tail past the durable size (appends), and unsynced 512-byte sectors
      // overwritten in place (publication into a prepared segment file).
      const std::string& dur = inode->durable;
      const std::string& live = inode->data;
      std::string tail;
      if (live.size() > dur.size()) tail = live.substr(dur.size());
      std::vector<size_t> changed;  // sector starts that differ within the durable size
      constexpr size_t kSector = 512;
      const size_t common = std::min(dur.size(), live.size());
      for (size_t s0 = 0; s0 < common; s0 += kSector) {
        const size_t len = std::min(kSector, common - s0);
        if (dur.compare(s0, len, live, s0, len) != 0) changed.push_back(s0);
      }
      TearMode m = mode;
      if (m == TearMode::kRandom) m = static_cast<TearMode>(rng() % 4);
      std::string base = dur;
      for (size_t s0 : changed) {
        const size_t len = std::min(kSector, common - s0);
        switch (m) {
          case TearMode::kDrop:
          case TearMode::kRandom:
            break;  // the old sector
          case TearMode::kCutShort:
            // Writeback reached some sectors and not others, in any order.
            if (rng() % 2 == 0) base.replace(s0, len, live, s0, len);
            break;
          case TearMode::kZeroFill:
            base.replace(s0, len, std::string(len, '\0'));
            break;
          case TearMode::kGarbage:
            for (size_t k = 0; k < len; ++k) base[s0 + k] = static_cast<char>(rng());
            break;
        }
      }
      std::string kept;
      switch (m) {
        case TearMode::kDrop:
        case TearMode::kRandom:
          break;
        case TearMode::kCutShort:
          if (!tail.empty()) kept = tail.substr(0, rng() % tail.size());
          break;
        case TearMode::kZeroFill:
          kept.assign(tail.size(), '\0');
          break;
        case TearMode::kGarbage:
          kept.resize(tail.size());
          for (char& c : kept) c = static_cast<char>(rng());
          break;
      }
      inode->data = base + kept;
      // What is on the platter after the reboot is, by definition, durable.
      inode->durable = inode->data;
      inode->sync_failed = false;
    }
  }
  durable_ = live_;
  crashed_ = false;
  crash_at_ = 0;
  ++generation_;
  locks_.clear();
}

void FaultInjectingFileSystem::MakeDir(const std::string& dir) {
  std::lock_guard<std::mutex> g(mu_);
  dirs_.insert(dir);
  live_[dir];
  durable_[dir];
}

void FaultInjectingFileSystem::PutFile(const std::string& path, const std::string& bytes,
                                       bool durable) {
  std::lock_guard<std::mutex> g(mu_);
  const std::string dir = DirName(path);
  dirs_.insert(dir);
  auto inode = std::make_shared<Inode>();
  inode->data = bytes;
  if (durable) inode->durable = bytes;
  live_[dir][BaseName(path)] = inode;
  if (durable) durable_[dir][BaseName(path)] = inode;
  else durable_[dir];
}

bool FaultInjectingFileSystem::GetFile(const std::string& path, std::string* bytes) const {
  std::lock_guard<std::mutex> g(mu_);
  auto inode = Find(path);
  if (!inode) return false;
  *bytes = inode->data;
  return true;
}

std::vector<std::string> FaultInjectingFileSystem::Names(const std::string& dir) const {
  std::lock_guard<std::mutex> g(mu_);
  std::vector<std::string> out;
  auto d = live_.find(dir);
  if (d != live_.end()) {
    for (const auto& e : d->second) out.push_back(e.first);
  }
  return out;
}

Status FaultInjectingFileSystem::NewWritableFile(const std::string& path,
                                                 std::unique_ptr<WritableFile>* out) {
  std::lock_guard<std::mutex> g(mu_);
  PWAL_RETURN_IF_ERROR(Enter(Op::kOpen, true, path));
  const std::string dir = DirName(path);
  if (dirs_.count(dir) == 0) return Status::NotFound("create " + path + ": no such directory");
  Dir& d = live_[dir];
  if (d.count(BaseName(path)) != 0) return Status::AlreadyExists("create " + path + ": file exists");
  auto inode = std::make_shared<Inode>();
  d[BaseName(path)] = inode;
  out->reset(new File(this, inode, path, generation_));
  return Status::OK();
}

Status FaultInjectingFileSystem::FileAppend(const std::shared_ptr<Inode>& inode,
                                            uint64_t generation, const std::string& path,
                                            uint64_t pos, const uint8_t* data, size_t n) {
  std::lock_guard<std::mutex> g(mu_);
  PWAL_RETURN_IF_ERROR(Enter(Op::kWrite, true, path));
  if (generation != generation_) return Status::IoError("write " + path + ": stale handle", EIO);
  if (pos > inode->data.size()) inode->data.resize(static_cast<size_t>(pos), '\0');
  const size_t at = static_cast<size_t>(pos);
  const size_t over = std::min(n, inode->data.size() - at);
  inode->data.replace(at, over, reinterpret_cast<const char*>(data), over);
  inode->data.append(reinterpret_cast<const char*>(data) + over, n - over);
  return Status::OK();
}

Status FaultInjectingFileSystem::FileTruncate(const std::shared_ptr<Inode>& inode,
                                              uint64_t generation, const std::string& path,
                                              uint64_t size) {
  std::lock_guard<std::mutex> g(mu_);
  PWAL_RETURN_IF_ERROR(Enter(Op::kWrite, true, path));
  if (generation != generation_) return Status::IoError("ftruncate " + path + ": stale handle", EIO);
  // Live size only: a power loss before the next sync brings back the durable size (and bytes).
  inode->data.resize(static_cast<size_t>(size), '\0');
  return Status::OK();
}

Status FaultInjectingFileSystem::ReopenForOverwrite(const std::string& path,
                                                    std::unique_ptr<WritableFile>* out) {
  std::lock_guard<std::mutex> g(mu_);
  // Looking up a name that does not exist changes nothing: not a call, not a step (WriteSegment
  // tries this open on every publication, as its existence check).
  auto inode = Find(path);
  if (!inode) return Status::NotFound("open " + path + ": no such file");
  PWAL_RETURN_IF_ERROR(Enter(Op::kOpen, true, path));
  out->reset(new File(this, inode, path, generation_));
  return Status::OK();
}

Status FaultInjectingFileSystem::FileLockAndReadHead(const std::shared_ptr<Inode>& inode,
                                                     const std::string& path, uint8_t* head,
                                                     size_t n, size_t* got, uint64_t* size) {
  std::lock_guard<std::mutex> g(mu_);
  PWAL_RETURN_IF_ERROR(Enter(Op::kRead, false, path));
  if (Find(path) != inode) return Status::NotFound("lock " + path + ": the file was deleted");
  *size = inode->data.size();
  *got = std::min(n, inode->data.size());
  if (*got > 0) std::memcpy(head, inode->data.data(), *got);
  return Status::OK();
}

Status FaultInjectingFileSystem::FileSync(const std::shared_ptr<Inode>& inode, uint64_t generation,
                                          const std::string& path, SyncMode mode) {
  if (mode == SyncMode::kNone) return Status::OK();
  std::lock_guard<std::mutex> g(mu_);
  Status st = Enter(Op::kSync, true, path);
  if (!st.ok()) {
    inode->sync_failed = true;  // the unsynced bytes are lost for good
    return st;
  }
  if (generation != generation_) return Status::IoError("sync " + path + ": stale handle", EIO);
  // fsyncgate: after a failed sync the kernel reports later syncs as successful, yet the
  // failed pages were dropped. Model that: succeed without making anything durable.
  if (!inode->sync_failed) inode->durable = inode->data;
  return Status::OK();
}

Status FaultInjectingFileSystem::ReadFile(const std::string& path, std::string* out) {
  std::lock_guard<std::mutex> g(mu_);
  PWAL_RETURN_IF_ERROR(Enter(Op::kRead, false, path));
  auto inode = Find(path);
  if (!inode) return Status::NotFound("open " + path + ": no such file");
  *out = inode->data;
  return Status::OK();
}

Status FaultInjectingFileSystem::ReadAt(const std::string& path, uint64_t offset, uint8_t* buf,
                                        size_t n, size_t* read) {
  std::lock_guard<std::mutex> g(mu_);
  *read = 0;
  PWAL_RETURN_IF_ERROR(Enter(Op::kRead, false, path));
  auto inode = Find(path);
  if (!inode) return Status::NotFound("open " + path + ": no such file");
  if (offset >= inode->data.size()) return Status::OK();
  *read = std::min<size_t>(n, inode->data.size() - static_cast<size_t>(offset));
  std::memcpy(buf, inode->data.data() + offset, *read);
  return Status::OK();
}

Status FaultInjectingFileSystem::GetFileSize(const std::string& path, uint64_t* size) {
  std::lock_guard<std::mutex> g(mu_);
  PWAL_RETURN_IF_ERROR(Enter(Op::kRead, false, path));
  auto inode = Find(path);
  if (!inode) return Status::NotFound("stat " + path + ": no such file");
  *size = inode->data.size();
  return Status::OK();
}

Status FaultInjectingFileSystem::FileExists(const std::string& path, bool* exists) {
  std::lock_guard<std::mutex> g(mu_);
  PWAL_RETURN_IF_ERROR(Enter(Op::kRead, false, path));
  *exists = Find(path) != nullptr;
  return Status::OK();
}

Status FaultInjectingFileSystem::RenameNoReplace(const std::string& from, const std::string& to) {
  std::lock_guard<std::mutex> g(mu_);
  PWAL_RETURN_IF_ERROR(Enter(Op::kRename, true, from + " -> " + to));
  auto inode = Find(from);
  if (!inode) return Status::NotFound("rename " + from + ": no such file");
  if (dirs_.count(DirName(to)) == 0) return Status::NotFound("rename to " + to + ": no such directory");
  if (Find(to)) return Status::AlreadyExists("rename " + from + " to " + to + ": target exists");
  live_[DirName(from)].erase(BaseName(from));
  live_[DirName(to)][BaseName(to)] = inode;
  return Status::OK();
}

Status FaultInjectingFileSystem::SyncDir(const std::string& dir, SyncMode mode) {
  if (mode == SyncMode::kNone) return Status::OK();
  std::lock_guard<std::mutex> g(mu_);
  PWAL_RETURN_IF_ERROR(Enter(Op::kDirSync, true, dir));
  if (dirs_.count(dir) == 0) return Status::NotFound("open directory " + dir + ": no such directory");
  durable_[dir] = live_[dir];
  return Status::OK();
}

Status FaultInjectingFileSystem::ListDir(const std::string& dir, std::vector<std::string>* names) {
  std::lock_guard<std::mutex> g(mu_);
  names->clear();
  PWAL_RETURN_IF_ERROR(Enter(Op::kList, false, dir));
  if (dirs_.count(dir) == 0) return Status::NotFound("list directory " + dir + ": no such directory");
  for (const auto& e : live_[dir]) names->push_back(e.first);
  return Status::OK();
}

Status FaultInjectingFileSystem::DeleteFile(const std::string& path) {
  std::lock_guard<std::mutex> g(mu_);
  PWAL_RETURN_IF_ERROR(Enter(Op::kDelete, true, path));
  auto d = live_.find(DirName(path));
  if (d == live_.end() || d->second.erase(BaseName(path)) == 0) {
    return Status::NotFound("delete " + path + ": no such file");
  }
  return Status::OK();
}

Status FaultInjectingFileSystem::LockFile(const std::string& path, std::unique_ptr<FileLock>* out) {
  std::lock_guard<std::mutex> g(mu_);
  if (crashed_) return Status::IoError("lock " + path + ": simulated crash", EIO);
  if (!locks_.insert(path).second) return Status::Locked("lock " + path + ": already held");
  out->reset(new Lock(this, path));
  return Status::OK();
}

}  // namespace pwal
