// GoTestRun end to end: a real kube-apiserver, etcd and kube-controller-manager; the
// operator binary; the test node running Pods as processes in memory cgroups; real
// `go test` of the fixture module, really OOM-killed by the kernel.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "core/api/yaml_json.h"
#include "base/files.h"
#include "sandbox/child_process.h"
#include "core/policy/quantity.h"
#include "tests/node/test_node.h"
#include "tests/support/cluster_fixture.h"
#include "tests/support/crds.h"
#include "tests/support/run_status.h"
#include "tests/e2e/operator_e2e.h"

namespace gotestrun::testing {
namespace {

namespace fs = std::filesystem;
using kube::Json;
using kube::ResourceType;
using sandbox::ExitInfo;
using sandbox::Subprocess;

using GoTestRunE2e = OperatorE2e;
const bool kInstalled = (ClusterEnvironment::Install({.controller_manager = true}), true);

TEST_F(GoTestRunE2e, ConvergesAfterAnOomKillWithinMaxMemory) {
  // leak/ needs ~330 MiB and largetest/ ~360 MiB (fixture README); 256Mi is too little.
  const std::string leak = "gotestrun.dev/fixtures/memory/leak";
  ASSERT_TRUE(client_->Create(kGoTestRuns, ns_, Run("converge", {"./leak", "./clean/..."}, "256Mi", "1Gi")).ok());
  // While it runs, /metrics counts it among the runs in progress.
  EXPECT_TRUE(Eventually(
      [&] {
        auto m = Scrape();
        return m["gotestrun_runs{phase=\"Planning\"}"] + m["gotestrun_runs{phase=\"Running\"}"] == 1;
      },
      std::chrono::minutes(2)));
  Json run = WaitForEnd("converge");
  const Json& status = run["status"];
  ASSERT_EQ(status.value("phase", ""), "Succeeded") << status.dump(2);
  EXPECT_GE(EndedAtTheLimit(status), 1) << status.dump(2);

  // After it, /metrics agrees with its status: every attempt counted once, the kills
  // among them, and the memory the attempts held while they ran.
  std::map<std::string, double> scraped;
  EXPECT_TRUE(Eventually(
      [&] {
        scraped = Scrape();
        return scraped["gotestrun_runs{phase=\"Succeeded\"}"] == 1 &&
               Sum(scraped, "gotestrun_attempts_total") == status.value("attemptCount", -1);
      },
      std::chrono::seconds(30)));
  EXPECT_EQ(Sum(scraped, "gotestrun_runs"), 1);
  EXPECT_EQ(Sum(scraped, "gotestrun_attempts_total"), status.value("attemptCount", -1));
  EXPECT_EQ(Sum(scraped, "gotestrun_oom_kills_total"), status.value("oomKills", -1));
  EXPECT_EQ(scraped["gotestrun_attempts_total{outcome=\"oom_killed\"}"], status.value("oomKills", -1));
  EXPECT_EQ(scraped["gotestrun_attempts_total{outcome=\"passed\"}"] +
                scraped["gotestrun_attempts_total{outcome=\"oom_killed\"}"] +
                scraped["gotestrun_attempts_total{outcome=\"memory_stall\"}"],
            status.value("attemptCount", -1))
      << "every attempt of this run passed or ended at its limit";
  // At least the first attempt's 256Mi for a second.
  EXPECT_GE(scraped["gotestrun_reserved_memory_seconds_total"], 256.0 * (1 << 20));

  // The first attempt was killed, and the status names the package (on the attempt, or
  // in its diagnosis when several binaries ran) and the phase.
  for (const Json& shard : status["shards"]) {
    for (const Json& a : shard["attempts"]) {
      auto limit = policy::ParseMemoryQuantity(a.value("memory", "0"));
      ASSERT_TRUE(limit.ok());
      EXPECT_LE(*limit, 1ull << 30) << "an attempt went above maxMemory";
      if (a.value("outcome", "") != "OOMKilled") continue;
      if (a.value("killedPackage", "").empty()) {
        // The container died while several test binaries ran (the status lists them)
        // or while go test was still building: the kill cannot be pinned on one
        // package, and the policy splits the shard instead.
        std::string m = a.value("message", "");
        EXPECT_TRUE(m.find(leak) != std::string::npos || m.find("building") != std::string::npos) << a.dump();
        continue;
      }
      EXPECT_EQ(a.value("killedPackage", ""), leak) << a.dump();
      // Where in the binary: known when go test was streaming that package's events.
      EXPECT_TRUE(a.value("phase", "") == "test-run" || a.value("phase", "") == "unknown") << a.dump();
    }
  }
  EXPECT_TRUE(NamesKilledPackage(status, leak)) << status.dump(2);
  // Every package passed, and the clean ones were not run again after passing.
  std::set<std::string> passed;
  for (const Json& p : status["packages"]) {
    EXPECT_EQ(p.value("outcome", ""), "Succeeded") << p.dump();
    passed.insert(p.value("package", ""));
  }
  EXPECT_TRUE(passed.contains(leak));
  EXPECT_TRUE(passed.contains("gotestrun.dev/fixtures/memory/clean/a"));
}

TEST_F(GoTestRunE2e, APackageThatNeedsMoreThanMaxMemoryEndsFailedAndSaysSo) {
  const std::string large = "gotestrun.dev/fixtures/memory/largetest";
  ASSERT_TRUE(client_->Create(kGoTestRuns, ns_, Run("too-big", {"./largetest"}, "192Mi", "288Mi")).ok());
  Json run = WaitForEnd("too-big");
  const Json& status = run["status"];
  ASSERT_EQ(status.value("phase", ""), "Failed") << status.dump(2);
  for (const Json& p : status["packages"]) {
    if (p.value("package", "") != large) continue;
    EXPECT_EQ(p.value("outcome", ""), "OOMKilled") << p.dump();
  }
  // What the diagnosis found, and why the run ended: it needs more than maxMemory.
  EXPECT_TRUE(DiagnosedDoesNotFit(status, large, "LargeTest", "288Mi"));
}

// stall/ sits at a 256Mi limit refaulting its mmapped file for over a minute and is
// never OOM-killed (tests/fixtures/memory/README.md): the agent in the Pod ends it after
// spec.memoryStall.after, and the operator retries it with more memory.
TEST_F(GoTestRunE2e, AStallAtTheLimitIsEndedAndShownInStatus) {
  const std::string stall = "gotestrun.dev/fixtures/memory/stall";
  Json spec = Run("stall", {"./stall"}, "256Mi", "1Gi");
  spec["spec"]["memoryStall"] = {{"after", "10s"}};
  ASSERT_TRUE(client_->Create(kGoTestRuns, ns_, spec).ok());
  Json run = WaitForEnd("stall");
  const Json& status = run["status"];
  ASSERT_EQ(status.value("phase", ""), "Succeeded") << status.dump(2);
  bool stalled = false;
  for (const Json& shard : status["shards"]) {
    for (const Json& a : shard["attempts"]) {
      if (a.value("outcome", "") != "MemoryStall") continue;
      EXPECT_EQ(a.value("killedPackage", ""), stall) << a.dump();
      EXPECT_EQ(a.value("phase", ""), "test-run") << a.dump();
      EXPECT_EQ(a.value("runningTest", ""), "TestScanMappedIndex") << a.dump();
      EXPECT_NE(a.value("message", "").find("stalled at the limit"), std::string::npos) << a.dump();
      EXPECT_NE(a.value("message", "").find("refaults/s"), std::string::npos) << a.dump();
      stalled = true;
    }
  }
  EXPECT_TRUE(stalled) << status.dump(2);
  bool in_diagnosis = false;
  for (const Json& d : status["diagnosis"]) {
    if (d.value("package", "") != stall) continue;
    for (const Json& e : d["evidence"]) in_diagnosis |= e.get<std::string>().starts_with("stalled at the limit");
  }
  EXPECT_TRUE(in_diagnosis) << status["diagnosis"].dump(2);
  EXPECT_TRUE(Eventually(
      [&] {
        auto events = client_->List(ResourceType::Events(), ns_);
        if (!events.ok()) return false;
        for (const Json& e : events->items) {
          if (e.value("reason", "") == "MemoryStall" && e["involvedObject"].value("name", "") == "stall") return true;
        }
        return false;
      },
      std::chrono::seconds(30)));
}

// The suite's memory history: the first run is OOM-killed and converges; the second is
// planned from what the first measured and passes with no OOM kill; a package whose
// peak is far above its baseline is flagged, and fails the run when the gate says so.
TEST_F(GoTestRunE2e, ASecondRunIsPlannedFromHistoryAndAGrownPackageIsFlagged) {
  const std::string leak = "gotestrun.dev/fixtures/memory/leak";
  const std::vector<std::string> packages = {"./leak", "./clean/a"};
  ASSERT_TRUE(client_->Create(kGoTestRuns, ns_, Run("hist-1", packages, "256Mi", "1Gi")).ok());
  Json first = WaitForEnd("hist-1");
  ASSERT_EQ(first["status"].value("phase", ""), "Succeeded") << first["status"].dump(2);
  ASSERT_GE(EndedAtTheLimit(first["status"]), 1) << first["status"].dump(2);

  // The history ConfigMap holds the leak's peak from the attempt that passed.
  auto cms = client_->List(ResourceType::ConfigMaps(), ns_, {.label_selector = "gotestrun.dev/suite"});
  ASSERT_TRUE(cms.ok()) << cms.status();
  ASSERT_EQ(cms->items.size(), 1u);
  Json cm = cms->items[0];
  Json history = Json::parse(cm["data"].value("history.json", "{}"));
  ASSERT_TRUE(history["packages"].contains(leak)) << history.dump(2);
  uint64_t measured = history["packages"][leak]["testRun"][0].value("bytes", uint64_t{0});
  EXPECT_GT(measured, 256ull << 20) << history.dump(2);

  ASSERT_TRUE(client_->Create(kGoTestRuns, ns_, Run("hist-2", packages, "256Mi", "1Gi")).ok());
  Json second = WaitForEnd("hist-2");
  const Json& status = second["status"];
  ASSERT_EQ(status.value("phase", ""), "Succeeded") << status.dump(2);
  EXPECT_EQ(status.value("oomKills", -1), 0) << status.dump(2);
  bool leak_sized = false;
  for (const Json& shard : status["shards"]) {
    const Json& a = shard["attempts"][0];
    for (const Json& p : shard["packages"]) {
      if (p != leak) continue;
      auto limit = policy::ParseMemoryQuantity(a.value("memory", "0"));
      ASSERT_TRUE(limit.ok());
      EXPECT_GT(*limit, measured) << a.dump();
      leak_sized = true;
    }
  }
  EXPECT_TRUE(leak_sized) << status.dump(2);
  EXPECT_TRUE(HasCondition(second, "MemoryGrowth", "False")) << status.dump(2);

  // Earlier runs of this suite needed far less: the same leak is now growth.
  cms = client_->List(ResourceType::ConfigMaps(), ns_, {.label_selector = "gotestrun.dev/suite"});
  ASSERT_TRUE(cms.ok() && cms->items.size() == 1u);
  cm = cms->items[0];
  history = Json::parse(cm["data"].value("history.json", "{}"));
  Json& peaks = history["packages"][leak]["testRun"];
  Json older = Json::array();
  for (int i = 0; i < 3; ++i) older.push_back({{"run", "older-" + std::to_string(i)}, {"bytes", 100ull << 20}});
  for (const Json& p : peaks) older.push_back(p);
  peaks = older;
  cm["data"]["history.json"] = history.dump();
  ASSERT_TRUE(client_->Update(ResourceType::ConfigMaps(), cm).ok());

  Json gated = Run("hist-3", packages, "256Mi", "1Gi");
  gated["spec"]["memoryGate"] = {{"growthThresholdPercent", 50}, {"failOnGrowth", true}};
  ASSERT_TRUE(client_->Create(kGoTestRuns, ns_, gated).ok());
  Json third = WaitForEnd("hist-3");
  ASSERT_EQ(third["status"].value("phase", ""), "Failed") << third["status"].dump(2);
  EXPECT_EQ(third["status"].value("oomKills", -1), 0) << third["status"].dump(2);
  EXPECT_TRUE(HasCondition(third, "MemoryGrowth", "True")) << third["status"].dump(2);
  EXPECT_NE(third["status"].value("message", "").find(leak), std::string::npos) << third["status"].dump(2);
  EXPECT_TRUE(Eventually(
      [&] {
        auto events = client_->List(ResourceType::Events(), ns_);
        if (!events.ok()) return false;
        for (const Json& e : events->items) {
          if (e.value("reason", "") == "MemoryGrowth" && e["involvedObject"].value("name", "") == "hist-3") return true;
        }
        return false;
      },
      std::chrono::seconds(30)));
}

// The fixture suite's pathologies, each in a shard of its own and each killed by the
// kernel at the first limit: the status names every killed package with the cause it
// was built to show, with evidence, and says what was done about it.
TEST_F(GoTestRunE2e, EveryKilledPackageIsDiagnosedWithItsCause) {
  const std::map<std::string, std::string> expected = {
      {"gotestrun.dev/fixtures/memory/leak", "LeakAcrossTests"},
      {"gotestrun.dev/fixtures/memory/goroutineleak", "GoroutineLeak"},
      {"gotestrun.dev/fixtures/memory/nativemem", "NativeMemory"},
      {"gotestrun.dev/fixtures/memory/initmem", "InitMemory"},
      {"gotestrun.dev/fixtures/memory/largetest", "LargeTest"},
  };
  Json run = Run("causes", {"./leak", "./goroutineleak", "./nativemem", "./initmem", "./largetest", "./clean/a"},
                 "160Mi", "1Gi");
  run["spec"]["sharding"] = {{"shards", 6}, {"maxShards", 12}};
  // The fixtures die within a second: snapshot often enough to see them grow.
  run["spec"]["profiling"]["heapInterval"] = "100ms";
  ASSERT_TRUE(client_->Create(kGoTestRuns, ns_, run).ok());
  Json done = WaitForEnd("causes");
  const Json& status = done["status"];
  ASSERT_EQ(status.value("phase", ""), "Succeeded") << status.dump(2);
  std::map<std::string, Json> diagnosed;
  for (const Json& d : status["diagnosis"]) diagnosed[d.value("package", "")] = d;
  for (const auto& [pkg, cause] : expected) {
    ASSERT_TRUE(diagnosed.contains(pkg)) << pkg << " has no diagnosis\n" << status["diagnosis"].dump(2);
    const Json& d = diagnosed[pkg];
    EXPECT_EQ(d.value("cause", ""), cause) << d.dump(2);
    EXPECT_FALSE(d.value("summary", "").empty()) << d.dump(2);
    EXPECT_FALSE(d["evidence"].empty()) << d.dump(2);
    EXPECT_NE(d.value("action", "").find("retried"), std::string::npos) << d.dump(2);
  }
  EXPECT_FALSE(diagnosed.contains("gotestrun.dev/fixtures/memory/clean/a")) << status["diagnosis"].dump(2);
}

// The same suite, the same spec: the operator in a cluster and `gotestrun run` on this
// machine end the same way, with the same packages killed and the same causes named.
TEST_F(GoTestRunE2e, TheLocalRunnerReportsWhatTheOperatorReports) {
  Json run = Run("same", {"./leak", "./nativemem", "./largetest", "./clean/a"}, "160Mi", "1Gi");
  run["spec"]["sharding"] = {{"shards", 4}, {"maxShards", 8}};
  run["spec"]["profiling"]["heapInterval"] = "100ms";
  ASSERT_TRUE(client_->Create(kGoTestRuns, ns_, run).ok());
  Json in_cluster = WaitForEnd("same")["status"];

  // The manifest as a user would apply it, JSON being YAML; the local module is the
  // fixture folder the cluster's volume holds.
  const std::string manifest = work_ + "/same.yaml";
  Json local_manifest = run;
  local_manifest["metadata"].erase("namespace");
  ASSERT_TRUE(WriteFileAtomic(manifest, local_manifest.dump(2)).ok());
  auto local = Subprocess::Spawn(
      {.argv = {GTR_GOTESTRUN_BIN, "run", "-f", manifest, "--module-dir", std::string(GTR_FIXTURES_DIR) + "/memory",
                "--out", work_ + "/local", "--no-history", "--agent", GTR_AGENT_BIN},
       .extra_env = {"GOFLAGS=-mod=mod", "GOTOOLCHAIN=local"},
       .output_file = work_ + "/local.log"});
  ASSERT_TRUE(local.ok()) << local.status();
  std::optional<ExitInfo> exit = local->Wait(std::chrono::minutes(10));
  ASSERT_TRUE(exit.has_value());
  auto text = ReadFile(work_ + "/local/status.yaml", 16 << 20);
  ASSERT_TRUE(text.ok()) << text.status();
  auto local_status = api::YamlToJson(*text);
  ASSERT_TRUE(local_status.ok()) << local_status.status();
  EXPECT_EQ(exit->exit_code, 0) << ReadFile(work_ + "/local.log", 1 << 20).value();

  auto outcomes = [](const Json& status) {
    std::map<std::string, std::string> out;
    for (const Json& p : status["packages"]) out[p.value("package", "")] = p.value("outcome", "");
    return out;
  };
  auto causes = [](const Json& status) {
    std::map<std::string, std::string> out;
    for (const Json& d : status["diagnosis"]) out[d.value("package", "")] = d.value("cause", "");
    return out;
  };
  EXPECT_EQ(local_status->value("phase", ""), in_cluster.value("phase", ""));
  EXPECT_EQ(outcomes(*local_status), outcomes(in_cluster)) << local_status->dump(2) << "\n" << in_cluster.dump(2);
  EXPECT_EQ(causes(*local_status), causes(in_cluster)) << (*local_status)["diagnosis"].dump(2) << "\n"
                                                       << in_cluster["diagnosis"].dump(2);
  EXPECT_EQ(causes(in_cluster).size(), 3u) << in_cluster["diagnosis"].dump(2);

  // `gotestrun describe` says it in the same words from the cluster and from the folder.
  auto describe = [&](std::vector<std::string> args, const std::string& out) {
    args.insert(args.begin(), {GTR_GOTESTRUN_BIN, "describe"});
    auto p = Subprocess::Spawn({.argv = args, .output_file = out});
    EXPECT_TRUE(p.ok()) << p.status();
    std::optional<ExitInfo> e = p.ok() ? p->Wait(std::chrono::minutes(1)) : std::nullopt;
    EXPECT_TRUE(e && e->exit_code == 0) << ReadFile(out, 1 << 20).value();
    return ReadFile(out, 1 << 20).value();
  };
  std::string from_cluster =
      describe({"same", "-n", ns_, "--kubeconfig", ClusterEnvironment::control_plane().kubeconfig_path()},
               work_ + "/describe-cluster.txt");
  std::string from_folder = describe({work_ + "/local"}, work_ + "/describe-local.txt");
  for (const auto& [pkg, cause] : causes(in_cluster)) {
    for (const std::string* words : {&from_cluster, &from_folder}) {
      EXPECT_NE(words->find(pkg), std::string::npos) << *words;
      EXPECT_NE(words->find(cause), std::string::npos) << *words;
    }
  }
}

TEST_F(GoTestRunE2e, SeveralWatchedNamespacesAreRunAndOthersLeftAlone) {
  std::vector<std::string> namespaces = {ns_};
  for (const char* suffix : {"-b", "-c"}) {
    std::string name = ns_.substr(0, 50) + suffix;
    ASSERT_TRUE(client_
                    ->Create(ResourceType::Namespaces(), "",
                             {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", name}}}})
                    .ok());
    namespaces.push_back(name);
  }
  StartOperator(namespaces[0] + "," + namespaces[1]);
  for (const std::string& ns : namespaces) {
    Json run = Run("multi", {"./clean/..."}, "512Mi", "1Gi");
    run["metadata"]["namespace"] = ns;
    ASSERT_TRUE(client_->Create(kGoTestRuns, ns, run).ok()) << ns;
  }
  auto phase = [&](const std::string& ns) {
    auto r = client_->Get(kGoTestRuns, ns, "multi");
    return r.ok() && r->contains("status") && (*r)["status"].is_object() ? (*r)["status"].value("phase", "")
                                                                         : std::string();
  };
  for (const std::string& ns : {namespaces[0], namespaces[1]}) {
    EXPECT_TRUE(Eventually([&] { return phase(ns) == "Succeeded"; }, std::chrono::minutes(5)))
        << ns << ": " << phase(ns);
  }
  // The third namespace is not watched: its run has no status, no finalizer, no Pod.
  EXPECT_EQ(phase(namespaces[2]), "");
  auto ignored = client_->Get(kGoTestRuns, namespaces[2], "multi");
  ASSERT_TRUE(ignored.ok());
  EXPECT_FALSE((*ignored)["metadata"].contains("finalizers")) << ignored->dump(2);
  auto pods = client_->ListAll(ResourceType::Pods(), namespaces[2]);
  ASSERT_TRUE(pods.ok());
  EXPECT_TRUE(pods->items.empty());
  // /metrics counts the watched namespaces' runs only.
  EXPECT_TRUE(Eventually([&] { return Scrape()["gotestrun_runs{phase=\"Succeeded\"}"] == 2; }));
  EXPECT_EQ(Sum(Scrape(), "gotestrun_runs"), 2);
}

TEST_F(GoTestRunE2e, DeletingARunRemovesItsPodsAndItsFolder) {
  ASSERT_TRUE(client_->Create(kGoTestRuns, ns_, Run("short", {"./clean/..."}, "256Mi", "512Mi")).ok());
  Json run = WaitForEnd("short");
  ASSERT_EQ(run["status"].value("phase", ""), "Succeeded") << run["status"].dump(2);
  ASSERT_TRUE(fs::exists(profiles_ + "/" + ns_ + "/short"));
  auto pods = client_->List(ResourceType::Pods(), ns_);
  ASSERT_TRUE(pods.ok());
  EXPECT_FALSE(pods->items.empty());

  ASSERT_TRUE(client_->Delete(kGoTestRuns, ns_, "short").ok());
  EXPECT_TRUE(
      Eventually([&] { return client_->Get(kGoTestRuns, ns_, "short").status().code() == StatusCode::kNotFound; },
                 std::chrono::seconds(60)));
  EXPECT_TRUE(Eventually(
      [&] {
        auto left = client_->List(ResourceType::Pods(), ns_);
        return left.ok() && left->items.empty();
      },
      std::chrono::seconds(60)));
  EXPECT_FALSE(fs::exists(profiles_ + "/" + ns_ + "/short"));
}

}  // namespace
}  // namespace gotestrun::testing
