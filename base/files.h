#pragma once

#include <cstddef>
#include <string>

#include "base/status.h"

namespace gotestrun {

// Reads a whole file, refusing one larger than `max_bytes` (inputs from outside are
// bounded so a wrong path to a huge file cannot exhaust memory).
StatusOr<std::string> ReadFile(const std::string& path, size_t max_bytes = 16 << 20);

// Writes through a temporary file and a rename, so readers see the old or the new
// content, never half of one.
Status WriteFileAtomic(const std::string& path, std::string_view content, int mode = 0644);

}  // namespace gotestrun
