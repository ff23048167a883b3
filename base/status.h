// Errors as values. Every fallible operation in the project returns a Status or a
// StatusOr<T>; exceptions from third-party parsers are caught at the decode boundary
// and turned into one of these. The codes follow the canonical set (Abseil / gRPC)
// because each one tells the caller what to do next:
//   Unavailable        retry the same call (transport error, 429, 5xx)
//   Aborted            retry at a higher level: re-read, recompute, write again (409)
//   FailedPrecondition do not retry until the world changes
//   InvalidArgument    the input is wrong; say what to fix
//   OutOfRange         a position is no longer valid (an expired resourceVersion)
#pragma once

#include <cassert>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace gotestrun {

enum class StatusCode {
  kOk = 0,
  kCancelled,
  kUnknown,
  kInvalidArgument,
  kDeadlineExceeded,
  kNotFound,
  kAlreadyExists,
  kPermissionDenied,
  kResourceExhausted,
  kFailedPrecondition,
  kAborted,
  kOutOfRange,
  kUnimplemented,
  kInternal,
  kUnavailable,
  kDataLoss,
  kUnauthenticated,
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message, std::string reason = {})
      : code_(code), message_(std::move(message)), reason_(std::move(reason)) {}

  static Status Ok() { return {}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // A machine-readable word from the source of the error, when it gave one
  // (for the Kubernetes API: metav1.Status.reason such as "Conflict" or "Expired").
  const std::string& reason() const { return reason_; }

  // Prefixes the message with context, keeping code and reason.
  Status Annotate(std::string_view context) const;
  std::string ToString() const;

  friend bool operator==(const Status&, const Status&) = default;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  std::string reason_;
};

std::ostream& operator<<(std::ostream& os, const Status& status);

inline Status InvalidArgumentError(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status NotFoundError(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status FailedPreconditionError(std::string m) { return {StatusCode::kFailedPrecondition, std::move(m)}; }
inline Status UnavailableError(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status InternalError(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
inline Status DataLossError(std::string m) { return {StatusCode::kDataLoss, std::move(m)}; }
inline Status CancelledError(std::string m) { return {StatusCode::kCancelled, std::move(m)}; }
inline Status ResourceExhaustedError(std::string m) { return {StatusCode::kResourceExhausted, std::move(m)}; }
inline Status OutOfRangeError(std::string m) { return {StatusCode::kOutOfRange, std::move(m)}; }
inline Status DeadlineExceededError(std::string m) { return {StatusCode::kDeadlineExceeded, std::move(m)}; }

template <typename T>
class [[nodiscard]] StatusOr {
 public:
  // Implicit on purpose, so `return value;` and `return status;` both read naturally.
  StatusOr(T value) : v_(std::move(value)) {}        // NOLINT
  StatusOr(Status status) : v_(std::move(status)) {  // NOLINT
    if (std::get<Status>(v_).ok()) v_ = Status(StatusCode::kInternal, "StatusOr built from an OK status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  const T& value() const& { return std::get<T>(v_); }
  T& value() & { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

 private:
  std::variant<Status, T> v_;
};

}  // namespace gotestrun

// Early return on error, the one macro the project allows itself.
#define GTR_RETURN_IF_ERROR(expr)              \
  do {                                         \
    ::gotestrun::Status gtr_status_ = (expr);  \
    if (!gtr_status_.ok()) return gtr_status_; \
  } while (0)
