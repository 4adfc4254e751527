#include "errors.h"

#include <string>

namespace pwal {

const char* JsErrorCode(Status::Code code) {
  switch (code) {
    case Status::Code::kOk: return "OK";
    case Status::Code::kInvalidArgument: return "ERR_INVALID_ARG_VALUE";
    case Status::Code::kCorruption: return "WAL_CORRUPTION";
    case Status::Code::kCertificateGap: return "WAL_CORRUPTION";
    case Status::Code::kIoError: return "WAL_IO";
    case Status::Code::kNotFound: return "WAL_IO";
    case Status::Code::kAlreadyExists: return "WAL_IO";
    case Status::Code::kLocked: return "WAL_LOCKED";
    case Status::Code::kTimeout: return "WAL_TIMEOUT";
    case Status::Code::kBackpressure: return "WAL_BACKPRESSURE";
    case Status::Code::kClosed: return "WAL_CLOSED";
  }
  return "WAL_IO";
}

Napi::Error StatusToError(Napi::Env env, const Status& status) {
  std::string message = status.message();
  Napi::Error error = status.code() == Status::Code::kInvalidArgument
                          ? Napi::Error(env, Napi::RangeError::New(env, message).Value())
                          : Napi::Error::New(env, message);
  Napi::Object obj = error.Value();
  obj.Set("code", Napi::String::New(env, JsErrorCode(status.code())));
  obj.Set("walStatus", Napi::String::New(env, StatusCodeName(status.code())));
  if (status.sys_errno() != 0) obj.Set("errno", Napi::Number::New(env, status.sys_errno()));
  if (status.code() == Status::Code::kCertificateGap) {
    obj.Set("reason", Napi::String::New(env, "certificate_gap"));
  }
  return error;
}

void ThrowArgType(Napi::Env env, const char* name, const char* expected) {
  Napi::TypeError error = Napi::TypeError::New(
      env, std::string("The \"") + name + "\" argument must be " + expected);
  error.Value().Set("code", Napi::String::New(env, "ERR_INVALID_ARG_TYPE"));
  error.ThrowAsJavaScriptException();
}

void ThrowArgRange(Napi::Env env, const char* name, const std::string& detail) {
  Napi::RangeError error =
      Napi::RangeError::New(env, std::string("The \"") + name + "\" argument " + detail);
  error.Value().Set("code", Napi::String::New(env, "ERR_OUT_OF_RANGE"));
  error.ThrowAsJavaScriptException();
}

}  // namespace pwal
