// Segment byte layouts, v1 (the seed's) and v2 (every byte checksummed, certificate trailer).
// docs/format.md is the specification; this file must match it byte for byte.
//
// Decoding never trusts a size read from the input: every count and length is checked against
// the bytes that remain before anything is allocated or read, so any input (the fuzzer's
// included) yields either a segment or a Corruption status.
#include <algorithm>
#include <cstdio>
#include <cstring>

#include "crc32c.h"
#include "segment.h"

namespace pwal {
namespace {

// Seed constants: the smallest record body (no end_seq, empty images) and the largest.
constexpr size_t kRecordMinSize = kSegmentRecordMinSize;
constexpr size_t kRecordMaxSize = kSegmentRecordMaxSize;
constexpr size_t kV1RecordOverhead = 4;      // u32 length
constexpr size_t kV2RecordOverhead = 4 + 4;  // u32 length + u32 crc
constexpr uint32_t kCertificateMagic = 0x54524543u;  // "CERT" little-endian
constexpr size_t kCertificateFixedSize = 4 + 4 + 8 + 8 + 8 + 8 + 4 + 4 + 4;  // 52, before lanes
constexpr uint32_t kCertFlagHasPrev = 1u << 0;
constexpr uint32_t kCertFlagFallback = 1u << 1;

inline void Put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
}
inline void Put32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline void Put64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline uint16_t Get16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
inline uint32_t Get32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}
inline uint64_t Get64(const uint8_t* p) {
  return static_cast<uint64_t>(Get32(p)) | (static_cast<uint64_t>(Get32(p + 4)) << 32);
}

std::string Hex(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%#x", v);
  return buf;
}

template <typename Record>
size_t RecordBodySize(const Record& r) {
  return kRecordMinSize + (r.has_end_seq ? 8 : 0) + Span(r.before_image).size +
         Span(r.after_image).size;
}

// Writes a record body at p (which has RecordBodySize(r) bytes); returns the end.
template <typename Record>
uint8_t* WriteRecordBody(const Record& r, uint8_t* p) {
  Put64(p, r.txn_id);
  Put32(p + 8, r.txn_epoch);
  Put64(p + 12, r.epoch);
  Put32(p + 20, r.page_id);
  Put64(p + 24, r.begin_seq);
  p += 32;
  *p++ = r.has_end_seq ? 1 : 0;
  if (r.has_end_seq) {
    Put64(p, r.end_seq);
    p += 8;
  }
  for (const ImageSpan image : {Span(r.before_image), Span(r.after_image)}) {
    Put32(p, static_cast<uint32_t>(image.size));
    p += 4;
    if (!image.empty()) std::memcpy(p, image.data, image.size);
    p += image.size;
  }
  return p;
}

// Commit-seq range as the certificate records it: lowest begin_seq, highest end_seq (begin_seq
// for a record without one). Both 0 for an empty segment. `at(i)` yields the i-th record.
template <typename At>
void CommitSeqRange(size_t n, At at, uint64_t* lo, uint64_t* hi) {
  *lo = 0;
  *hi = 0;
  for (size_t i = 0; i < n; ++i) {
    const auto& r = at(i);
    const uint64_t end = r.has_end_seq ? r.end_seq : r.begin_seq;
    if (i == 0 || r.begin_seq < *lo) *lo = r.begin_seq;
    if (i == 0 || end > *hi) *hi = end;
  }
}

template <typename At>
uint32_t DistinctPages(size_t n, At at) {
  std::vector<uint32_t> ids;
  ids.reserve(n);
  for (size_t i = 0; i < n; ++i) ids.push_back(at(i).page_id);
  if (!std::is_sorted(ids.begin(), ids.end())) std::sort(ids.begin(), ids.end());
  return static_cast<uint32_t>(std::unique(ids.begin(), ids.end()) - ids.begin());
}

size_t CertificateSize(size_t lanes) { return kCertificateFixedSize + 4 * lanes + 4; }

