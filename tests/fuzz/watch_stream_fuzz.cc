// The body of a watch response, in chunks of any size.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "kube/client/watch_stream.h"

using namespace gotestrun::kube;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  size_t chunk = 1;
  if (!bytes.empty()) {
    chunk = 1 + static_cast<unsigned char>(bytes[0]);
    bytes.remove_prefix(1);
  }
  // A small event cap so that the oversize path is reached by small inputs.
  WatchStreamDecoder decoder(4096);
  for (size_t i = 0; i < bytes.size() && !decoder.stopped(); i += chunk) {
    gotestrun::Status s = decoder.Feed(bytes.substr(i, chunk), [](WatchEvent&& ev) {
      if (ev.type == WatchEventType::kError) (void)WatchErrorStatus(ev.object);
      return true;
    });
    if (!s.ok()) break;
  }
  return 0;
}
