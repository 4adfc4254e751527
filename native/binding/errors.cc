#include "errors.h"

#include <string>

namespace pwal {

const char* JsErrorCode(Status::Code code) {
  switch (code) {
    case Status::Code::kOk: return "OK";
    case Status::Code::kInvalidArgument: return "ERR_INVALID_ARG_VALUE";
    case Status::Code::kCorruption: return "WAL_CORRUPTION";
    case Status::Code::kCertificateGap: return "WAL_CORRUPTION";
    case Status::Code::kCheckpointConflict: return "WAL_LOCKED";
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
  } else if (status.code() == Status::Code::kCheckpointConflict) {
    obj.Set("reason", Napi::String::New(env, "checkpoint_conflict"));
  } else if (status.code() == Status::Code::kCorruption &&
             message.find("certificate checksum mismatch") != std::string::npos) {
    // segment_codec.cc's message for a v2 certificate whose CRC32C does not match.
    obj.Set("reason", Napi::String::New(env, "certificate_checksum_mismatch"));
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

namespace {

void SetCodedError(napi_env env, bool range, const std::string& message, const char* code) {
  napi_value msg, err, code_value;
  napi_create_string_utf8(env, message.data(), message.size(), &msg);
  if (range) {
    napi_create_range_error(env, nullptr, msg, &err);
  } else {
    napi_create_type_error(env, nullptr, msg, &err);
  }
  napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &code_value);
  napi_set_named_property(env, err, "code", code_value);
  napi_throw(env, err);
}

}  // namespace

void SetArgTypeError(napi_env env, const std::string& path, const char* expected,
                     const char* received) {
  SetCodedError(env, false,
                "The \"" + path + "\" argument must be " + expected + ". Received " + received,
                "ERR_INVALID_ARG_TYPE");
}

void SetArgRangeError(napi_env env, const std::string& path, const std::string& expected,
                      const std::string& received) {
  SetCodedError(env, true,
                "The value of \"" + path + "\" is out of range. It must be " + expected +
                    ". Received " + received,
                "ERR_OUT_OF_RANGE");
}

void SetStatusError(napi_env env, const Status& status) {
  // StatusToError uses C++ wrappers; failures there surface as a pending exception anyway.
  Napi::Env e(env);
  Napi::Error error = StatusToError(e, status);
  napi_throw(env, error.Value());
}

}  // namespace pwal