// A bounds-checked reader over one record body, naming the field that ran out.
class BodyReader {
 public:
  BodyReader(const uint8_t* p, size_t n) : p_(p), n_(n) {}
  bool Take(size_t k, const uint8_t** out) {
    if (n_ - pos_ < k) return false;
    *out = p_ + pos_;
    pos_ += k;
    return true;
  }
  size_t remaining() const { return n_ - pos_; }

 private:
  const uint8_t* p_;
  size_t n_;
  size_t pos_ = 0;
};

Status ImageLenError(const char* field, size_t len) {
  return Status::Corruption(std::string(field) + " length " + std::to_string(len) +
                            " exceeds maximum " + std::to_string(kMaxImageBytes));
}

std::string RecordWhere(size_t i) { return "record " + std::to_string(i); }

}  // namespace

uint64_t MaxSegmentFileSize(uint32_t record_count) {
  // The larger of the two formats: v2 records carry a CRC and v2 ends with a certificate.
  return kSegmentHeaderSize + static_cast<uint64_t>(record_count) * (kV2RecordOverhead + kRecordMaxSize) +
         CertificateSize(kMaxCertificateLanes);
}

void EncodeSegmentHeader(const SegmentHeader& header, uint8_t out[kSegmentHeaderSize]) {
  std::memset(out, 0, kSegmentHeaderSize);
  Put32(out, kSegmentMagic);
  Put16(out + 4, header.version);
  if (header.version == kSegmentFormatV2) Put16(out + 6, header.flags);
  Put64(out + 8, header.epoch);
  Put32(out + 16, header.record_count);
  Put32(out + 20, crc32c::Value(out, 20));
}

Status DecodeSegmentHeader(const uint8_t* data, size_t size, SegmentHeader* out) {
  if (size < kSegmentHeaderSize) {
    return Status::Corruption("segment truncated: " + std::to_string(size) +
                              " bytes, the header needs " + std::to_string(kSegmentHeaderSize));
  }
  const uint32_t magic = Get32(data);
  if (magic != kSegmentMagic) return Status::Corruption("invalid segment magic: " + Hex(magic));
  const uint16_t version = Get16(data + 4);
  if (version != kSegmentFormatV1 && version != kSegmentFormatV2) {
    return Status::Corruption("unsupported segment version: " + std::to_string(version));
  }
  const uint32_t stored = Get32(data + 20);
  const uint32_t computed = crc32c::Value(data, 20);
  if (stored != computed) {
    return Status::Corruption("segment header checksum mismatch: stored=" + Hex(stored) +
                              ", computed=" + Hex(computed));
  }
  // Bytes 6..7 are covered by the CRC; v2 also requires them zero (reserved for flags).
  // Flag bits 0 (padded) and 1 (frame) are defined, never both; every other bit is reserved.
  const uint16_t flags = version == kSegmentFormatV2 ? Get16(data + 6) : 0;
  if ((flags & ~(kSegmentFlagPadded | kSegmentFlagFrame)) != 0) {
    return Status::Corruption("segment header reserved bytes are not zero");
  }
  if (flags == (kSegmentFlagPadded | kSegmentFlagFrame)) {
    return Status::Corruption("segment header says both padded and frame");
  }
  out->flags = flags;
  out->version = version;
  out->epoch = Get64(data + 8);
  out->record_count = Get32(data + 16);
  return Status::OK();
}

void SerializeRecord(const WalRecord& record, std::string* out) {
  out->resize(RecordBodySize(record));
  WriteRecordBody(record, reinterpret_cast<uint8_t*>(&(*out)[0]));
}

