// GODEBUG=gctrace=1 lines, one per input line, into the heap trajectories.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/diagnosis/gotest/gctrace.h"

using namespace gotestrun::gotest;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  GcTraceReader reader(16);
  while (!bytes.empty()) {
    size_t nl = bytes.find('\n');
    std::string_view line = bytes.substr(0, nl);
    (void)IsGcTraceLine(line);
    (void)ParseGcTraceLine(line);
    reader.AddLine(line, "example.com/p", "TestX");
    bytes.remove_prefix(nl == std::string_view::npos ? bytes.size() : nl + 1);
  }
  for (const HeapTrajectory& t : reader.trajectories()) (void)t.peak_heap_bytes();
  return 0;
}
