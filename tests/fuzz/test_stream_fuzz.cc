// go test's output (-json events or plain text) as the agent reads it, in chunks of
// any size, with the GC trace reader listening to its output lines.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/diagnosis/gotest/gctrace.h"
#include "core/diagnosis/gotest/test_stream_reader.h"

using namespace gotestrun::gotest;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  // The first byte picks the chunk size, so that lines split across reads are covered.
  size_t chunk = 1;
  if (!bytes.empty()) {
    chunk = 1 + static_cast<unsigned char>(bytes[0]);
    bytes.remove_prefix(1);
  }
  GcTraceReader gc(64);
  TestStreamReader reader({}, [&gc](const OutputLine& line) { gc.Add(line); });
  for (size_t i = 0; i < bytes.size(); i += chunk) reader.Feed(bytes.substr(i, chunk));
  reader.Finish();
  (void)reader.summary();
  for (const HeapTrajectory& t : gc.trajectories()) (void)t.peak_heap_bytes();
  return 0;
}
