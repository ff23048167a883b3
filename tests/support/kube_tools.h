// helm and kubectl as a user runs them, against a test control plane.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "sandbox/child_process.h"

namespace gotestrun::testing {

// Runs `argv` (helm or kubectl) with KUBECONFIG=`kubeconfig` and helm's config, cache
// and data under `helm_home`; stdout, or the failure with stderr.
inline StatusOr<std::string> RunKubeTool(const std::vector<std::string>& argv, const std::string& kubeconfig,
                                         const std::string& helm_home) {
  auto r = sandbox::RunCaptured(
      {.argv = argv,
       .extra_env = {"KUBECONFIG=" + kubeconfig, "HELM_CONFIG_HOME=" + helm_home + "/config",
                     "HELM_CACHE_HOME=" + helm_home + "/cache", "HELM_DATA_HOME=" + helm_home + "/data"}},
      16 << 20);
  if (!r.ok()) return r.status();
  if (r->end.exit_code != 0) {
    return InternalError(argv[0] + (argv.size() > 1 ? " " + argv[1] : std::string()) + ": " + r->err + r->out);
  }
  return r->out;
}

}  // namespace gotestrun::testing
