// The convergence benchmark's operator rows: a module's tests through the operator on
// the test control plane, twice (cold, then planned from the history the first run
// left in its ConfigMap), with the same start, cap and -parallel as the other rows.
// Every limit is a real memory cgroup limit on the test node and every kill a real
// kernel OOM kill. Prints one JSON line per run on stdout, in bench.py's row format;
// progress on stderr. bench.py runs it; nothing here is registered with ctest.
//
//   convergence_operator_run OPERATOR_BIN AGENT_BIN CRDS_DIR MODULE_DIR
//       [--memory 256Mi] [--max-memory 2048Mi] [--parallel 16] [--runs 2]
//       [--gocache-root DIR]   each run's Pods share a fresh, empty GOCACHE under DIR
//                              (as the local rows' attempts share one); without it each
//                              Pod builds in its own empty home, as in a cluster
//       [--pods-at-once N]     the test node runs at most N Pods at once, the others
//                              wait Pending (default: the CPUs, as a local run's bound)
//       [--timeout-s 1800]
//
// GiB-seconds are each attempt's limit times the time its Pod ran on the node (from
// the Pod's startTime to its test container's finishedAt), not the time it waited
// Pending.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "base/timestamps.h"
#include "core/policy/quantity.h"
#include "kube/client/client.h"
#include "sandbox/child_process.h"
#include "tests/node/test_node.h"
#include "tests/support/control_plane.h"
#include "tests/support/crds.h"

using namespace gotestrun;
using kube::Json;
using Steady = std::chrono::steady_clock;

namespace {

const kube::ResourceType kRuns{"gotestrun.dev", "v1alpha1", "gotestruns", true};

struct Flags {
  std::string memory = "256Mi", max_memory = "2048Mi", gocache_root;
  int parallel = 16, runs = 2, timeout_s = 1800;
  int pods_at_once = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
};

Json RunObject(const std::string& name, const Flags& flags, const std::string& gocache) {
  Json env = {{{"name", "GOFLAGS"}, {"value", "-mod=mod"}},
              {{"name", "GOTOOLCHAIN"}, {"value", "local"}},
              {{"name", "GOPROXY"}, {"value", "off"}}};
  if (!gocache.empty()) env.push_back({{"name", "GOCACHE"}, {"value", gocache}});
  Json go_test = {{"env", std::move(env)}};
  if (flags.parallel > 0) go_test["parallel"] = flags.parallel;
  return {{"apiVersion", "gotestrun.dev/v1alpha1"},
          {"kind", "GoTestRun"},
          {"metadata", {{"name", name}, {"namespace", "default"}}},
          {"spec",
           {{"source", {{"volume", {{"claimName", "workspace"}, {"subPath", "module"}}}}},
            {"image", "golang:1.26"},
            {"packages", {"./..."}},
            {"goTest", std::move(go_test)},
            {"resources", {{"memory", flags.memory}, {"maxMemory", flags.max_memory}}}}}};
}

double Seconds(const std::string& from, const std::string& to) {
  auto a = ParseRfc3339(from), b = ParseRfc3339(to);
  if (!a || !b || *b < *a) return 0;
  return std::chrono::duration<double>(*b - *a).count();
}

// Seconds the Pod ran on the node: status.startTime to its container's finishedAt.
double SecondsRan(kube::Client& client, const std::string& pod) {
  auto p = client.Get(kube::ResourceType::Pods(), "default", pod);
  if (!p.ok()) return 0;
  const Json status = p->value("status", Json::object());
  std::string finished;
  for (const Json& cs : status.value("containerStatuses", Json::array())) {
    finished = cs.value(Json::json_pointer("/state/terminated/finishedAt"), std::string());
  }
  return Seconds(status.value("startTime", ""), finished);
}

// The row's figures, from the run's status and its Pods.
Json Figures(kube::Client& client, const Json& run, double wall_s) {
  const Json status = run.value("status", Json::object());
  double gib_s = 0;
  int attempts = 0, stalls = 0;
  for (const Json& shard : status.value("shards", Json::array())) {
    for (const Json& a : shard.value("attempts", Json::array())) {
      ++attempts;
      stalls += a.value("outcome", "") == "MemoryStall";
      auto limit = policy::ParseMemoryQuantity(a.value("memory", "0"));
      if (!limit.ok()) continue;
      gib_s += static_cast<double>(*limit) / (1u << 30) * SecondsRan(client, a.value("pod", ""));
    }
  }
  int rounds = 0;
  for (const Json& p : status.value("packages", Json::array())) rounds = std::max(rounds, p.value("attempts", 0));
  return {{"passed", status.value("phase", "") == "Succeeded"},
          {"attempts", attempts},
          {"oom_kills", status.value("oomKills", 0)},
          {"stalls", stalls},
          {"rounds", rounds},
          {"wall_s", wall_s},
          {"gib_s", gib_s},
          {"phase", status.value("phase", "")},
          {"message", status.value("message", "")}};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::cerr << "usage: convergence_operator_run OPERATOR_BIN AGENT_BIN CRDS_DIR MODULE_DIR [--memory Q] "
                 "[--max-memory Q] [--parallel N] [--runs N] [--gocache-root DIR] [--timeout-s S]\n";
    return 2;
  }
  const std::string op_bin = argv[1], agent_bin = argv[2], crds = argv[3];
  const std::filesystem::path module = std::filesystem::absolute(argv[4]);
  Flags flags;
  for (int i = 5; i + 1 < argc; i += 2) {
    const std::string f = argv[i], v = argv[i + 1];
    if (f == "--memory") flags.memory = v;
    else if (f == "--max-memory") flags.max_memory = v;
    else if (f == "--parallel") flags.parallel = std::atoi(v.c_str());
    else if (f == "--runs") flags.runs = std::atoi(v.c_str());
    else if (f == "--gocache-root") flags.gocache_root = v;
    else if (f == "--timeout-s") flags.timeout_s = std::atoi(v.c_str());
    else if (f == "--pods-at-once") flags.pods_at_once = std::atoi(v.c_str());
    else {
      std::cerr << "unknown flag " << f << "\n";
      return 2;
    }
  }
  // stdout carries the rows only: the test node's and the control plane's logs go to stderr.
  spdlog::set_default_logger(spdlog::stderr_color_mt("bench"));
  // The claim "workspace" is the module's parent folder; the module is its subPath.
  if (module.filename() != "module") {
    std::cerr << "MODULE_DIR must be a folder named module (bench.py's copy): " << module << "\n";
    return 2;
  }

