// A kubeconfig file's text. Relative file names resolve in a folder that does not
// exist, so the target reads nothing from the machine.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "kube/client/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view yaml(reinterpret_cast<const char*>(data), size);
  (void)gotestrun::kube::ParseKubeconfig(yaml, "/nonexistent-gotestrun-fuzz");
  return 0;
}
