// Prepared segment files: the fast publication path (docs/durability.md, "Prepared segment
// files"). A pool temporary is created full of written zeros and synced; it is then renamed to
// the final name of a FUTURE epoch and the directory is synced, all before any commit of that
// epoch exists. Publishing the epoch is then one in-place overwrite from offset 0 plus one data
// sync: the file's size, blocks and name are already durable, so nothing but the data has to
// reach the disk.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <vector>
#include <string>

#include "segment.h"

namespace pwal {
namespace {

void SplitDb(const std::string& db_path, std::string* dir_prefix, std::string* name) {
  const size_t slash = db_path.find_last_of('/');
  *dir_prefix = slash == std::string::npos ? "" : db_path.substr(0, slash + 1);
  *name = slash == std::string::npos ? db_path : db_path.substr(slash + 1);
  if (name->empty()) *name = "db";
}

// "<name of epoch 0>.tmp-prep-": the pool temporaries' common prefix (a temporary name, so
// never listed as a segment, and removed by CleanupSegments).
std::string PoolPrefix(const std::string& db_path) {
  return SegmentPath(db_path, 0) + kSegmentTempInfix + kPreparedTempTag;
}

std::atomic<uint64_t> pool_counter{0};

}  // namespace

std::string NewPoolTempPath(const std::string& db_path) {
  return PoolPrefix(db_path) + std::to_string(static_cast<long long>(::getpid())) + "-" +
         std::to_string(pool_counter.fetch_add(1, std::memory_order_relaxed));
}

Status CreatePreparedTemps(FileSystem* fs, const std::string& db_path, uint64_t size, SyncMode mode,
                           size_t count, std::vector<std::string>* temp_paths) {
  static const std::string kZeros(64 * 1024, '\0');
  temp_paths->clear();
  // All files are created and filled first, then synced: the file system can then commit their
  // metadata together (one journal commit for the batch rather than one per file).
  std::vector<std::unique_ptr<WritableFile>> files;
  std::vector<std::string> paths;
  Status st;
  for (size_t i = 0; i < count && st.ok(); ++i) {
    std::string path = NewPoolTempPath(db_path);
    std::unique_ptr<WritableFile> file;
    st = fs->NewWritableFile(path, &file).WithContext("preparing segment file " + path);
    if (!st.ok()) break;
    paths.push_back(path);
    files.push_back(std::move(file));
    uint64_t left = size;
    while (st.ok() && left > 0) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(left, kZeros.size()));
      st = files.back()->Append(reinterpret_cast<const uint8_t*>(kZeros.data()), n);
      left -= n;
    }
  }
  // Start every file's writeback before syncing any: block allocation for the whole batch then
  // lands in one journal transaction, which the first sync commits.
  if (st.ok() && mode != SyncMode::kNone) {
    for (auto& f : files) f->StartWriteback();
  }
  for (size_t i = 0; i < files.size(); ++i) {
    if (st.ok() && mode != SyncMode::kNone) st = files[i]->Sync(mode);
    Status close_st = files[i]->Close();
    if (st.ok()) st = close_st;
  }
  files.clear();
  if (!st.ok()) {
    for (const std::string& p : paths) fs->DeleteFile(p);  // best effort; never synced again
    return st;
  }
  *temp_paths = std::move(paths);
  return Status::OK();
}

Status CreateEmptyPoolTemp(FileSystem* fs, const std::string& db_path, std::string* path,
                           std::unique_ptr<WritableFile>* file) {
  *path = NewPoolTempPath(db_path);
  Status st = fs->NewWritableFile(*path, file);
  if (!st.ok()) path->clear();
  return st.WithContext("creating log file temporary");
}

Status NamePreparedSegment(FileSystem* fs, const std::string& temp_path, const std::string& db_path,
                           uint64_t epoch) {
  return fs->RenameNoReplace(temp_path, SegmentPath(db_path, epoch))
      .WithContext("naming prepared segment file for epoch " + std::to_string(epoch));
}