namespace {

// Parses one record body occupying exactly [data, data+size), which starts at `base` in the
// buffer the view's offsets refer to. All of DeserializeRecord's checks; copies nothing.
Status ParseRecordView(const uint8_t* data, size_t size, uint64_t base, RecordView* out) {
  if (size < kRecordMinSize) return Status::Corruption("record too short");
  BodyReader in(data, size);
  const uint8_t* p = data;
  in.Take(32, &p);  // fixed part, length checked above
  out->txn_id = Get64(p);
  out->txn_epoch = Get32(p + 8);
  out->epoch = Get64(p + 12);
  out->page_id = Get32(p + 20);
  out->begin_seq = Get64(p + 24);
  in.Take(1, &p);
  const uint8_t flag = *p;
  if (flag == 1) {
    if (!in.Take(8, &p)) return Status::Corruption("end_seq truncated");
    out->has_end_seq = true;
    out->end_seq = Get64(p);
  } else if (flag == 0) {
    out->has_end_seq = false;
    out->end_seq = 0;
  } else {
    return Status::Corruption("invalid end_seq flag: " + std::to_string(flag));
  }
  // before_image
  if (!in.Take(4, &p)) return Status::Corruption("before_image length truncated");
  size_t len = Get32(p);
  if (len > kMaxImageBytes) return ImageLenError("before_image", len);
  if (!in.Take(len, &p)) return Status::Corruption("before_image truncated");
  out->before_offset = base + static_cast<uint64_t>(p - data);
  out->before_len = static_cast<uint32_t>(len);
  // after_image
  if (!in.Take(4, &p)) return Status::Corruption("after_image length truncated");
  len = Get32(p);
  if (len > kMaxImageBytes) return ImageLenError("after_image", len);
  if (!in.Take(len, &p)) return Status::Corruption("after_image truncated");
  out->after_offset = base + static_cast<uint64_t>(p - data);
  out->after_len = static_cast<uint32_t>(len);
  if (in.remaining() != 0) {
    return Status::Corruption("trailing bytes after WAL record: " + std::to_string(in.remaining()));
  }
  if (out->txn_id == 0) return Status::Corruption("invalid txn_id (zero)");
  if (out->page_id == 0) return Status::Corruption("invalid page_id (zero)");
  return Status::OK();
}

}  // namespace

void MaterializeRecord(const uint8_t* data, const RecordView& v, WalRecord* out) {
  out->txn_id = v.txn_id;
  out->txn_epoch = v.txn_epoch;
  out->epoch = v.epoch;
  out->page_id = v.page_id;
  out->begin_seq = v.begin_seq;
  out->has_end_seq = v.has_end_seq;
  out->end_seq = v.end_seq;
  out->before_image.assign(data + v.before_offset, data + v.before_offset + v.before_len);
  out->after_image.assign(data + v.after_offset, data + v.after_offset + v.after_len);
}

Status DeserializeRecord(const uint8_t* data, size_t size, WalRecord* out) {
  RecordView view;
  PWAL_RETURN_IF_ERROR(ParseRecordView(data, size, 0, &view));
  MaterializeRecord(data, view, out);
  return Status::OK();
}

