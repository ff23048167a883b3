// A GoTestRun's status as an earlier reconcile wrote it (or anyone with write access
// to the status subresource did): decoded, then written back and read again.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/engine/progress.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using nlohmann::json;
  json status = json::parse(std::string_view(reinterpret_cast<const char*>(data), size), nullptr,
                            /*allow_exceptions=*/false);
  if (status.is_discarded()) return 0;
  gotestrun::engine::RunProgress progress = gotestrun::engine::DecodeProgress(status);
  json written = json::object();
  gotestrun::engine::EncodeProgress(progress, written);
  (void)gotestrun::engine::DecodeProgress(written);
  return 0;
}
