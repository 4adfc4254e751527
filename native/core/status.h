// Status: the result of a core operation. Errors are values, never exceptions;
// the binding maps each Code to one stable JS error code (see native/binding/errors.cc).
#pragma once

#include <string>
#include <utility>

namespace pwal {

class Status {
 public:
  enum class Code {
    kOk = 0,
    kInvalidArgument,  // caller passed something impossible: ERR_INVALID_ARG_VALUE
    kCorruption,       // bytes on disk are not a valid segment: WAL_CORRUPTION
    kIoError,          // the OS refused an I/O call: WAL_IO (errno kept)
    kNotFound,         // a file that should exist does not: WAL_IO with ENOENT
    kLocked,           // another process holds the WAL lock: WAL_LOCKED
    kTimeout,          // a wait ran out: WAL_TIMEOUT
    kBackpressure,     // a slot is full under BlockWriter: WAL_BACKPRESSURE
    kClosed,           // the WAL was closed: WAL_CLOSED
    kAlreadyExists,    // refused to replace an existing segment: WAL_IO with EEXIST
    kCertificateGap,   // the certificate chain skips an epoch: WAL_CORRUPTION
    kCheckpointConflict,  // deleting segments an open WAL's chain needs: WAL_LOCKED
  };

  Status() = default;
  static Status OK() { return Status(); }
  static Status InvalidArgument(std::string m) { return Status(Code::kInvalidArgument, std::move(m)); }
  static Status Corruption(std::string m) { return Status(Code::kCorruption, std::move(m)); }
  static Status IoError(std::string m, int err = 0) { return Status(Code::kIoError, std::move(m), err); }
  static Status NotFound(std::string m, int err = 2) { return Status(Code::kNotFound, std::move(m), err); }
  static Status Locked(std::string m) { return Status(Code::kLocked, std::move(m)); }
  static Status Timeout(std::string m) { return Status(Code::kTimeout, std::move(m)); }
  static Status Backpressure(std::string m) { return Status(Code::kBackpressure, std::move(m)); }
  static Status Closed(std::string m) { return Status(Code::kClosed, std::move(m)); }
  static Status AlreadyExists(std::string m, int err = 17) { return Status(Code::kAlreadyExists, std::move(m), err); }
  // An optional facility this platform or file system lacks (WAL_IO, errno ENOTSUP): callers
  // that have another way fall back to it.
  static Status NotSupported(std::string m) { return Status(Code::kIoError, std::move(m), kENotSup); }
  static Status CertificateGap(std::string m) { return Status(Code::kCertificateGap, std::move(m)); }
  static Status CheckpointConflict(std::string m) { return Status(Code::kCheckpointConflict, std::move(m)); }

  bool ok() const { return code_ == Code::kOk; }
  bool IsNotSupported() const { return code_ == Code::kIoError && errno_ == kENotSup; }
  Code code() const { return code_; }
  int sys_errno() const { return errno_; }
  const std::string& message() const { return message_; }
  std::string ToString() const;

  // Prefixes the message with context ("writing segment X: ...") keeping code and errno.
  Status WithContext(const std::string& context) const {
    if (ok()) return *this;
    return Status(code_, context + ": " + message_, errno_);
  }

 private:
  static constexpr int kENotSup = 95;  // Linux ENOTSUP/EOPNOTSUPP
  Status(Code c, std::string m, int err = 0) : code_(c), errno_(err), message_(std::move(m)) {}
  Code code_ = Code::kOk;
  int errno_ = 0;
  std::string message_;
};

const char* StatusCodeName(Status::Code code);

#define PWAL_RETURN_IF_ERROR(expr)      \
  do {                                  \
    ::pwal::Status _st = (expr);        \
    if (!_st.ok()) return _st;          \
  } while (0)

}  // namespace pwal