namespace {

// The encoder, writing into the buffer alloc(total) returns (uninitialized memory is fine:
// every byte is written).
template <typename Record, typename Alloc>
Status EncodeSegmentImpl(const BasicEpochBatch<Record>& batch, const SegmentWriteOptions& options, Alloc alloc,
                         CommitCertificate* certificate) {
  const uint16_t version = options.format_version;
  if (version != kSegmentFormatV1 && version != kSegmentFormatV2) {
    return Status::InvalidArgument("unsupported segment format version " +
                                   std::to_string(version));
  }
  PWAL_RETURN_IF_ERROR(ValidateRecordsForEpoch(batch.epoch, batch.records));
  if (batch.records.size() > UINT32_MAX) {
    return Status::InvalidArgument("segment record count " + std::to_string(batch.records.size()) +
                                   " exceeds u32 header field");
  }
  if (version == kSegmentFormatV2 && batch.records_per_core.size() > kMaxCertificateLanes) {
    return Status::InvalidArgument("records_per_core has " +
                                   std::to_string(batch.records_per_core.size()) +
                                   " lanes, more than the maximum " +
                                   std::to_string(kMaxCertificateLanes));
  }

  if (version == kSegmentFormatV2 && options.has_prev && options.prev_durable_epoch >= batch.epoch) {
    return Status::InvalidArgument("certificate link to epoch " +
                                   std::to_string(options.prev_durable_epoch) +
                                   " is not before the segment epoch " + std::to_string(batch.epoch));
  }

  // Replay order without copying images: sort pointers (stable: equal keys keep their order).
  std::vector<const Record*> ordered;
  ordered.reserve(batch.records.size());
  for (const Record& r : batch.records) ordered.push_back(&r);
  // Already in order (every caller that builds its batch in replay order): no sort.
  const auto less = [](const Record* a, const Record* b) { return ReplayLess(*a, *b); };
  if (!std::is_sorted(ordered.begin(), ordered.end(), less)) {
    std::stable_sort(ordered.begin(), ordered.end(), less);
  }

  const size_t per_record = version == kSegmentFormatV1 ? kV1RecordOverhead : kV2RecordOverhead;
  size_t total = kSegmentHeaderSize;
  for (const Record* r : ordered) total += per_record + RecordBodySize(*r);
  const size_t lanes = batch.records_per_core.size();
  if (version == kSegmentFormatV2) total += CertificateSize(lanes);

  uint8_t* const base = alloc(total);
  SegmentHeader header;
  header.version = version;
  header.epoch = batch.epoch;
  header.record_count = static_cast<uint32_t>(ordered.size());
  header.flags = version != kSegmentFormatV2 ? 0
                 : options.frame              ? kSegmentFlagFrame
                 : options.padded             ? kSegmentFlagPadded
                                              : 0;
  EncodeSegmentHeader(header, base);
  uint8_t* p = base + kSegmentHeaderSize;

  if (version == kSegmentFormatV1) {
    for (const Record* r : ordered) {
      Put32(p, static_cast<uint32_t>(RecordBodySize(*r)));
      p = WriteRecordBody(*r, p + 4);
    }
    if (certificate != nullptr) *certificate = CommitCertificate{};
    return Status::OK();
  }

  // v2: a running CRC32C over every byte except the stored checksums themselves; each record
  // stores the running value after its body, so the first mismatch names the damaged record and
  // reordering or dropping records is detected too.
  uint32_t running = crc32c::Value(base, kSegmentHeaderSize);
  for (const Record* r : ordered) {
    uint8_t* const start = p;
    Put32(p, static_cast<uint32_t>(RecordBodySize(*r)));
    p = WriteRecordBody(*r, p + 4);
    running = crc32c::Extend(running, start, static_cast<size_t>(p - start));
    Put32(p, running);
    p += 4;
  }

  CommitCertificate cert;
  cert.format_version = kSegmentFormatV2;
  cert.certificate_epoch = batch.epoch;
  const auto ordered_at = [&ordered](size_t i) -> const Record& { return *ordered[i]; };
  CommitSeqRange(ordered.size(), ordered_at, &cert.commit_seq_lo, &cert.commit_seq_hi);
  cert.has_prev = options.has_prev;
  cert.prev_durable_epoch = options.has_prev ? options.prev_durable_epoch : 0;
  cert.lane_record_counts = batch.records_per_core;
  cert.db_size_pages = batch.db_size_pages;
  cert.page_set_size = DistinctPages(ordered.size(), ordered_at);
  cert.fallback_active = options.fallback_active;

  uint8_t* const cert_start = p;
  Put32(p, kCertificateMagic);
  Put32(p + 4, (cert.has_prev ? kCertFlagHasPrev : 0) | (cert.fallback_active ? kCertFlagFallback : 0));
  Put64(p + 8, cert.certificate_epoch);
  Put64(p + 16, cert.commit_seq_lo);
  Put64(p + 24, cert.commit_seq_hi);
  Put64(p + 32, cert.prev_durable_epoch);
  Put32(p + 40, cert.db_size_pages);
  Put32(p + 44, cert.page_set_size);
  Put32(p + 48, static_cast<uint32_t>(lanes));
  p += kCertificateFixedSize;
  for (uint32_t c : cert.lane_record_counts) {
    Put32(p, c);
    p += 4;
  }
  running = crc32c::Extend(running, cert_start, static_cast<size_t>(p - cert_start));
  cert.certificate_crc32c = running;
  Put32(p, running);
  if (certificate != nullptr) *certificate = std::move(cert);
  return Status::OK();
}

}  // namespace

