// A GoTestRun's status as an earlier reconcile wrote it (or anyone with write access
// to the status subresource did): decoded by the one status codec, written back, read
// again, and the second reading must equal the first.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/api/status.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using nlohmann::json;
  json status = json::parse(std::string_view(reinterpret_cast<const char*>(data), size), nullptr,
                            /*allow_exceptions=*/false);
  if (status.is_discarded()) return 0;
  const gotestrun::api::RunStatus decoded = gotestrun::api::DecodeStatus(status);
  const json written = gotestrun::api::EncodeStatus(decoded);
  if (gotestrun::api::EncodeStatus(gotestrun::api::DecodeStatus(written)) != written) std::abort();
  return 0;
}
