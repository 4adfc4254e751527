// Segment files on disk: naming, listing, crash-safe publication, reading, deletion.
// The byte layout lives in segment_codec.cc, recovery in segment_recovery.cc.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <new>
#include <utility>
#include <vector>

#include "segment.h"

#include "log_file.h"

namespace pwal {
namespace {

constexpr const char* kSegmentInfix = "-wal-seg-";
constexpr size_t kEpochHexDigits = 16;

// The db file's name as the seed derives it ("db" when the path has no file name).
void SplitDbPath(const std::string& db_path, std::string* dir_prefix, std::string* name) {
  const size_t slash = db_path.find_last_of('/');
  *dir_prefix = slash == std::string::npos ? "" : db_path.substr(0, slash + 1);
  *name = slash == std::string::npos ? db_path : db_path.substr(slash + 1);
  if (name->empty()) *name = "db";
}

std::string SegmentDir(const std::string& db_path) { return DirName(SegmentPath(db_path, 0)); }

std::string SegmentPrefix(const std::string& db_path) {
  std::string dir_prefix, name;
  SplitDbPath(db_path, &dir_prefix, &name);
  return name + kSegmentInfix;
}

// Exactly 16 lowercase hex digits, as SegmentPath writes them; anything else is not a segment
// (so "<seg>.tmp-..." temporaries and hand-made names are never listed, and no two names can
// denote the same epoch).
bool ParseEpochHex(const std::string& s, size_t pos, uint64_t* epoch) {
  if (s.size() - pos != kEpochHexDigits) return false;
  uint64_t v = 0;
  for (size_t i = pos; i < s.size(); ++i) {
    const char c = s[i];
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else return false;
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  *epoch = v;
  return true;
}

bool IsSegmentTemporary(const std::string& name, const std::string& prefix) {
  if (name.compare(0, prefix.size(), prefix) != 0) return false;
  const size_t after = prefix.size() + kEpochHexDigits;
  if (name.size() <= after) return false;
  uint64_t ignored;
  if (!ParseEpochHex(name.substr(0, after), prefix.size(), &ignored)) return false;
  return name.compare(after, std::char_traits<char>::length(kSegmentTempInfix), kSegmentTempInfix) == 0;
}

std::string TempPathFor(const std::string& final_path) {
  static std::atomic<uint64_t> counter{0};
  return final_path + kSegmentTempInfix + std::to_string(static_cast<long long>(::getpid())) + "-" +
         std::to_string(counter.fetch_add(1, std::memory_order_relaxed));
}

// ---- the segment buffer pool (see SegmentBytes in segment.h) ----
constexpr size_t kPoolMinBytes = 64 * 1024;
constexpr size_t kPoolGranule = 64 * 1024;
constexpr size_t kPoolMaxTotalBytes = 32u << 20;
constexpr size_t kPoolMaxEntries = 32;

struct BufferPool {
  std::mutex mu;
  std::vector<std::pair<uint8_t*, size_t>> free;  // (data, capacity)
  size_t total = 0;
};

// Never destroyed: external ArrayBuffers may be finalized during process teardown.
BufferPool& Pool() {
  static BufferPool* pool = new BufferPool();
  return *pool;
}

uint8_t* AllocateBuffer(size_t n, size_t* capacity) {
  if (n >= kPoolMinBytes) {
    BufferPool& pool = Pool();
    std::lock_guard<std::mutex> lock(pool.mu);
    // Best fit among buffers no more than twice the request (bounded waste).
    size_t best = pool.free.size();
    for (size_t i = 0; i < pool.free.size(); ++i) {
      const size_t cap = pool.free[i].second;
      if (cap >= n && cap / 2 <= n && (best == pool.free.size() || cap < pool.free[best].second)) best = i;
    }
    if (best != pool.free.size()) {
      uint8_t* data = pool.free[best].first;
      *capacity = pool.free[best].second;
      pool.free[best] = pool.free.back();
      pool.free.pop_back();
      pool.total -= *capacity;
      return data;
    }
    if (n <= SIZE_MAX - kPoolGranule) n = (n + kPoolGranule - 1) / kPoolGranule * kPoolGranule;
  }
  *capacity = n > 0 ? n : 1;
  return new uint8_t[*capacity];  // default-initialized: no zero-filling
}

}  // namespace

SegmentBytes& SegmentBytes::operator=(SegmentBytes&& other) noexcept {
  if (this != &other) {
    Reset();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    capacity_ = std::exchange(other.capacity_, 0);
  }
  return *this;
}

void SegmentBytes::Allocate(size_t n) {
  Reset();
  data_ = AllocateBuffer(n, &capacity_);
  size_ = n;
}

void SegmentBytes::ZeroPadTo(size_t n) {
  if (n <= size_) return;
  if (n > capacity_) {
    size_t capacity = 0;
    uint8_t* data = AllocateBuffer(n, &capacity);
    if (size_ > 0) std::memcpy(data, data_, size_);
    Free(data_, capacity_);
    data_ = data;
    capacity_ = capacity;
  }
  std::memset(data_ + size_, 0, n - size_);
  size_ = n;
}

void SegmentBytes::Reset() {
  Free(data_, capacity_);
  data_ = nullptr;
  size_ = 0;
  capacity_ = 0;
}

uint8_t* SegmentBytes::Release(size_t* capacity) {
  *capacity = capacity_;
  uint8_t* data = data_;
  data_ = nullptr;
  size_ = 0;
  capacity_ = 0;
  return data;
}

void SegmentBytes::Adopt(uint8_t* data, size_t size, size_t capacity) {
  Reset();
  data_ = data;
  size_ = size;
  capacity_ = capacity;
}

void SegmentBytes::Free(uint8_t* data, size_t capacity) {
  if (data == nullptr) return;
  if (capacity >= kPoolMinBytes) {
    BufferPool& pool = Pool();
    std::lock_guard<std::mutex> lock(pool.mu);
    if (pool.free.size() < kPoolMaxEntries && capacity <= kPoolMaxTotalBytes - pool.total) {
      pool.free.emplace_back(data, capacity);
      pool.total += capacity;
      return;
    }
  }
  delete[] data;
}

namespace {
}  // namespace

bool ParseFsyncPolicy(const std::string& name, FsyncPolicy* out) {
  if (name == "full") *out = FsyncPolicy::kFull;
  else if (name == "normal") *out = FsyncPolicy::kNormal;
  else if (name == "off") *out = FsyncPolicy::kOff;
  else return false;
  return true;
}

SyncMode NewFileSyncMode(FsyncPolicy p) {
  switch (p) {
    case FsyncPolicy::kFull: return SyncMode::kFull;
    case FsyncPolicy::kNormal: return SyncMode::kData;
    case FsyncPolicy::kOff: return SyncMode::kNone;
  }
  return SyncMode::kFull;
}

SyncMode PreparedFileSyncMode(FsyncPolicy p) {
  switch (p) {
    case FsyncPolicy::kFull: return SyncMode::kFullData;
    case FsyncPolicy::kNormal: return SyncMode::kData;
    case FsyncPolicy::kOff: return SyncMode::kNone;
  }
  return SyncMode::kFullData;
}

std::string SegmentPath(const std::string& db_path, uint64_t epoch) {
  std::string dir_prefix, name;
  SplitDbPath(db_path, &dir_prefix, &name);
  char hex[kEpochHexDigits + 1];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(epoch));
  return dir_prefix + name + kSegmentInfix + hex;
}

Status ListSegmentFiles(FileSystem* fs, const std::string& db_path, std::vector<SegmentEntry>* out) {
  std::vector<std::string> names;
  return ListSegmentFiles(fs, db_path, out, &names);
}

Status ListSegmentFiles(FileSystem* fs, const std::string& db_path, std::vector<SegmentEntry>* out,
                        std::vector<std::string>* dir_names) {
  out->clear();
  dir_names->clear();
  const std::string dir = SegmentDir(db_path);
  const std::string prefix = SegmentPrefix(db_path);
  std::vector<std::string>& names = *dir_names;
  PWAL_RETURN_IF_ERROR(fs->ListDir(dir, &names));
  std::string dir_prefix, db_name;
  SplitDbPath(db_path, &dir_prefix, &db_name);  // listed paths are spelled as SegmentPath does
  for (const std::string& name : names) {
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    uint64_t epoch;
    if (!ParseEpochHex(name, prefix.size(), &epoch)) continue;
    out->push_back({epoch, dir_prefix + name});
  }
  std::sort(out->begin(), out->end(),
            [](const SegmentEntry& a, const SegmentEntry& b) { return a.epoch < b.epoch; });
  return Status::OK();
}

Status IsUnwrittenSegmentFile(FileSystem* fs, const std::string& path, bool* unwritten) {
  *unwritten = false;
  uint8_t head[kSegmentHeaderSize];
  size_t got = 0;
  PWAL_RETURN_IF_ERROR(fs->ReadAt(path, 0, head, sizeof head, &got));
  if (got < kSegmentHeaderSize) return Status::OK();
  for (uint8_t b : head) {
    if (b != 0) return Status::OK();
  }
  *unwritten = true;
  return Status::OK();
}

Status ListSegments(FileSystem* fs, const std::string& db_path, std::vector<SegmentEntry>* out) {
  PWAL_RETURN_IF_ERROR(ListSegmentFiles(fs, db_path, out));
  // Unwritten prepared files only ever sit at the tail (the writer never publishes an epoch
  // while a lower-numbered prepared file may survive a crash); one read in the common case.
  while (!out->empty()) {
    bool unwritten = false;
    Status st = IsUnwrittenSegmentFile(fs, out->back().path, &unwritten);
    if (st.code() == Status::Code::kNotFound) {  // deleted since the listing
      out->pop_back();
      continue;
    }
    PWAL_RETURN_IF_ERROR(st.WithContext("segment " + out->back().path));
    if (!unwritten) break;
    out->pop_back();
  }
  return Status::OK();
}

Status WriteSegment(FileSystem* fs, const std::string& db_path, const EpochBatch& batch,
                    const SegmentWriteOptions& options, SegmentWriteResult* result) {
  *result = SegmentWriteResult{};
  // 1. Validate and encode in memory: nothing touches the disk for an invalid batch.
  SegmentBytes bytes;  // recycled and not zero-filled: see SegmentBytes
  CommitCertificate cert;
  PWAL_RETURN_IF_ERROR(EncodeSegment(batch, options, &bytes, &cert)
                           .WithContext("writing segment " + SegmentPath(db_path, batch.epoch)));
  return WriteSegmentBytes(fs, db_path, batch.epoch, &bytes, std::move(cert), options, result);
}

Status WriteNewSegment(FileSystem* fs, const std::string& db_path, const EpochBatch& batch,
                       const SegmentWriteOptions& options, SegmentWriteResult* result) {
  *result = SegmentWriteResult{};
  SegmentBytes bytes;
  CommitCertificate cert;
  PWAL_RETURN_IF_ERROR(EncodeSegment(batch, options, &bytes, &cert)
                           .WithContext("writing segment " + SegmentPath(db_path, batch.epoch)));
  return PublishSegment(fs, db_path, batch.epoch, bytes, std::move(cert), options, result);
}

namespace {

// The whole segment in one write, then the policy's sync. A failed sync is final for the file:
// the callers drop it and never sync it again (fsyncgate).
Status WriteAndSync(WritableFile* file, const SegmentBytes& bytes, SyncMode mode) {
  PWAL_RETURN_IF_ERROR(file->Append(bytes.data(), bytes.size()));
  return mode == SyncMode::kNone ? Status::OK() : file->Sync(mode);
}

// An unnamed file (FileSystem::NewUnnamedFile): one write, sync per policy, then linked under
// `final_path` (never replacing). On any failure the file is closed unlinked, so the file
// system frees it: nothing to clean up, now or after a crash. NotSupported: not possible here,
// nothing was done that matters.
Status WriteUnnamedAndLink(FileSystem* fs, const std::string& final_path, const SegmentBytes& bytes,
                           SyncMode mode) {
  std::unique_ptr<WritableFile> file;
  PWAL_RETURN_IF_ERROR(fs->NewUnnamedFile(DirName(final_path), &file));
  Status st = WriteAndSync(file.get(), bytes, mode);
  bool linked = false;
  if (st.ok()) {
    st = file->LinkAs(final_path);
    linked = st.ok();
  }
  Status close_st = file->Close();
  if (st.ok()) st = close_st;
  if (!st.ok() && linked) fs->DeleteFile(final_path);  // close failed after the link: withdraw
  return st;
}

// The portable protocol: a temporary name (O_EXCL), one write, sync per policy, close, then
// RenameNoReplace to `final_path`. A temporary left by a crash is ignored by readers and
// removed by CleanupSegments.
Status WriteTempAndRename(FileSystem* fs, const std::string& final_path, const SegmentBytes& bytes,
                          SyncMode mode) {
  const std::string temp_path = TempPathFor(final_path);
  std::unique_ptr<WritableFile> file;
  PWAL_RETURN_IF_ERROR(fs->NewWritableFile(temp_path, &file));
  Status st = WriteAndSync(file.get(), bytes, mode);
  Status close_st = file->Close();
  if (st.ok()) st = close_st;
  file.reset();
  // The final name appears only for complete, synced bytes.
  if (st.ok()) st = fs->RenameNoReplace(temp_path, final_path);
  if (!st.ok()) fs->DeleteFile(temp_path);  // best effort; CleanupSegments removes what is left
  return st;
}

Status PublishNewSegment(FileSystem* fs, const std::string& final_path, const SegmentBytes& bytes,
                         CommitCertificate cert, const SegmentWriteOptions& options,
                         SegmentWriteResult* result);

}  // namespace

Status PublishSegment(FileSystem* fs, const std::string& db_path, uint64_t epoch,
                      const SegmentBytes& bytes, CommitCertificate cert,
                      const SegmentWriteOptions& options, SegmentWriteResult* result) {
  const std::string final_path = SegmentPath(db_path, epoch);
  const std::string context = "writing segment " + final_path;
  *result = SegmentWriteResult{};

  // 2. Refuse early (before any I/O that creates files) if the epoch already has a segment;
  //    linking or renaming without replacing below is what makes this race-free.
  bool exists = false;
  PWAL_RETURN_IF_ERROR(fs->FileExists(final_path, &exists).WithContext(context));
  if (exists) {
    return Status::AlreadyExists(context + ": a segment for epoch " + std::to_string(epoch) +
                                 " already exists; segments are never replaced");
  }

  return PublishNewSegment(fs, final_path, bytes, std::move(cert), options, result);
}

namespace {

// PublishSegment after its existence check.
Status PublishNewSegment(FileSystem* fs, const std::string& final_path, const SegmentBytes& bytes,
                         CommitCertificate cert, const SegmentWriteOptions& options,
                         SegmentWriteResult* result) {
  const std::string context = "writing segment " + final_path;
  // 3+4. The bytes go into a file that has no name (or a temporary one) until they are complete
  //      and synced; only then does the final name appear, never replacing one.
  const SyncMode mode = NewFileSyncMode(options.fsync_policy);
  Status st = WriteUnnamedAndLink(fs, final_path, bytes, mode);
  if (st.IsNotSupported()) st = WriteTempAndRename(fs, final_path, bytes, mode);
  if (!st.ok()) return st.WithContext(context);
  // 5. Make the directory entry durable before reporting success.
  if (mode != SyncMode::kNone) {
    st = fs->SyncDir(DirName(final_path), mode);
    if (!st.ok()) {
      // The entry's durability is unknown: withdraw the segment so the caller can rewrite the
      // epoch from memory. Its bytes were synced, so if it survives a crash anyway it is whole.
      fs->DeleteFile(final_path);
      return st.WithContext(context);
    }
  }
  result->bytes_written = bytes.size();
  result->path = final_path;
  result->certificate = std::move(cert);
  return Status::OK();
}

// The first step of WriteSegmentBytes: is there an unwritten prepared file under `path`? On OK
// `*file` is open on it, from offset 0, under an exclusive lock, and *size is its size.
// NotFound: no file under the name (any more). AlreadyExists: a segment, or anything else that
// must not be touched. NotSupported: this file system cannot overwrite in place.
Status ClaimPreparedFile(FileSystem* fs, const std::string& path, uint64_t epoch,
                         std::unique_ptr<WritableFile>* file, uint64_t* size) {
  // Built only when refusing: the claim is on the commit path.
  const auto exists = [epoch] {
    return Status::AlreadyExists("a segment for epoch " + std::to_string(epoch) +
                                 " already exists; segments are never replaced");
  };
  PWAL_RETURN_IF_ERROR(fs->ReopenForOverwrite(path, file));
  // Under the lock, so that of two writers of one epoch exactly one sees zeros: the other finds
  // the first one's header (or, if the first one failed and deleted the file, NotFound).
  uint8_t head[kSegmentHeaderSize];
  size_t got = 0;
  Status st = (*file)->LockAndReadHead(head, sizeof head, &got, size);
  if (st.IsNotSupported()) return exists();
  PWAL_RETURN_IF_ERROR(st);
  if (got < sizeof head) return exists();
  for (uint8_t b : head) {
    if (b != 0) return exists();
  }
  if (*size > kMaxPreparedSegmentBytes) {
    return Status::AlreadyExists("epoch " + std::to_string(epoch) + " has an unwritten file of " +
                                 std::to_string(*size) + " bytes, larger than a prepared file can be (" +
                                 std::to_string(kMaxPreparedSegmentBytes) + "); delete it first");
  }
  return Status::OK();
}

}  // namespace

Status WriteSegmentBytes(FileSystem* fs, const std::string& db_path, uint64_t epoch,
                         SegmentBytes* bytes, CommitCertificate cert,
                         const SegmentWriteOptions& options, SegmentWriteResult* result) {
  const std::string final_path = SegmentPath(db_path, epoch);
  const std::string context = "writing segment " + final_path;
  *result = SegmentWriteResult{};
  if (options.format_version != kSegmentFormatV2) {
    // v1 is never written in place: PublishSegment refuses an existing name.
    return PublishSegment(fs, db_path, epoch, *bytes, std::move(cert), options, result);
  }
  // Opening the name is also the existence check (no separate stat on the common path, where
  // there is no file yet and the open fails).
  std::unique_ptr<WritableFile> file;
  uint64_t size = 0;
  Status st = ClaimPreparedFile(fs, final_path, epoch, &file, &size);
  if (st.code() == Status::Code::kNotFound) {
    if (file) file->Close();
    return PublishNewSegment(fs, final_path, *bytes, std::move(cert), options, result);
  }
  if (st.IsNotSupported()) {
    return PublishSegment(fs, db_path, epoch, *bytes, std::move(cert), options, result);
  }
  if (!st.ok()) {
    if (file) file->Close();
    return st.WithContext(context);
  }
  // Shorter than the file: padded (readers then check that the rest is zeros). Otherwise the
  // write covers the whole file and perhaps extends it (the data sync then commits the size).
  if (bytes->size() < size) {
    st = ResealSegmentFlags(bytes->data(), bytes->size(), kSegmentFlagPadded, &cert.certificate_crc32c);
  }
  if (st.ok()) st = file->Append(bytes->data(), bytes->size());
  const SyncMode mode = PreparedFileSyncMode(options.fsync_policy);
  // A failed sync is final for this file (fsyncgate): it is deleted, never synced again.
  if (st.ok() && mode != SyncMode::kNone) st = file->Sync(mode);
  if (!st.ok()) {
    // Deleted while still locked, so that a writer waiting for the lock finds no name (and
    // publishes a new file) rather than these partial bytes or zeros. Best effort: a crash may
    // bring the file back, as a torn tail or unwritten.
    fs->DeleteFile(final_path);
    file->Close();
    return st.WithContext(context + " (prepared)");
  }
  st = file->Close();
  if (!st.ok()) {
    fs->DeleteFile(final_path);
    return st.WithContext(context + " (prepared)");
  }
  result->bytes_written = bytes->size();
  result->path = final_path;
  result->certificate = std::move(cert);
  return Status::OK();
}

Status ReadSegmentBytes(FileSystem* fs, const std::string& path, SegmentBytes* out) {
  const std::string context = "segment " + path;
  out->Reset();
  uint64_t size = 0;
  PWAL_RETURN_IF_ERROR(fs->GetFileSize(path, &size).WithContext(context));
  if (size < kSegmentHeaderSize) {
    // Too short for a header: read what is there (at most 24 bytes) so the decoder reports it.
    uint8_t head[kSegmentHeaderSize];
    size_t got = 0;
    PWAL_RETURN_IF_ERROR(fs->ReadAt(path, 0, head, sizeof head, &got).WithContext(context));
    out->Allocate(got);
    if (got > 0) std::memcpy(out->data(), head, got);
    return Status::OK();
  }
  // Check the header and bound the file size before reading (allocating) the whole file.
  uint8_t head[kSegmentHeaderSize];
  size_t got = 0;
  PWAL_RETURN_IF_ERROR(fs->ReadAt(path, 0, head, sizeof head, &got).WithContext(context));
  SegmentHeader header;
  PWAL_RETURN_IF_ERROR(DecodeSegmentHeader(head, got, &header).WithContext(context));
  uint64_t max = MaxSegmentFileSize(header.record_count);
  // A prepared (padded) file may be longer: zero padding after the certificate, which the
  // decoder verifies byte by byte.
  if ((header.flags & kSegmentFlagPadded) != 0) max = std::max(max, kMaxPreparedSegmentBytes);
  // A log file: frames of later epochs and zeros follow the first frame (DecodeLogFile).
  if ((header.flags & kSegmentFlagFrame) != 0) max = std::max(max, kMaxLogFileBytes);
  if (size > max || size >= static_cast<uint64_t>(SIZE_MAX)) {
    return Status::Corruption(context + ": file length " + std::to_string(size) +
                              " exceeds the maximum " + std::to_string(max) + " for " +
                              std::to_string(header.record_count) +
                              " records (trailing bytes after declared records)");
  }
  // One byte more than stat saw: a file that grew since is read with its trailing bytes (and
  // rejected by the decoder) instead of being cut at the old size. No zero-filling.
  const size_t want = static_cast<size_t>(size) + 1;
  out->Allocate(want);
  PWAL_RETURN_IF_ERROR(fs->ReadAt(path, 0, out->data(), want, &got).WithContext(context));
  out->set_size(got);
  return Status::OK();
}

Status ReadSegmentView(FileSystem* fs, const std::string& path, SegmentBytes* bytes,
                       SegmentView* out) {
  PWAL_RETURN_IF_ERROR(ReadSegmentBytes(fs, path, bytes));
  return DecodeSegmentView(bytes->data(), bytes->size(), out).WithContext("segment " + path);
}

Status ReadSegment(FileSystem* fs, const std::string& path, SegmentContents* out) {
  SegmentBytes bytes;
  PWAL_RETURN_IF_ERROR(ReadSegmentBytes(fs, path, &bytes));
  return DecodeSegment(bytes.data(), bytes.size(), out).WithContext("segment " + path);
}

Status DeleteSegment(FileSystem* fs, const std::string& path) {
  return fs->DeleteFile(path).WithContext("deleting segment " + path);
}

Status MaxDurableEpoch(FileSystem* fs, const std::string& db_path, std::optional<uint64_t>* out) {
  std::vector<SegmentEntry> segments;
  PWAL_RETURN_IF_ERROR(ListSegments(fs, db_path, &segments));
  if (segments.empty()) {
    out->reset();
    return Status::OK();
  }
  *out = segments.back().epoch;
  // A log file holds later epochs than its name: the newest is its last good frame's.
  uint8_t head[kSegmentHeaderSize];
  size_t got = 0;
  PWAL_RETURN_IF_ERROR(fs->ReadAt(segments.back().path, 0, head, sizeof head, &got));
  if (IsLogFileImage(head, got)) {
    SegmentBytes bytes;
    PWAL_RETURN_IF_ERROR(ReadSegmentBytes(fs, segments.back().path, &bytes));
    LogFileView log;
    DecodeLogFile(bytes.data(), bytes.size(), &log);
    if (!log.frames.empty()) *out = log.frames.back().header.epoch;
  }
  return Status::OK();
}

Status CleanupSegments(FileSystem* fs, const std::string& db_path, size_t* count) {
  *count = 0;
  std::vector<SegmentEntry> segments;
  PWAL_RETURN_IF_ERROR(ListSegmentFiles(fs, db_path, &segments));  // unwritten prepared too
  // Oldest first: if a crash keeps only some deletions, what remains is a suffix of the log.
  for (const SegmentEntry& s : segments) {
    PWAL_RETURN_IF_ERROR(DeleteSegment(fs, s.path));
    ++*count;
  }
  const std::string dir = SegmentDir(db_path);
  const std::string prefix = SegmentPrefix(db_path);
  std::string dir_prefix, db_name;
  SplitDbPath(db_path, &dir_prefix, &db_name);
  std::vector<std::string> names;
  PWAL_RETURN_IF_ERROR(fs->ListDir(dir, &names));
  bool removed_temp = false;
  for (const std::string& name : names) {
    if (!IsSegmentTemporary(name, prefix)) continue;
    PWAL_RETURN_IF_ERROR(
        fs->DeleteFile(dir_prefix + name).WithContext("removing stale temporary"));
    removed_temp = true;
  }
  if (*count > 0 || removed_temp) {
    PWAL_RETURN_IF_ERROR(fs->SyncDir(dir, SyncMode::kFull).WithContext("cleaning up segments"));
  }
  return Status::OK();
}

}  // namespace pwal