Status ResealSegmentFlags(uint8_t* data, size_t size, uint16_t flags, uint32_t* certificate_crc) {
  SegmentHeader header;
  PWAL_RETURN_IF_ERROR(DecodeSegmentHeader(data, size, &header));
  if (header.version != kSegmentFormatV2) {
    return Status::InvalidArgument("only a v2 segment has header flags");
  }
  header.flags = flags;
  EncodeSegmentHeader(header, data);
  // The record chain starts from the header's CRC, so every stored value after it changes.
  // Walk the records by their length fields, bounds-checked although the bytes are our own.
  uint32_t running = crc32c::Value(data, kSegmentHeaderSize);
  size_t off = kSegmentHeaderSize;
  for (uint32_t i = 0; i < header.record_count; ++i) {
    if (size - off < kV2RecordOverhead) return Status::Corruption("reseal: truncated record");
    const size_t body = Get32(data + off);
    if (body > size - off - kV2RecordOverhead) return Status::Corruption("reseal: truncated record");
    running = crc32c::Extend(running, data + off, 4 + body);
    Put32(data + off + 4 + body, running);
    off += kV2RecordOverhead + body;
  }
  if (size - off < CertificateSize(0)) return Status::Corruption("reseal: truncated certificate");
  const size_t lanes = Get32(data + off + 48);
  if (lanes > kMaxCertificateLanes || size - off != CertificateSize(lanes)) {
    return Status::Corruption("reseal: bad certificate size");
  }
  running = crc32c::Extend(running, data + off, kCertificateFixedSize + 4 * lanes);
  Put32(data + off + kCertificateFixedSize + 4 * lanes, running);
  if (certificate_crc != nullptr) *certificate_crc = running;
  return Status::OK();
}

Status EncodeSegment(const EpochBatch& batch, const SegmentWriteOptions& options,
                     std::string* out, CommitCertificate* certificate) {
  return EncodeSegmentImpl(
      batch, options,
      [out](size_t n) {
        out->resize(n);
        return reinterpret_cast<uint8_t*>(&(*out)[0]);
      },
      certificate);
}

namespace {
// EncodeSegmentImpl's allocator for a SegmentBytes.
auto AllocateIn(SegmentBytes* out) {
  return [out](size_t n) {
    out->Allocate(n);
    return out->data();
  };
}
}  // namespace

Status EncodeSegment(const EpochBatch& batch, const SegmentWriteOptions& options,
                     SegmentBytes* out, CommitCertificate* certificate) {
  return EncodeSegmentImpl(batch, options, AllocateIn(out), certificate);
}

Status EncodeSegment(const EpochBatchRef& batch, const SegmentWriteOptions& options,
                     SegmentBytes* out, CommitCertificate* certificate) {
  return EncodeSegmentImpl(batch, options, AllocateIn(out), certificate);
}