  auto cp = testing::ControlPlane::Start({.controller_manager = true});
  if (!cp.ok()) {
    std::cerr << cp.status() << "\n";
    return 1;
  }
  auto client = kube::Client::Create((*cp)->AdminConfig());
  if (!client.ok()) return 1;
  if (Status s = testing::InstallGoTestRunCrd(**client, crds); !s.ok()) {
    std::cerr << s << "\n";
    return 1;
  }
  const std::string work = module.parent_path() / "operator";
  std::filesystem::remove_all(work);
  std::filesystem::create_directories(work + "/profiles");
  testing::TestNode node(**client, {.node_name = "bench",
                                    .work_dir = work + "/node",
                                    .claim_folders = {{"workspace", module.parent_path().string()},
                                                      {"gotestrun-profiles", work + "/profiles"}},
                                    .max_running_pods = flags.pods_at_once});
  if (Status s = node.Start(); !s.ok()) {
    std::cerr << s << "\n";
    return 1;
  }
  auto op = sandbox::Subprocess::Spawn({.argv = {op_bin, "--kubeconfig", (*cp)->kubeconfig_path(), "--profiles-dir",
                                                 work + "/profiles", "--agent-path", agent_bin},
                                        .output_file = work + "/operator.log"});
  if (!op.ok()) {
    std::cerr << op.status() << "\n";
    return 1;
  }

  int status = 0;
  for (int i = 0; i < flags.runs; ++i) {
    const std::string name = i == 0 ? "cold" : "history-" + std::to_string(i);
    std::string gocache;
    if (!flags.gocache_root.empty()) {
      gocache = std::filesystem::absolute(flags.gocache_root) / name;
      std::filesystem::remove_all(gocache);
      std::filesystem::create_directories(gocache);
    }
    const auto start = Steady::now();
    if (auto r = (*client)->Create(kRuns, "default", RunObject(name, flags, gocache)); !r.ok()) {
      std::cerr << "create " << name << ": " << r.status() << "\n";
      status = 1;
      break;
    }
    Json last;
    const auto deadline = start + std::chrono::seconds(flags.timeout_s);
    for (;;) {
      if (auto r = (*client)->Get(kRuns, "default", name); r.ok()) {
        last = *r;
        const std::string phase = last.value(Json::json_pointer("/status/phase"), std::string());
        if (phase == "Succeeded" || phase == "Failed") break;
      }
      if (Steady::now() > deadline) {
        std::cerr << name << ": not ended after " << flags.timeout_s << " s\n";
        status = 1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    const double wall_s = std::chrono::duration<double>(Steady::now() - start).count();
    // The whole object beside the figures, to read what the run did.
    if (std::FILE* f = std::fopen((work + "/" + name + ".json").c_str(), "w")) {
      std::fputs(last.dump(2).c_str(), f);
      std::fclose(f);
    }
    Json row = Figures(**client, last, wall_s);
    row["run"] = name;
    std::cout << row.dump() << std::endl;
    std::cerr << name << ": " << row.value("phase", "") << ", " << row.value("attempts", 0) << " attempts, "
              << row.value("oom_kills", 0) << " OOM-killed, " << wall_s << " s\n";
    if (status != 0) break;
  }
  op->Stop();
  node.Stop();
  return status;
}
