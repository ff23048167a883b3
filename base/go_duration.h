// Go's duration syntax (time.ParseDuration), as go test's -timeout and the spec's
// durations are written.
#pragma once

#include <chrono>
#include <string_view>

#include "base/status.h"

namespace gotestrun {

// "300ms", "1.5s", "2h45m": decimal numbers with units ns, us (or µs), ms, s, m, h;
// "0" alone. InvalidArgument for anything else, negative durations and durations past
// what 64 bits of nanoseconds hold.
StatusOr<std::chrono::nanoseconds> ParseGoDuration(std::string_view text);

}  // namespace gotestrun
