// Segment files: one file per non-empty epoch, "<db file name>-wal-seg-<epoch, 16 hex digits>"
// beside the db path. Byte layouts of format versions 1 (the seed's) and 2 (default, every
// byte checksummed, ends with the commit certificate) are specified in docs/format.md.
//
// CONTRACT (this header is the interface the coordinator and the binding build on; the
// implementation lives in segment_*.cc):
// - WriteSegment validates everything before creating any file, writes to a temporary name
//   ("<final>.tmp-<unique>"), syncs per policy, renames without replacing, syncs the directory,
//   and only then returns OK. On failure no file is visible under the final name and no earlier
//   segment is touched; a file whose sync failed is abandoned, never re-synced.
// - ReadSegment never allocates a size taken from the file before checking it against the
//   file size; it never crashes on any content.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "file_system.h"
#include "status.h"
#include "wal_record.h"

namespace pwal {

constexpr uint32_t kSegmentMagic = 0x5057414Cu;
constexpr uint16_t kSegmentFormatV1 = 1;
constexpr uint16_t kSegmentFormatV2 = 2;
constexpr size_t kSegmentHeaderSize = 24;
// The seed's record body bounds: no end_seq and empty images .. end_seq and two full images.
constexpr size_t kSegmentRecordMinSize = 8 + 4 + 8 + 4 + 8 + 1 + 4 + 4;  // 41
constexpr size_t kSegmentRecordMaxSize = kSegmentRecordMinSize + 8 + 2 * kMaxImageBytes;
// Largest lane count a v2 certificate may carry (lane overrides are clamped to 1..65535).
constexpr size_t kMaxCertificateLanes = 65536;
// Temporaries are "<final name>" + kSegmentTempInfix + "<pid>-<counter>"; never listed.
constexpr const char* kSegmentTempInfix = ".tmp-";

// v2 header flags (bytes 6..7, covered by the header CRC; every other bit must be 0).
// Padded: the file is a prepared segment file written in place; bytes after the certificate up
// to the end of the file are zero padding, and the reader checks that every one of them is 0.
constexpr uint16_t kSegmentFlagPadded = 1;
// Frame: this image is one frame of a log file (log_file.h), several epochs to a file, each
// frame at a kLogFrameAlign boundary. Never set together with kSegmentFlagPadded.
constexpr uint16_t kSegmentFlagFrame = 2;
// A padded segment file is at most this large (or the largest valid unpadded size for its
// record count, if larger): readers bound the file size with it before reading.
constexpr uint64_t kMaxPreparedSegmentBytes = 1u << 20;
// A log file (log_file.h: frames of several epochs) is at most this large.
constexpr uint64_t kMaxLogFileBytes = 256u << 20;
// Prepared-file pool temporaries: "<name of epoch 0>" + kSegmentTempInfix + "prep-<pid>-<n>".
constexpr const char* kPreparedTempTag = "prep-";

enum class FsyncPolicy { kFull, kNormal, kOff };
// "full" / "normal" / "off" -> *out; false (out untouched) for any other name.
bool ParseFsyncPolicy(const std::string& name, FsyncPolicy* out);

// The sync a policy asks of a NEW file (its inode, size and blocks included: fsync under full)
// and of an in-place overwrite of a prepared file (size and blocks already durable: the data
// syncs, kFullData under full, which is F_FULLFSYNC on macOS).
SyncMode NewFileSyncMode(FsyncPolicy p);
SyncMode PreparedFileSyncMode(FsyncPolicy p);

struct SegmentHeader {
  uint16_t version = kSegmentFormatV2;
  uint64_t epoch = 0;
  uint32_t record_count = 0;
  uint16_t flags = 0;  // v2 only (kSegmentFlagPadded)
};

// The 24-byte header (same layout in v1 and v2; only the version differs).
void EncodeSegmentHeader(const SegmentHeader& header, uint8_t out[kSegmentHeaderSize]);
// Checks magic, version (1 or 2), the reserved bytes and the header CRC32C.
Status DecodeSegmentHeader(const uint8_t* data, size_t size, SegmentHeader* out);

// The commit certificate that closes a v2 segment.
struct CommitCertificate {
  uint16_t format_version = kSegmentFormatV2;
  uint64_t certificate_epoch = 0;
  uint64_t commit_seq_lo = 0;
  uint64_t commit_seq_hi = 0;
  bool has_prev = false;             // false for the first segment of a log
  uint64_t prev_durable_epoch = 0;   // link to the previous durable segment's epoch
  std::vector<uint32_t> lane_record_counts;
  uint32_t db_size_pages = 0;
  uint32_t page_set_size = 0;        // distinct page ids in the segment
  bool fallback_active = false;
  uint32_t certificate_crc32c = 0;
};

struct SegmentWriteOptions {
  FsyncPolicy fsync_policy = FsyncPolicy::kFull;
  uint16_t format_version = kSegmentFormatV2;
  // Certificate link (v2): the epoch of the previous durable segment, if any.
  bool has_prev = false;
  uint64_t prev_durable_epoch = 0;
  bool fallback_active = false;
  // v2: set the padded header flag (EncodeSegment), for a write into a prepared file.
  bool padded = false;
  // v2: set the frame header flag (EncodeSegment), for a frame of a log file.
  bool frame = false;
};

struct SegmentWriteResult {
  uint64_t bytes_written = 0;
  std::string path;
  bool frame = false;   // written as a frame of the log file `path`, at `offset`
  uint64_t offset = 0;
  CommitCertificate certificate;  // v2 only
};

struct SegmentContents {
  SegmentHeader header;
  std::vector<WalRecord> records;                 // in replay order
  std::optional<CommitCertificate> certificate;   // v2 only
};

std::string SegmentPath(const std::string& db_path, uint64_t epoch);

// ---- zero-copy reading ----
//
// A record decoded in place: every field of WalRecord, but the images are (offset, length)
// ranges of the segment bytes it was decoded from instead of owned vectors. Decoding a segment
// into views allocates one descriptor array (sized by the header's record count, after that count
// was checked against the input size) and copies no image.
struct RecordView {
  uint64_t txn_id = 0;
  uint64_t epoch = 0;
  uint64_t begin_seq = 0;
  uint64_t end_seq = 0;  // 0 when !has_end_seq
  uint64_t before_offset = 0;
  uint64_t after_offset = 0;
  uint32_t before_len = 0;
  uint32_t after_len = 0;
  uint32_t txn_epoch = 0;
  uint32_t page_id = 0;
  bool has_end_seq = false;
};

// Replay order (epoch, begin_seq, txn_id, page_id), the same key as ReplayLess.
inline bool ReplayLessView(const RecordView& a, const RecordView& b) {
  if (a.epoch != b.epoch) return a.epoch < b.epoch;
  if (a.begin_seq != b.begin_seq) return a.begin_seq < b.begin_seq;
  if (a.txn_id != b.txn_id) return a.txn_id < b.txn_id;
  return a.page_id < b.page_id;
}

struct SegmentView {
  SegmentHeader header;
  std::vector<RecordView> records;               // in replay order
  std::optional<CommitCertificate> certificate;  // v2 only
};

// The bytes of one segment file: allocated without zero-filling, and recycled. Buffers of
// 64 KiB and more come from, and go back to, a small process-wide pool (at most 32 MiB in 32
// buffers; that much may stay allocated while idle). Without it every read or encode gets fresh
// pages from the kernel, which must zero them: on a VM that cost more than decoding, and a
// libuv worker's malloc arena returns freed memory to the kernel eagerly. (Marking pooled pages
// MADV_FREE was measured: the madvise and TLB flushes made every 1 MiB write slower, so no.)
// Views point into data().
class SegmentBytes {
 public:
  SegmentBytes() = default;
  SegmentBytes(const SegmentBytes&) = delete;
  SegmentBytes& operator=(const SegmentBytes&) = delete;
  SegmentBytes(SegmentBytes&& other) noexcept { *this = std::move(other); }
  SegmentBytes& operator=(SegmentBytes&& other) noexcept;
  ~SegmentBytes() { Reset(); }