Status DecodeSegmentImage(const uint8_t* data, size_t size, SegmentView* out, size_t* end) {
  out->records.clear();
  out->certificate.reset();
  PWAL_RETURN_IF_ERROR(DecodeSegmentHeader(data, size, &out->header));
  const SegmentHeader& header = out->header;
  const bool v2 = header.version == kSegmentFormatV2;

  // Bound the declared count by what the file could hold before reserving anything.
  const size_t body = size - kSegmentHeaderSize;
  const size_t trailer_min = v2 ? CertificateSize(0) : 0;
  const size_t min_on_disk = (v2 ? kV2RecordOverhead : kV1RecordOverhead) + kRecordMinSize;
  const uint64_t max_possible = body < trailer_min ? 0 : (body - trailer_min) / min_on_disk;
  if (header.record_count > max_possible) {
    return Status::Corruption("segment record count " + std::to_string(header.record_count) +
                              " exceeds maximum possible " + std::to_string(max_possible) +
                              " for file length " + std::to_string(size));
  }
  out->records.resize(header.record_count);  // bounded by the input size just above

  size_t pos = kSegmentHeaderSize;
  uint32_t running = v2 ? crc32c::Value(data, kSegmentHeaderSize) : 0;
  for (uint32_t i = 0; i < header.record_count; ++i) {
    // Messages are built only on failure: the "record <i>" prefix costs an allocation.
    if (size - pos < 4) return Status::Corruption(RecordWhere(i) + ": length prefix truncated");
    const size_t len = Get32(data + pos);
    if (len > kRecordMaxSize) {
      return Status::Corruption(RecordWhere(i) + ": segment record length " + std::to_string(len) +
                                " exceeds maximum " + std::to_string(kRecordMaxSize));
    }
    const size_t need = len + (v2 ? 4 : 0);
    if (size - pos - 4 < need) {
      return Status::Corruption(RecordWhere(i) + ": truncated (needs " + std::to_string(need) +
                                " bytes after the length prefix, " +
                                std::to_string(size - pos - 4) + " remain)");
    }
    const uint8_t* body_ptr = data + pos + 4;
    if (v2) {
      // Verify before parsing: a record whose checksum holds was written by a writer.
      running = crc32c::Extend(running, data + pos, 4 + len);
      const uint32_t stored = Get32(body_ptr + len);
      if (stored != running) {
        return Status::Corruption(RecordWhere(i) + ": record checksum mismatch: stored=" + Hex(stored) +
                                  ", computed=" + Hex(running));
      }
    }
    RecordView& rec = out->records[i];
    Status st = ParseRecordView(body_ptr, len, pos + 4, &rec);
    if (!st.ok()) return Status::Corruption(RecordWhere(i) + ": " + st.message());
    if (rec.epoch != header.epoch) {
      return Status::Corruption("segment epoch " + std::to_string(header.epoch) +
                                " contains record from epoch " + std::to_string(rec.epoch) + " (" +
                                RecordWhere(i) + ")");
    }
    // The v2 writer always writes replay order; anything else was not written by it.
    if (v2 && i > 0 && ReplayLessView(rec, out->records[i - 1])) {
      return Status::Corruption(RecordWhere(i) + ": record out of replay order");
    }
    pos += 4 + need;
  }

  if (v2) {
    const size_t left = size - pos;
    if (left < kCertificateFixedSize + 4) {
      return Status::Corruption("certificate truncated: " + std::to_string(left) + " bytes left");
    }
    const uint8_t* c = data + pos;
    if (Get32(c) != kCertificateMagic) {
      return Status::Corruption("invalid certificate magic: " + Hex(Get32(c)));
    }
    const uint32_t lanes = Get32(c + 48);
    const size_t max_lanes = (left - kCertificateFixedSize - 4) / 4;
    if (lanes > kMaxCertificateLanes || lanes > max_lanes) {
      return Status::Corruption("certificate lane count " + std::to_string(lanes) +
                                " exceeds maximum possible " +
                                std::to_string(std::min(max_lanes, kMaxCertificateLanes)));
    }
    const size_t cert_body = kCertificateFixedSize + 4 * static_cast<size_t>(lanes);
    running = crc32c::Extend(running, c, cert_body);
    const uint32_t stored = Get32(c + cert_body);
    if (stored != running) {
      return Status::Corruption("certificate checksum mismatch: stored=" + Hex(stored) +
                                ", computed=" + Hex(running));
    }
    pos += cert_body + 4;
    const uint32_t flags = Get32(c + 4);
    if ((flags & ~(kCertFlagHasPrev | kCertFlagFallback)) != 0) {
      return Status::Corruption("certificate has unknown flags " + Hex(flags));
    }
    CommitCertificate cert;
    cert.format_version = kSegmentFormatV2;
    cert.has_prev = (flags & kCertFlagHasPrev) != 0;
    cert.fallback_active = (flags & kCertFlagFallback) != 0;
    cert.certificate_epoch = Get64(c + 8);
    cert.commit_seq_lo = Get64(c + 16);
    cert.commit_seq_hi = Get64(c + 24);
    cert.prev_durable_epoch = Get64(c + 32);
    cert.db_size_pages = Get32(c + 40);
    cert.page_set_size = Get32(c + 44);
    cert.lane_record_counts.resize(lanes);
    for (uint32_t k = 0; k < lanes; ++k) cert.lane_record_counts[k] = Get32(c + 52 + 4 * k);
    cert.certificate_crc32c = stored;

    // The certificate must describe this segment (a writer bug otherwise; the CRC holds).
    const std::vector<RecordView>& recs = out->records;
    const auto at = [&recs](size_t k) -> const RecordView& { return recs[k]; };
    uint64_t lo, hi;
    CommitSeqRange(recs.size(), at, &lo, &hi);
    if (cert.certificate_epoch != header.epoch) {
      return Status::Corruption("certificate epoch " + std::to_string(cert.certificate_epoch) +
                                " does not match segment epoch " + std::to_string(header.epoch));
    }
    if (cert.commit_seq_lo != lo || cert.commit_seq_hi != hi) {
      return Status::Corruption("certificate commit-seq range does not match the records");
    }
    if (cert.page_set_size != DistinctPages(recs.size(), at)) {
      return Status::Corruption("certificate page-set size does not match the records");
    }
    if (cert.has_prev && cert.prev_durable_epoch >= header.epoch) {
      return Status::Corruption("certificate links to epoch " +
                                std::to_string(cert.prev_durable_epoch) +
                                ", not before its own epoch " + std::to_string(header.epoch));
    }
    out->certificate = std::move(cert);
  }
  // v1 has no order guarantee: sort (stable: equal keys keep file order) unless already sorted.
  if (!std::is_sorted(out->records.begin(), out->records.end(), ReplayLessView)) {
    std::stable_sort(out->records.begin(), out->records.end(), ReplayLessView);
  }
  *end = pos;
  return Status::OK();
}

