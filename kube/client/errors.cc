#include "kube/client/errors.h"

#include <httplib.h>

#include <nlohmann/json.hpp>

namespace gotestrun::kube {

Status StatusFromStatusObject(int code, std::string_view reason, std::string_view message) {
  std::string msg(message);
  std::string why(reason);
  if (msg.empty()) msg = "HTTP " + std::to_string(code);
  StatusCode c = StatusCode::kUnknown;
  switch (code) {
    case 400:
    case 422: c = StatusCode::kInvalidArgument; break;
    case 401: c = StatusCode::kUnauthenticated; break;
    case 403: c = StatusCode::kPermissionDenied; break;
    case 404: c = StatusCode::kNotFound; break;
    case 405: c = StatusCode::kUnimplemented; break;
    case 409: c = why == "AlreadyExists" ? StatusCode::kAlreadyExists : StatusCode::kAborted; break;
    case 410: c = StatusCode::kOutOfRange; break;
    case 413: c = StatusCode::kResourceExhausted; break;
    case 429: c = StatusCode::kUnavailable; break;
    default:
      if (code >= 500 && code <= 599) c = StatusCode::kUnavailable;
      else if (code >= 400 && code <= 499) c = StatusCode::kFailedPrecondition;
  }
  if (why.empty() && code == 410) why = "Expired";
  if (why.empty() && code == 409) why = "Conflict";
  return Status(c, msg, why);
}

Status StatusFromHttp(int http_status, std::string_view body) {
  std::string reason, message;
  nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_object() && j.contains("kind") && j["kind"] == "Status") {
    if (j["reason"].is_string()) reason = j["reason"].get<std::string>();
    if (j["message"].is_string()) message = j["message"].get<std::string>();
  } else if (!body.empty()) {
    constexpr size_t kQuote = 200;
    message = "HTTP " + std::to_string(http_status) + ": " + std::string(body.substr(0, kQuote));
    if (body.size() > kQuote) message += "...";
  }
  return StatusFromStatusObject(http_status, reason, message);
}

Status StatusFromTransport(int httplib_error, std::string_view what) {
  auto err = static_cast<httplib::Error>(httplib_error);
  std::string msg = std::string(what) + ": " + httplib::to_string(err);
  switch (err) {
    case httplib::Error::Canceled: return CancelledError(msg);
    case httplib::Error::SSLServerVerification:
      // Retrying cannot fix a certificate that does not verify: the config is wrong.
      return FailedPreconditionError(msg + " (the server's certificate is not trusted by the configured CA)");
    case httplib::Error::SSLLoadingCerts: return FailedPreconditionError(msg);
    default: return UnavailableError(msg);
  }
}

}  // namespace gotestrun::kube