  // Replaces the contents with `n` uninitialized bytes (throws std::bad_alloc).
  void Allocate(size_t n);
  void Reset();
  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  // Shrinks the logical size (n <= the size passed to Allocate).
  void set_size(size_t n) { size_ = n; }
  // Grows the logical size to n (>= size()) with zero bytes, in place when the capacity allows
  // (pooled buffers are rounded up), else by moving the contents to a larger buffer.
  void ZeroPadTo(size_t n);
  // Gives up ownership of the memory; return it with SegmentBytes::Free(ptr, *capacity).
  uint8_t* Release(size_t* capacity);
  // Takes back memory that Release gave up (size <= capacity), replacing the contents.
  void Adopt(uint8_t* data, size_t size, size_t capacity);
  static void Free(uint8_t* data, size_t capacity);

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

// Decodes a whole segment image with exactly the checks of DecodeSegment (which is built on it),
// leaving the images in place. A padded v2 file (kSegmentFlagPadded) may end with zero padding
// after the certificate; every padding byte is verified to be zero. The views are valid as long as `data` is.
Status DecodeSegmentView(const uint8_t* data, size_t size, SegmentView* out);
// The part of DecodeSegmentView that reads one image from the start of `data`: header, records,
// v2 certificate, with all their checks; *end is where the image ends. Bytes after it are not
// looked at (DecodeSegmentView then requires none, or only zero padding). Views' offsets are
// relative to `data`.
Status DecodeSegmentImage(const uint8_t* data, size_t size, SegmentView* out, size_t* end);
// Copies one view's fields and images into an owning record.
void MaterializeRecord(const uint8_t* data, const RecordView& view, WalRecord* out);

// Reads a segment file: checks the header and bounds the file size (MaxSegmentFileSize, or at
// least kMaxPreparedSegmentBytes for a padded file) before allocating, reads without zero-filling, and reads one byte past the size seen by stat so that
// a file that grew meanwhile shows up as trailing bytes rather than being silently cut.
Status ReadSegmentBytes(FileSystem* fs, const std::string& path, SegmentBytes* out);
// ReadSegmentBytes + DecodeSegmentView.
Status ReadSegmentView(FileSystem* fs, const std::string& path, SegmentBytes* bytes,
                       SegmentView* out);



// One record body exactly as the seed serializes it (no length prefix, no checksum).
void SerializeRecord(const WalRecord& record, std::string* out);
// Parses one record body occupying exactly [data, data+size): rejects truncation, an invalid
// end_seq flag, images over kMaxImageBytes, zero ids and trailing bytes.
Status DeserializeRecord(const uint8_t* data, size_t size, WalRecord* out);

// Validates `batch` (ValidateRecordsForEpoch, counts, lanes) and encodes the whole segment into
// one contiguous buffer, records in replay order: exactly the bytes WriteSegment writes.
// *certificate (may be null) gets the v2 certificate.
Status EncodeSegment(const EpochBatch& batch, const SegmentWriteOptions& options,
                     std::string* out, CommitCertificate* certificate);
class SegmentBytes;
// The same bytes into a recycled, not zero-filled buffer (what WriteSegment uses).
Status EncodeSegment(const EpochBatch& batch, const SegmentWriteOptions& options,
                     SegmentBytes* out, CommitCertificate* certificate);
// The same from borrowed records: their images are copied once, straight into `out`.
Status EncodeSegment(const EpochBatchRef& batch, const SegmentWriteOptions& options,
                     SegmentBytes* out, CommitCertificate* certificate);

// Rewrites the header flags of a v2 segment image exactly as EncodeSegment produced it (no
// padding after it) and recomputes every checksum that depends on them: the header CRC, the
// record chain (which starts from it) and the certificate CRC (*certificate_crc, may be null).
// The result is byte for byte what EncodeSegment would have produced with those flags. Lets a
// writer that finds a prepared file only after encoding mark the segment padded without
// encoding it again from the records (which the binding no longer holds by then).
Status ResealSegmentFlags(uint8_t* data, size_t size, uint16_t flags, uint32_t* certificate_crc);

struct SegmentEntry {
  uint64_t epoch;
  std::string path;
};
// Segments of db_path sorted by epoch; temporaries and foreign names are ignored, and so are
// UNWRITTEN prepared files at the tail: newest files (at least 24 bytes long) whose 24-byte
// header is all zero. Such a file was prepared ahead (zeros, synced) and never published: no
// acknowledged commit can be in it, since publication syncs the header with the records.
Status ListSegments(FileSystem* fs, const std::string& db_path, std::vector<SegmentEntry>* out);
// Every file named like a segment (unwritten prepared files included), sorted by epoch.
Status ListSegmentFiles(FileSystem* fs, const std::string& db_path, std::vector<SegmentEntry>* out);
// The same, also returning the directory listing it was taken from (every name in the segment
// directory), so that a caller can find pool temporaries without listing again.
Status ListSegmentFiles(FileSystem* fs, const std::string& db_path, std::vector<SegmentEntry>* out,
                        std::vector<std::string>* dir_names);
// Whether `path` is an unwritten prepared file (>= 24 bytes, header all zero). NotFound if
// missing.
Status IsUnwrittenSegmentFile(FileSystem* fs, const std::string& path, bool* unwritten);

// ---- Prepared segment files (the fast publication path; docs/durability.md) ----
// Creates `count` pool temporaries (names ListSegments never lists) of exactly `size` zero
// bytes each, written (not fallocated: the blocks are real, so later overwrites need no
// allocation) and synced with `mode`. All or nothing. The directory is NOT synced: it is synced
// after NamePreparedSegment.
Status CreatePreparedTemps(FileSystem* fs, const std::string& db_path, uint64_t size, SyncMode mode,
                           size_t count, std::vector<std::string>* temp_paths);
// A fresh pool temporary name for db_path (nothing is created): a temporary, so readers never
// list it, and RemovePreparedTemps (at the WAL's open) or CleanupSegments removes what a crash
// leaves under it. Checkpoints rename the files they retire to one.
std::string NewPoolTempPath(const std::string& db_path);
// Creates an empty pool temporary (not synced: whoever writes it syncs it) and opens it for
// writing. *path is empty on failure. A crash leaves it to RemovePreparedTemps like the others.
Status CreateEmptyPoolTemp(FileSystem* fs, const std::string& db_path, std::string* path,
                           std::unique_ptr<WritableFile>* file);
// Renames a synced prepared temporary to the final name of `epoch` (never replacing). The name
// is durable after the next SyncDir of the segment directory.
Status NamePreparedSegment(FileSystem* fs, const std::string& temp_path, const std::string& db_path,
                           uint64_t epoch);
// Publishes `batch` into the prepared, durably named, never written file of its epoch whose
// size is `prepared_size`: encodes (padded flag set when it fits), overwrites from offset 0 in
// one write, syncs with kFullData (kFull policy) or kData (normal). The file's size and blocks
// are already durable, so the sync covers the whole segment with no metadata journal commit
// (unless the segment is larger than the file). On failure the file is left as is (the caller
// deletes it and never syncs it again).
Status WritePreparedSegment(FileSystem* fs, const std::string& db_path, const EpochBatch& batch,
                            uint64_t prepared_size, const SegmentWriteOptions& options,
                            SegmentWriteResult* result);
// Most files one PrepareSegmentFiles call makes.
constexpr uint64_t kMaxPrepareSegmentFiles = 4096;
// For the standalone writer: makes prepared files (zeros, written and synced per `policy`) for
// the epochs first_epoch .. first_epoch+count-1 that have no file yet, then syncs the directory,
// so that WriteSegment of those epochs later costs one write and one data sync.
// *prepared: files made. Epochs with a file already are left alone. Validates count
// (1..kMaxPrepareSegmentFiles), size (24..kMaxPreparedSegmentBytes) and the epoch range before
// creating anything. A write is only as durable as the preparation: prepare with the policy you
// write with. Files prepared and never written must be deleted (or followed by a segment whose
// certificate links past them) for recovery to accept what follows them: docs/durability.md.
Status PrepareSegmentFiles(FileSystem* fs, const std::string& db_path, uint64_t first_epoch,
                           uint64_t count, uint64_t size, FsyncPolicy policy, uint64_t* prepared);
// Deletes every pool temporary of db_path (any pid): call it only while holding the WAL lock.
Status RemovePreparedTemps(FileSystem* fs, const std::string& db_path, size_t* removed);
// The same, over `dir_names`, a listing of the segment directory taken while holding the lock
// (no pool temporary can appear after it): no listing of its own.
Status RemovePreparedTemps(FileSystem* fs, const std::string& db_path,
                           const std::vector<std::string>& dir_names, size_t* removed);

// EncodeSegment + PublishSegment: a new file only, never a write into an existing one. The WAL's
// retries use it: after a prepared file's write or sync failed, a file that could not be deleted
// must make the retries fail, never be written (and synced) again.
Status WriteNewSegment(FileSystem* fs, const std::string& db_path, const EpochBatch& batch,
                       const SegmentWriteOptions& options, SegmentWriteResult* result);
// EncodeSegment + WriteSegmentBytes.
Status WriteSegment(FileSystem* fs, const std::string& db_path, const EpochBatch& batch,
                    const SegmentWriteOptions& options, SegmentWriteResult* result);
// Publishes an encoded segment of `epoch` (EncodeSegment's bytes and certificate) under its
// final name: refuses an existing segment, writes a temporary, syncs it per policy, renames it
// without replacing, syncs the directory. Nothing is visible under the final name unless the
// whole call succeeds (or, if only the directory sync failed, the name is withdrawn).
Status PublishSegment(FileSystem* fs, const std::string& db_path, uint64_t epoch,
                      const SegmentBytes& bytes, CommitCertificate certificate,
                      const SegmentWriteOptions& options, SegmentWriteResult* result);

// What WriteSegment does with the encoded bytes: PublishSegment, except that an UNWRITTEN
// prepared file already under the final name (PrepareSegmentFiles) is claimed, under an
// exclusive lock, and written in place: one write and one data sync, no directory sync (its
// name is already durable). `bytes` is then resealed padded when shorter than the file (its
// checksums change; cert.certificate_crc32c follows). A segment or any other file under the
// name is refused (AlreadyExists); of two writers of one epoch, exactly one succeeds. On a
// failed write or sync the file is deleted, never synced again. v2 only; v1 always publishes.
Status WriteSegmentBytes(FileSystem* fs, const std::string& db_path, uint64_t epoch,
                         SegmentBytes* bytes, CommitCertificate cert,
                         const SegmentWriteOptions& options, SegmentWriteResult* result);
Status ReadSegment(FileSystem* fs, const std::string& path, SegmentContents* out);
// Decodes a whole segment image held in memory (the fuzz target's entry point).
Status DecodeSegment(const uint8_t* data, size_t size, SegmentContents* out);

Status DeleteSegment(FileSystem* fs, const std::string& path);

struct RecoveryOptions {
  bool skip_corrupt = false;
  bool delete_after_recovery = false;
  // Deletes a torn tail (see docs/durability.md) and syncs the directory, so a writer that
  // continues after it does not leave damage followed by valid segments. A writer opening the
  // log sets this; read-only inspection does not.
  bool discard_torn_tail = false;
};

struct RecoveryResult {
  uint64_t segments_recovered = 0;
  uint64_t records_applied = 0;
  uint64_t bytes_read = 0;
  std::vector<uint64_t> epochs;
  std::vector<std::string> partial_segments;  // not applied (skip_corrupt, or a torn tail)
  std::vector<CommitCertificate> certificates;
  bool torn_tail = false;          // the last segment was torn by a crash (reported, not fatal)
  uint64_t unwritten_skipped = 0;  // unwritten prepared files skipped before the stop point
  std::string stop_reason;         // why recovery stopped early, empty when it read everything
};

Status RecoverSegments(FileSystem* fs, const std::string& db_path, const RecoveryOptions& options,
                       RecoveryResult* result, std::vector<WalRecord>* records);

// One applied segment of a zero-copy recovery: its bytes and the views into them.
struct RecoveredSegment {
  uint64_t epoch = 0;
  std::string path;
  SegmentBytes bytes;
  SegmentView view;
  // A frame of a log file after its first: `bytes` is empty and the views point into the
  // bytes of the nearest earlier RecoveredSegment that has them (the same file's first frame).
  bool shares_bytes = false;
};

// RecoverSegments without copying images: the same rules, the same result, and the applied
// segments in epoch order (so their records, concatenated, are in replay order: each segment is
// sorted and every record of a segment carries the segment's epoch, checked against the name).
Status RecoverSegmentViews(FileSystem* fs, const std::string& db_path,
                           const RecoveryOptions& options, RecoveryResult* result,
                           std::vector<RecoveredSegment>* segments);

// Largest file a valid segment with `record_count` records can be (readers refuse bigger files
// before reading them).
uint64_t MaxSegmentFileSize(uint32_t record_count);

// Largest epoch with a segment on disk, if any.
Status MaxDurableEpoch(FileSystem* fs, const std::string& db_path, std::optional<uint64_t>* out);
// Deletes every segment (and leftover temporary) of db_path, oldest first, then syncs the
// directory; *count gets the segments deleted (temporaries are not counted). Call it only while
// holding the WAL lock: a temporary may belong to a writer of this process.
Status CleanupSegments(FileSystem* fs, const std::string& db_path, size_t* count);

}  // namespace pwal
