// How fast the operator answers an OOM kill: the time from a Pod's OOMKilled status
// reaching the API server to the creation of its replacement Pod, over many kills
// (p50, p99). Everything is real: the control plane, the operator binary, the test
// node running `go test` in memory cgroups, the kernel's OOM killer. The time is
// measured where a client sees it: watch events of the two Pods, as they arrive here.
//
//   oom_retry_bench OPERATOR_BIN AGENT_BIN FIXTURES_DIR [KILLS]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <regex>
#include <thread>

#include "base/files.h"
#include "sandbox/child_process.h"
#include "kube/runtime/informer.h"
#include "tests/node/test_node.h"
#include "tests/support/control_plane.h"
#include "tests/support/crds.h"
#include "tests/bench/pod_timeline.h"

using namespace gotestrun;
using kube::Json;
using sandbox::ExitInfo;
using sandbox::Subprocess;
using Steady = std::chrono::steady_clock;

int main(int argc, char** argv) {
  if (argc < 5) {
    std::cerr << "usage: oom_retry_bench OPERATOR_BIN AGENT_BIN FIXTURES_DIR CRDS_DIR [KILLS]\n";
    return 2;
  }
  const std::string op_bin = argv[1], agent_bin = argv[2], fixtures = argv[3], crds = argv[4];
  const int want_kills = argc > 5 ? std::atoi(argv[5]) : 50;
  auto cp = gotestrun::testing::ControlPlane::Start({.controller_manager = true});
  if (!cp.ok()) {
    std::cerr << cp.status() << "\n";
    return 1;
  }
  auto client = kube::Client::Create((*cp)->AdminConfig());
  if (!client.ok() || !gotestrun::testing::InstallGoTestRunCrd(**client, crds).ok()) return 1;
  std::string work = std::filesystem::temp_directory_path() / ("oom-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(work + "/profiles");
  gotestrun::testing::TestNode node(
      **client, {.node_name = "bench",
                 .work_dir = work + "/node",
                 .claim_folders = {{"workspace", fixtures}, {"gotestrun-profiles", work + "/profiles"}}});
  if (!node.Start().ok()) return 1;
  auto op = Subprocess::Spawn({.argv = {op_bin, "--kubeconfig", (*cp)->kubeconfig_path(), "--profiles-dir",
                                        work + "/profiles", "--agent-path", agent_bin},
                               .output_file = work + "/operator.log"});
  if (!op.ok()) return 1;

  runtime::WatcherOptions wo;
  wo.ns = "default";
  runtime::Informer pods(**client, kube::ResourceType::Pods(), wo);
  bench::PodTimeline timeline(pods);
  pods.Start();
  pods.WaitForSync(std::chrono::seconds(30));

  // Runs of the hog at 96Mi, then VPA's raise, then maxMemory: three kills per run, the
  // first two followed by a retry (the third ends the run).
  const int runs = (want_kills + 1) / 2;
  const char* home = std::getenv("HOME");
  const std::string go_cache = std::getenv("GOCACHE") != nullptr
                                   ? std::string(std::getenv("GOCACHE"))
                                   : std::string(home != nullptr ? home : "/root") + "/.cache/go-build";
  for (int i = 0; i < runs; ++i) {
    Json run = {{"apiVersion", "gotestrun.dev/v1alpha1"},
                {"kind", "GoTestRun"},
                {"metadata", {{"name", "hog-" + std::to_string(i)}, {"namespace", "default"}}},
                {"spec",
                 {{"source", {{"volume", {{"claimName", "workspace"}, {"subPath", "oomhog"}}}}},
                  {"image", "golang:1.26"},
                  {"packages", {"./hog"}},
                  {"goTest",
                   // The host's build cache: the Pods' own (an emptyDir) would start cold.
                   {{"env",
                     {{{"name", "GOFLAGS"}, {"value", "-mod=mod"}},
                      {{"name", "GOTOOLCHAIN"}, {"value", "local"}},
                      {{"name", "GOCACHE"}, {"value", go_cache}}}}}},
                  {"resources", {{"memory", "96Mi"}, {"maxMemory", "320Mi"}}},
                  {"retry", {{"maxAttempts", 3}, {"memoryBumpRatio", "1.25"}, {"minMemoryBump", "32Mi"}}}}}};
    if (!(*client)->Create(kube::ResourceType{"gotestrun.dev", "v1alpha1", "gotestruns", true}, "default", run).ok())
      return 1;
  }
  // Every killed attempt but the last of each run gets a replacement "<run>-s<i>-a<k+1>".
  auto deadline = Steady::now() + std::chrono::minutes(15);
  std::vector<double> ms;
  while (Steady::now() < deadline) {
    ms = timeline.OomToNextPodMs();
    if (static_cast<int>(ms.size()) >= want_kills) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  pods.Stop();
  op->Stop();
  node.Stop();
  // The operator's own reaction: from the reconcile that read the kill to the
  // replacement Pod's create returning (its log), free of this watch's delivery delays.
  std::vector<double> reaction;
  if (auto log = ReadFile(work + "/operator.log", 256u << 20); log.ok()) {
    static const std::regex kLine("created ([0-9.]+) ms after the reconcile that saw the OOM kill");
    for (auto it = std::sregex_iterator(log->begin(), log->end(), kLine); it != std::sregex_iterator(); ++it) {
      reaction.push_back(std::stod((*it)[1].str()));
    }
  }
  if (std::getenv("GOTESTRUN_KEEP_BENCH") == nullptr) {
    std::filesystem::remove_all(work);
  } else {
    std::cerr << "kept " << work << " (operator.log)\n";
  }
  if (ms.empty()) {
    std::cerr << "no OOM kill was followed by a replacement pod\n";
    return 1;
  }
  std::sort(ms.begin(), ms.end());
  auto pct = [&](double p) { return ms[std::min(ms.size() - 1, static_cast<size_t>(p * (ms.size() - 1) + 0.5))]; };
  std::printf(
      "OOMKilled status -> replacement pod created, over %zu kills: p50 %.1f ms, p99 %.1f ms, min %.1f ms, max %.1f "
      "ms\n",
      ms.size(), pct(0.5), pct(0.99), ms.front(), ms.back());
  if (!reaction.empty()) {
    std::sort(reaction.begin(), reaction.end());
    auto rpct = [&](double p) {
      return reaction[std::min(reaction.size() - 1, static_cast<size_t>(p * (reaction.size() - 1) + 0.5))];
    };
    std::printf(
        "operator's own reaction (kill read -> replacement pod created), over %zu kills: p50 %.1f ms, p99 %.1f ms, max "
        "%.1f ms\n",
        reaction.size(), rpct(0.5), rpct(0.99), reaction.back());
  }
  return static_cast<int>(ms.size()) >= want_kills ? 0 : 1;
}
