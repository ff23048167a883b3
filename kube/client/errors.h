// The one place where what the API server (or the network) says becomes a Status.
//
//   404            NotFound
//   409            Aborted (Conflict: re-read and retry), AlreadyExists on create
//   410            OutOfRange (Expired: the resourceVersion left the watch window; relist)
//   400, 422       InvalidArgument (the object is wrong; the message says which field)
//   401 / 403      Unauthenticated / PermissionDenied
//   429, 5xx       Unavailable (retry the same call)
//   transport      Unavailable; Cancelled when we stopped it ourselves
#pragma once

#include <string_view>

#include "base/status.h"

namespace gotestrun::kube {

// `body` is the response body, normally a metav1.Status whose message and reason are
// kept; a body that is not one is quoted (shortened) instead.
Status StatusFromHttp(int http_status, std::string_view body);

// For a metav1.Status object that arrives inside a watch stream (type ERROR).
Status StatusFromStatusObject(int code, std::string_view reason, std::string_view message);

// Failures below HTTP, by cpp-httplib's error number.
Status StatusFromTransport(int httplib_error, std::string_view what);

}  // namespace gotestrun::kube
