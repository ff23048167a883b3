// A GoTestRun of the fixture module tests/fixtures/memory as the e2e tests run it on
// the test node, whatever starts the operator (the fixture of operator_e2e.h, or the
// chart's Deployment in incluster_test.cc).
#pragma once

#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "kube/client/client.h"

namespace gotestrun::testing {

inline const kube::ResourceType kGoTestRuns{"gotestrun.dev", "v1alpha1", "gotestruns", true};

// The host's go build cache. The test node runs Pods as host processes, and the Pods
// give the go command a cache of their own in an emptyDir unless the spec names one:
// without this every attempt would build the standard library again, inside its
// memory limit, and the fixtures' peaks (tests/fixtures/memory/README.md) assume a
// warm cache.
inline std::string HostGoCache() {
  if (const char* c = std::getenv("GOCACHE"); c != nullptr && *c != '\0') return c;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x != nullptr && *x != '\0') return std::string(x) + "/go-build";
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : "/root") + "/.cache/go-build";
}

// Where the run's go command comes from: the test node's Pods are host processes and
// take any image name; the real node pulls a real image and builds inside it.
struct GoImage {
  std::string image = "golang:1.26";
  std::string go_cache = HostGoCache();                  // GOCACHE as the Pod sees it
  std::vector<std::pair<std::string, std::string>> env;  // more variables, e.g. CGO_ENABLED
};

// `packages` of the fixture module (from the claim "workspace") under `memory`, with
// room to grow to `max_memory`.
inline kube::Json FixtureRun(const std::string& ns, const std::string& name, const std::vector<std::string>& packages,
                             const std::string& memory, const std::string& max_memory, const GoImage& go = {}) {
  kube::Json env = {{{"name", "GOFLAGS"}, {"value", "-mod=mod"}},
                    {{"name", "GOTOOLCHAIN"}, {"value", "local"}},
                    {{"name", "GOCACHE"}, {"value", go.go_cache}}};
  for (const auto& [variable, value] : go.env) env.push_back({{"name", variable}, {"value", value}});
  return {{"apiVersion", "gotestrun.dev/v1alpha1"},
          {"kind", "GoTestRun"},
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"spec",
           {{"source", {{"volume", {{"claimName", "workspace"}, {"subPath", "memory"}}}}},
            {"image", go.image},
            {"packages", packages},
            // -parallel fixed: the fixtures' peaks follow it (tests/fixtures/memory/README.md).
            {"goTest", {{"parallel", 2}, {"env", env}}},
            {"resources", {{"memory", memory}, {"maxMemory", max_memory}}},
            {"retry", {{"maxAttempts", 4}, {"memoryBumpRatio", "1.25"}, {"minMemoryBump", "64Mi"}}},
            {"profiling", {{"heapInterval", "500ms"}}}}}};
}

}  // namespace gotestrun::testing