Status DecodeSegmentView(const uint8_t* data, size_t size, SegmentView* out) {
  size_t pos = 0;
  PWAL_RETURN_IF_ERROR(DecodeSegmentImage(data, size, out, &pos));
  if (pos == size) return Status::OK();
  if (out->header.version != kSegmentFormatV2) {
    return Status::Corruption("segment has " + std::to_string(size - pos) +
                              " trailing bytes after declared records");
  }
  // A frame alone is read like a prepared file: what follows it must be zeros. (A log file
  // holds more frames after it: read it with DecodeLogFile.)
  if ((out->header.flags & (kSegmentFlagPadded | kSegmentFlagFrame)) == 0) {
    return Status::Corruption("segment has " + std::to_string(size - pos) +
                              " trailing bytes after the certificate");
  }
  // A prepared file: the rest is padding, and every byte of it must still be zero.
  for (size_t k = pos; k < size; ++k) {
    if (data[k] != 0) {
      return Status::Corruption("segment padding byte at offset " + std::to_string(k) +
                                " is not zero (" + std::to_string(size - pos) +
                                " padding bytes after the certificate)");
    }
  }
  return Status::OK();
}

Status DecodeSegment(const uint8_t* data, size_t size, SegmentContents* out) {
  out->records.clear();
  out->certificate.reset();
  SegmentView view;
  PWAL_RETURN_IF_ERROR(DecodeSegmentView(data, size, &view));
  out->header = view.header;
  out->certificate = std::move(view.certificate);
  out->records.resize(view.records.size());
  for (size_t i = 0; i < view.records.size(); ++i) {
    MaterializeRecord(data, view.records[i], &out->records[i]);
  }
  return Status::OK();
}

}  // namespace pwal