Status WritePreparedSegment(FileSystem* fs, const std::string& db_path, const EpochBatch& batch,
                            uint64_t prepared_size, const SegmentWriteOptions& options,
                            SegmentWriteResult* result) {
  const std::string final_path = SegmentPath(db_path, batch.epoch);
  const std::string context = "writing segment " + final_path + " (prepared)";
  *result = SegmentWriteResult{};
  if (options.format_version != kSegmentFormatV2) {
    return Status::InvalidArgument(context + ": prepared files hold v2 segments only");
  }
  SegmentWriteOptions o = options;
  std::string bytes;
  CommitCertificate cert;
  // Padded when the segment fits: the zeros after it stay and are verified by readers. When it
  // does not fit, the write extends the file (the sync then commits the new size too).
  o.padded = true;
  PWAL_RETURN_IF_ERROR(EncodeSegment(batch, o, &bytes, &cert).WithContext(context));
  if (bytes.size() >= prepared_size) {
    // No padding left (or an extension): the exact unpadded encoding.
    o.padded = false;
    PWAL_RETURN_IF_ERROR(EncodeSegment(batch, o, &bytes, &cert).WithContext(context));
  }
  std::unique_ptr<WritableFile> file;
  PWAL_RETURN_IF_ERROR(fs->ReopenForOverwrite(final_path, &file).WithContext(context));
  Status st = file->Append(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  const SyncMode mode = PreparedFileSyncMode(options.fsync_policy);
  // A failed sync is final for this file: the caller deletes it, never syncs it again.
  if (st.ok() && mode != SyncMode::kNone) st = file->Sync(mode);
  Status close_st = file->Close();
  if (st.ok()) st = close_st;
  if (!st.ok()) return st.WithContext(context);
  result->bytes_written = bytes.size();
  result->path = final_path;
  result->certificate = std::move(cert);
  return Status::OK();
}

Status PrepareSegmentFiles(FileSystem* fs, const std::string& db_path, uint64_t first_epoch,
                           uint64_t count, uint64_t size, FsyncPolicy policy, uint64_t* prepared) {
  *prepared = 0;
  const std::string context = "preparing segment files of " + db_path;
  if (count == 0 || count > kMaxPrepareSegmentFiles) {
    return Status::InvalidArgument(context + ": count must be 1.." +
                                   std::to_string(kMaxPrepareSegmentFiles) + ", got " +
                                   std::to_string(count));
  }
  if (size < kSegmentHeaderSize || size > kMaxPreparedSegmentBytes) {
    return Status::InvalidArgument(context + ": size must be " + std::to_string(kSegmentHeaderSize) +
                                   ".." + std::to_string(kMaxPreparedSegmentBytes) + " bytes, got " +
                                   std::to_string(size));
  }
  if (first_epoch > UINT64_MAX - (count - 1)) {
    return Status::InvalidArgument(context + ": epochs " + std::to_string(first_epoch) + " + " +
                                   std::to_string(count) + " overflow a u64");
  }
  // The pool files are synced like an epoch's data would be; the names by the directory sync.
  const SyncMode mode = NewFileSyncMode(policy);
  std::vector<std::string> temps;
  PWAL_RETURN_IF_ERROR(CreatePreparedTemps(fs, db_path, size, mode, static_cast<size_t>(count), &temps)
                           .WithContext(context));
  Status st;
  size_t next = 0;  // temps[next..] have no final name
  for (; next < temps.size(); ++next) {
    st = NamePreparedSegment(fs, temps[next], db_path, first_epoch + next);
    if (st.ok()) {
      ++*prepared;
    } else if (st.code() == Status::Code::kAlreadyExists) {
      // That epoch has a file already (a segment, or a file prepared before): left alone.
      fs->DeleteFile(temps[next]);
      st = Status::OK();
    } else {
      break;
    }
  }
  // On an error the temporaries not named are removed; the files already named stay (unwritten
  // prepared files are not segments, see ListSegments).
  for (size_t k = next; k < temps.size(); ++k) fs->DeleteFile(temps[k]);
  if (st.ok() && mode != SyncMode::kNone && *prepared > 0) {
    st = fs->SyncDir(DirName(SegmentPath(db_path, first_epoch)), mode);
  }
  return st.WithContext(context);
}

Status RemovePreparedTemps(FileSystem* fs, const std::string& db_path, size_t* removed) {
  *removed = 0;
  std::vector<std::string> names;
  PWAL_RETURN_IF_ERROR(fs->ListDir(DirName(PoolPrefix(db_path)), &names));
  return RemovePreparedTemps(fs, db_path, names, removed);
}

Status RemovePreparedTemps(FileSystem* fs, const std::string& db_path,
                           const std::vector<std::string>& names, size_t* removed) {
  *removed = 0;
  const std::string base = BaseName(PoolPrefix(db_path));
  std::string dir_prefix, db_name;
  SplitDb(db_path, &dir_prefix, &db_name);
  for (const std::string& name : names) {
    if (name.compare(0, base.size(), base) != 0) continue;
    Status st = fs->DeleteFile(dir_prefix + name);
    if (!st.ok() && st.code() != Status::Code::kNotFound) return st;
    ++*removed;
  }
  return Status::OK();
}

}  // namespace pwal
