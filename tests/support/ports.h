// Free ports for the servers tests start on loopback.
#pragma once

#include "base/status.h"

namespace gotestrun::testing {

// Asks the kernel for a free loopback port. Another process may take it before the
// server binds it; the caller's readiness wait then fails and names the server.
StatusOr<int> FreeLoopbackPort();

}  // namespace gotestrun::testing
