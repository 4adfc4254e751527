#include "status.h"

#include <cstring>

namespace pwal {

const char* StatusCodeName(Status::Code code) {
  switch (code) {
    case Status::Code::kOk: return "OK";
    case Status::Code::kInvalidArgument: return "InvalidArgument";
    case Status::Code::kCorruption: return "Corruption";
    case Status::Code::kIoError: return "IoError";
    case Status::Code::kNotFound: return "NotFound";
    case Status::Code::kLocked: return "Locked";
    case Status::Code::kTimeout: return "Timeout";
    case Status::Code::kBackpressure: return "Backpressure";
    case Status::Code::kClosed: return "Closed";
    case Status::Code::kAlreadyExists: return "AlreadyExists";
    case Status::Code::kCertificateGap: return "CertificateGap";
    case Status::Code::kCheckpointConflict: return "CheckpointConflict";
  }
  return "Unknown";
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string s = StatusCodeName(code_);
  s += ": ";
  s += message_;
  if (errno_ != 0) {
    s += " (";
    s += std::strerror(errno_);
    s += ")";
  }
  return s;
}

}  // namespace pwal
