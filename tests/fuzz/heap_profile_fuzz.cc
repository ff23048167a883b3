// A heap profile as the agent reads it from a Pod: gzip + profile.proto, then the
// reports the diagnosis asks of it.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/diagnosis/pprof/heap_profile.h"

using namespace gotestrun::pprof;

namespace {
void Exercise(const HeapProfile& p) {
  for (const auto& type : p.sample_types()) (void)TopFunctions(p, type.type, 10);
  DiffOptions options;
  options.max_sites = 10;
  (void)DiffAllocationSites(p, p, options);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  // Small limits keep each input fast; the checks they exercise are the same.
  Limits limits;
  limits.max_decompressed_bytes = size_t{8} << 20;
  if (auto p = ParseHeapProfile(bytes, limits); p.ok()) Exercise(*p);
  if (auto p = DecodeHeapProfile(bytes, limits); p.ok()) Exercise(*p);
  return 0;
}
