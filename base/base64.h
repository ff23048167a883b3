#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace gotestrun {

// Standard base64 (RFC 4648) with optional padding; whitespace is skipped because
// kubeconfigs written by hand wrap long *-data values.
StatusOr<std::string> Base64Decode(std::string_view in);
std::string Base64Encode(std::string_view in);

}  // namespace gotestrun
