// The operator against a real node: the operator binary on this machine, the test Pods
// in containers on a real kubelet (tests/realnode), the agent copied out of the
// operator's image by their init container, the Go image's toolchain running go test
// of the fixture module, the kernel killing it at the Pod's memory limit, containerd
// reporting it. The claims are hostPath volumes bound by kube-controller-manager; the
// only stand-in is the binding of Pods to the node (the test control plane has no
// scheduler and this is the only node).
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <thread>

#include "base/files.h"
#include "core/policy/quantity.h"
#include "kube/client/client.h"
#include "sandbox/child_process.h"
#include "tests/e2e/fixture_run.h"
#include "tests/realnode/real_node_environment.h"
#include "tests/support/crds.h"
#include "tests/support/kube_tools.h"
#include "tests/support/run_status.h"

namespace gotestrun::testing {
namespace {

namespace fs = std::filesystem;
using kube::Json;

constexpr char kOperatorImage[] = "localhost/gotestrun-operator:e2e";

// As a cluster has them: the ServiceAccount admission plugin (Pods get their token
// volume) and Service IPs (kube-proxy), for the operator installed by Helm.
const bool kInstalled = (::testing::AddGlobalTestEnvironment(new RealNodeEnvironment(
                             {.controller_manager = true, .admission_plugins = {"ServiceAccount"}},
                             {.bind_unscheduled_pods = true, .service_network = true})),
                         true);

Status RunLogged(const std::vector<std::string>& argv, const std::string& log) {
  auto p = sandbox::RunCaptured({.argv = argv}, 16 << 20);
  if (!p.ok()) return p.status();
  (void)WriteFileAtomic(log, p->out + p->err);
  if (p->end.exit_code != 0) return InternalError(argv[0] + " failed (" + p->end.ToString() + "): " + p->err);
  return Status::Ok();
}

class RealNodeOperatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RealNodeEnvironment::RequireNode();
    if (IsSkipped() || HasFatalFailure()) return;
    // A namespace, claims and volumes of its own per test: the control plane is shared.
    static int tests = 0;
    ns_ = "real-node-e2e-" + std::to_string(++tests);
    auto c = kube::Client::Create(RealNodeEnvironment::control_plane().AdminConfig());
    ASSERT_TRUE(c.ok()) << c.status();
    client_ = std::move(*c);
    ASSERT_TRUE(InstallGoTestRunCrd(*client_, GTR_CRDS_DIR).ok());
    std::string t = (fs::temp_directory_path() / "gotestrun-realnode-e2e-XXXXXX").string();
    work_ = ::mkdtemp(t.data());
    // The operator's image, as the Pods' init container finds it.
    Status image = RunLogged({GTR_SOURCE_DIR "/tests/realnode/operator_image.sh", GTR_OPERATOR_BIN, GTR_AGENT_BIN,
                              kOperatorImage, work_ + "/operator.tar"},
                             work_ + "/operator-image.log");
    ASSERT_TRUE(image.ok()) << image;
    ASSERT_TRUE(RealNodeEnvironment::node().ImportImage(work_ + "/operator.tar").ok());

    // The workspace claim: a copy of the fixtures with a warm build cache.
    workspace_ = work_ + "/workspace";
    profiles_ = work_ + "/profiles";
    fs::create_directories(profiles_);
    fs::copy(GTR_FIXTURES_DIR, workspace_, fs::copy_options::recursive);
    WarmBuildCache({"./leak", "./largetest", "./stall", "./clean/..."}, false);
    if (HasFatalFailure()) return;
    ASSERT_TRUE(RunLogged({"chown", "-R", "65532:65532", profiles_}, work_ + "/chown.log").ok());

    Json ns = {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns_}}}};
    (void)client_->Create(kube::ResourceType::Namespaces(), "", ns);
    for (const auto& [claim, folder] :
         {std::pair{"workspace", workspace_}, std::pair{"gotestrun-profiles", profiles_}}) {
      std::string pv = ns_ + "-" + claim;
      Json volume = {{"apiVersion", "v1"},
                     {"kind", "PersistentVolume"},
                     {"metadata", {{"name", pv}}},
                     {"spec",
                      {{"capacity", {{"storage", "1Gi"}}},
                       {"accessModes", {"ReadWriteMany"}},
                       {"storageClassName", ""},
                       {"hostPath", {{"path", folder}, {"type", "Directory"}}},
                       {"claimRef", {{"namespace", ns_}, {"name", claim}}}}}};
      auto v = client_->Create(kube::ResourceType{"", "v1", "persistentvolumes", false}, "", volume);
      ASSERT_TRUE(v.ok()) << v.status();
      Json pvc = {{"apiVersion", "v1"},
                  {"kind", "PersistentVolumeClaim"},
                  {"metadata", {{"name", claim}, {"namespace", ns_}}},
                  {"spec",
                   {{"accessModes", {"ReadWriteMany"}},
                    {"storageClassName", ""},
                    {"volumeName", pv},
                    {"resources", {{"requests", {{"storage", "1Gi"}}}}}}}};
      auto c2 = client_->Create(kube::ResourceType{"", "v1", "persistentvolumeclaims", true}, ns_, pvc);
      ASSERT_TRUE(c2.ok()) << c2.status();
    }
    // The operator runs as the Pods do, user 65532 (the image's and the chart's), so
    // that the evidence folders it creates are theirs to write: the chart's fsGroup
    // has no counterpart for a process on the host. Its kubeconfig, copied, is its own.
    fs::path cp_dir = RealNodeEnvironment::control_plane().dir();
    fs::create_directories(work_ + "/kube");
    fs::copy_file(cp_dir / "kubeconfig", work_ + "/kube/kubeconfig");
    fs::copy_file(cp_dir / "ca.crt", work_ + "/kube/ca.crt");
    ASSERT_TRUE(RunLogged({"chown", "-R", "65532:65532", work_ + "/kube"}, work_ + "/chown.log").ok());
    ::chmod(work_.c_str(), 0755);
    auto op = sandbox::Subprocess::Spawn({.argv = {"setpriv",
                                                   "--reuid",
                                                   "65532",
                                                   "--regid",
                                                   "65532",
                                                   "--clear-groups",
                                                   GTR_OPERATOR_BIN,
                                                   "--kubeconfig",
                                                   work_ + "/kube/kubeconfig",
                                                   "--profiles-dir",
                                                   profiles_,
                                                   "--watch-namespaces",
                                                   ns_,
                                                   "--agent-image",
                                                   kOperatorImage,
                                                   "--agent-path",
                                                   "/usr/local/bin/gotestrun-agent",
                                                   "--http-address",
                                                   "127.0.0.1",
                                                   "--http-port",
                                                   "0"},
                                          .output_file = work_ + "/operator.log"});
    ASSERT_TRUE(op.ok()) << op.status();
    operator_.emplace(std::move(*op));
  }

  void TearDown() override {
    if (operator_) operator_->Stop();
    if (HasFailure()) {
      auto log = ReadFile(work_ + "/operator.log", 64 << 20);
      if (log.ok())
        std::cerr << "---- operator log (tail) ----\n" << log->substr(log->size() > 6000 ? log->size() - 6000 : 0);
      std::cerr << "kubelet and containerd logs: " << RealNodeEnvironment::node().dir() << " (GOTESTRUN_KEEP_NODE=1)\n";
    }
    std::error_code ec;
    if (!work_.empty() && std::getenv("GOTESTRUN_KEEP_E2E") == nullptr) fs::remove_all(work_, ec);
  }

  // Builds `packages`' tests into the workspace's build cache on this machine, as the
  // Pods' toolchain would (the image's GOROOT and C compiler are this machine's, at the
  // same paths), so that an attempt's peak is its tests', as the fixtures' figures
  // assume.
  void WarmBuildCache(const std::vector<std::string>& packages, bool cgo) {
    std::vector<std::string> argv = {"go", "test", "-count=1", "-run", "^$"};
    argv.insert(argv.end(), packages.begin(), packages.end());
    auto warm = sandbox::RunCaptured({.argv = argv,
                                      .extra_env = {"GOCACHE=" + workspace_ + "/.gocache", "GOFLAGS=-mod=mod",
                                                    "GOTOOLCHAIN=local", cgo ? "CGO_ENABLED=1" : "CGO_ENABLED=0"},
                                      .working_dir = workspace_ + "/memory"},
                                     16 << 20);
    ASSERT_TRUE(warm.ok() && warm->end.exit_code == 0) << (warm.ok() ? warm->err : warm.status().ToString());
    // The Pods run as 65532; hostPath volumes get no fsGroup.
    ASSERT_TRUE(RunLogged({"chown", "-R", "65532:65532", workspace_}, work_ + "/chown.log").ok());
  }

  // A run of the fixture module's `packages` in the Go image, with the build cache the
  // set-up warmed; `cgo` builds them with the image's C compiler.
  Json FixtureRun(const std::string& name, const std::vector<std::string>& packages, const std::string& memory,
                  const std::string& max_memory, bool cgo = false) {
    return testing::FixtureRun(ns_, name, packages, memory, max_memory,
                               {.image = RealNodeEnvironment::node().go_image(),
                                .go_cache = "/workspace/.gocache",
                                .env = {{"CGO_ENABLED", cgo ? "1" : "0"}}});
  }

  // The run once it has ended (or whatever it was after `limit`).
  Json WaitForEnd(const std::string& name, std::chrono::minutes limit = std::chrono::minutes(12)) {
    Json last;
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      auto r = client_->Get(kGoTestRuns, ns_, name);
      if (r.ok()) {
        last = *r;
        std::string phase = last.contains("status") ? last["status"].value("phase", "") : "";
        if (phase == "Succeeded" || phase == "Failed") break;
      }
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
    return last;
  }

  std::unique_ptr<kube::Client> client_;
  std::string ns_, work_, workspace_, profiles_;
  std::optional<sandbox::Subprocess> operator_;
};

// leak/ needs ~330 MiB (tests/fixtures/memory/README.md): at 256Mi the kernel kills it
// in its container, the operator reads the kill from the real kubelet's status, and
// the retry with more memory, never above maxMemory, passes.
TEST_F(RealNodeOperatorTest, ConvergesAfterAnOomKillWithinMaxMemory) {
  auto created = client_->Create(kGoTestRuns, ns_, FixtureRun("converge", {"./leak", "./clean/..."}, "256Mi", "1Gi"));
  ASSERT_TRUE(created.ok()) << created.status();
  const Json last = WaitForEnd("converge");
  const Json& status = last.value("status", Json::object());
  ASSERT_EQ(status.value("phase", ""), "Succeeded") << status.dump(2);
  EXPECT_GE(EndedAtTheLimit(status), 1) << status.dump(2);
  for (const Json& shard : status["shards"]) {
    for (const Json& a : shard["attempts"]) {
      std::printf("attempt %s: %s at %s, killed package '%s' (%s): %s\n", a.value("pod", "").c_str(),
                  a.value("outcome", "").c_str(), a.value("memory", "").c_str(), a.value("killedPackage", "").c_str(),
                  a.value("phase", "").c_str(), a.value("message", "").c_str());
      auto limit = policy::ParseMemoryQuantity(a.value("memory", "0"));
      ASSERT_TRUE(limit.ok());
      EXPECT_LE(*limit, 1ull << 30) << "an attempt went above maxMemory";
    }
  }
  EXPECT_TRUE(NamesKilledPackage(status, "gotestrun.dev/fixtures/memory/leak"))
      << "no attempt or its diagnosis named leak as the package killed: " << status.dump(2);
}

// largetest/ builds a 350 MiB index in one test (tests/fixtures/memory/README.md): killed
// by the kernel at 192Mi and again at maxMemory 288Mi, it ends the run Failed with a
// diagnosis that says it needs more than maxMemory.
TEST_F(RealNodeOperatorTest, APackageThatNeedsMoreThanMaxMemoryEndsFailedAndSaysSo) {
  const std::string large = "gotestrun.dev/fixtures/memory/largetest";
  auto created = client_->Create(kGoTestRuns, ns_, FixtureRun("too-big", {"./largetest"}, "192Mi", "288Mi"));
  ASSERT_TRUE(created.ok()) << created.status();
  const Json run = WaitForEnd("too-big");
  const Json& status = run.value("status", Json::object());
  ASSERT_EQ(status.value("phase", ""), "Failed") << status.dump(2);
  EXPECT_GE(EndedAtTheLimit(status), 1) << status.dump(2);
  EXPECT_TRUE(DiagnosedDoesNotFit(status, large, "LargeTest", "288Mi"));
}

// The fixture causes that die in their tests, nativemem/'s cgo built by the Go image's
// C compiler: each killed by the kernel in a container of its own at 160Mi, each named
// with its cause from what the agent recorded there.
TEST_F(RealNodeOperatorTest, EveryKilledPackageIsDiagnosedWithItsCause) {
  const std::map<std::string, std::string> expected = {
      {"gotestrun.dev/fixtures/memory/leak", "LeakAcrossTests"},
      {"gotestrun.dev/fixtures/memory/goroutineleak", "GoroutineLeak"},
      {"gotestrun.dev/fixtures/memory/initmem", "InitMemory"},
      {"gotestrun.dev/fixtures/memory/largetest", "LargeTest"},
      {"gotestrun.dev/fixtures/memory/nativemem", "NativeMemory"},
  };
  const std::vector<std::string> packages = {"./leak", "./goroutineleak", "./initmem", "./largetest", "./nativemem"};
  WarmBuildCache(packages, true);
  if (HasFatalFailure()) return;
  Json run = FixtureRun("causes", packages, "160Mi", "1Gi", true);
  run["spec"]["sharding"] = {{"shards", 5}, {"maxShards", 10}};
  // The fixtures die within a second: snapshot often enough to see them grow.
  run["spec"]["profiling"]["heapInterval"] = "100ms";
  auto created = client_->Create(kGoTestRuns, ns_, run);
  ASSERT_TRUE(created.ok()) << created.status();
  const Json last = WaitForEnd("causes");
  const Json& status = last.value("status", Json::object());
  ASSERT_EQ(status.value("phase", ""), "Succeeded") << status.dump(2);
  std::map<std::string, Json> diagnosed;
  for (const Json& d : status.value("diagnosis", Json::array())) diagnosed[d.value("package", "")] = d;
  for (const auto& [pkg, cause] : expected) {
    ASSERT_TRUE(diagnosed.contains(pkg)) << pkg << " has no diagnosis\n" << status["diagnosis"].dump(2);
    const Json& d = diagnosed[pkg];
    EXPECT_EQ(d.value("cause", ""), cause) << d.dump(2);
    EXPECT_FALSE(d.value("evidence", Json::array()).empty()) << d.dump(2);
    EXPECT_NE(d.value("action", "").find("retried"), std::string::npos) << d.dump(2);
  }
}

// The causes that need a run of their own (the fixture README's limits and flags): 8
// parallel tests at once, a GC goal above the limit, a compile that must run in the Pod
// rather than come from the build cache, and a binary that thrashes at its limit
// without being OOM-killed (the agent's stall watch, reading the container's cgroup,
// ends it). Each named, and retried with the change its cause calls for until it
// passes.
TEST_F(RealNodeOperatorTest, TheCausesThatNeedARunOfTheirOwnAreNamed) {
  WarmBuildCache({"./parallelspike", "./gcheadroom"}, false);
  if (HasFatalFailure()) return;
  const std::string unique = "/gotestrun-realnode-" + std::to_string(::getpid()) + "-" +
                             std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
  struct Case {
    std::string run, package, memory;
    std::set<std::string> causes;
  };
  // stall/ holds 160 MiB of heap and scans a 160 MiB mapped file: the heap or its GC
  // goal is what leaves no room for the file's pages.
  const std::vector<Case> cases = {{"spike", "parallelspike", "200Mi", {"ParallelSpike"}},
                                   {"headroom", "gcheadroom", "300Mi", {"GCHeadroom"}},
                                   {"compile", "compileheavy", "200Mi", {"BuildMemory"}},
                                   {"thrash", "stall", "256Mi", {"LargeTest", "GCHeadroom"}}};
  for (const Case& c : cases) {
    Json run = FixtureRun(c.run, {"./" + c.package}, c.memory, "1Gi");
    run["spec"]["profiling"]["heapInterval"] = "100ms";
    if (c.package == "parallelspike") run["spec"]["goTest"]["parallel"] = 8;
    if (c.package == "compileheavy") {
      run["spec"]["goTest"]["flags"] = {"-gcflags=gotestrun.dev/fixtures/memory/compileheavy=-D=" + unique};
    }
    auto created = client_->Create(kGoTestRuns, ns_, run);
    ASSERT_TRUE(created.ok()) << created.status();
  }
  for (const Case& c : cases) {
    const Json last = WaitForEnd(c.run);
    const Json& status = last.value("status", Json::object());
    EXPECT_EQ(status.value("phase", ""), "Succeeded") << c.run << ": " << status.dump(2);
    EXPECT_TRUE(NamesKilledPackage(status, "gotestrun.dev/fixtures/memory/" + c.package)) << status.dump(2);
    bool named = false;
    for (const Json& d : status.value("diagnosis", Json::array())) {
      if (d.value("package", "") != "gotestrun.dev/fixtures/memory/" + c.package) continue;
      named = true;
      EXPECT_TRUE(c.causes.contains(d.value("cause", ""))) << d.dump(2);
      EXPECT_FALSE(d.value("evidence", Json::array()).empty()) << d.dump(2);
    }
    EXPECT_TRUE(named) << c.package << " has no diagnosis: " << status.dump(2);
  }
}

// A run deleted while its test Pod runs: the operator deletes the Pod, the real kubelet
// stops its containers, and the run and its evidence folder go; nothing the dying
// agent writes brings the folder back.
TEST_F(RealNodeOperatorTest, DeletingARunningRunStopsItsPodAndRemovesItsFolder) {
  // stall/ scans a mapped file at its limit for minutes (the fixture README).
  auto created = client_->Create(kGoTestRuns, ns_, FixtureRun("deleted", {"./stall"}, "256Mi", "256Mi"));
  ASSERT_TRUE(created.ok()) << created.status();
  const std::string folder = profiles_ + "/" + ns_ + "/deleted";
  bool running = false;
  for (auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(5);
       !running && std::chrono::steady_clock::now() < deadline; std::this_thread::sleep_for(std::chrono::seconds(1))) {
    auto pod = client_->Get(kube::ResourceType::Pods(), ns_, "deleted-s0-a1");
    running = pod.ok() && pod->value(Json::json_pointer("/status/phase"), std::string()) == "Running";
  }
  ASSERT_TRUE(running) << "the test Pod never ran";
  std::this_thread::sleep_for(std::chrono::seconds(3));  // go test is under way
  ASSERT_TRUE(fs::exists(folder));

  const auto deleted_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(client_->Delete(kGoTestRuns, ns_, "deleted").ok());
  bool gone = false;
  for (auto deadline = deleted_at + std::chrono::seconds(90); !gone && std::chrono::steady_clock::now() < deadline;
       std::this_thread::sleep_for(std::chrono::milliseconds(500))) {
    auto pods = client_->List(kube::ResourceType::Pods(), ns_);
    bool pods_left = !pods.ok();
    if (pods.ok()) {
      for (const Json& p : pods->items) pods_left |= p["metadata"].value("name", "").rfind("deleted-", 0) == 0;
    }
    gone = !pods_left && client_->Get(kGoTestRuns, ns_, "deleted").status().code() == StatusCode::kNotFound;
  }
  EXPECT_TRUE(gone) << "the run or its Pods still exist 90 s after the delete";
  std::printf("run and Pods gone %.1f s after the delete\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - deleted_at).count());
  std::this_thread::sleep_for(std::chrono::seconds(3));
  EXPECT_FALSE(fs::exists(folder)) << "the evidence folder is still there (or was written again)";
}

// The operator as a user installs it on a single-node cluster: `helm install` of the
// chart with its image from containerd and the profiles folder on the node
// (profiles.type=hostPath); its Pods find the API server through the `kubernetes`
// Service's ClusterIP and their ServiceAccount's token, with nothing but the chart's
// RBAC. A GoTestRun applied with `kubectl apply` is OOM-killed once and converges.
TEST_F(RealNodeOperatorTest, HelmInstalledOperatorRunsAKubectlAppliedRunInTheCluster) {
  const char* tools = std::getenv("GOTESTRUN_TOOLS_BIN");
  ASSERT_TRUE(tools != nullptr && *tools != '\0') << "GOTESTRUN_TOOLS_BIN (helm) is not set; see tests/tools/build.sh";
  // The operator this test set up on the host would race the chart's for the run.
  operator_->Stop();
  operator_.reset();
  const std::string kubeconfig = RealNodeEnvironment::control_plane().kubeconfig_path();
  auto tool = [&](const std::vector<std::string>& argv) { return RunKubeTool(argv, kubeconfig, work_ + "/helm"); };

  const std::string system_ns = "gotestrun-system-" + ns_;
  const std::string image = kOperatorImage;
  auto installed = tool({std::string(tools) + "/helm", "install", "gtr", GTR_CHART_DIR, "--namespace", system_ns,
                         "--create-namespace", "--wait", "--timeout", "3m", "--set",
                         "image.repository=" + image.substr(0, image.rfind(':')), "--set",
                         "image.tag=" + image.substr(image.rfind(':') + 1), "--set", "profiles.type=hostPath", "--set",
                         "profiles.hostPath.path=" + profiles_, "--set", "watchNamespaces={" + ns_ + "}",
                         // The set-up applied the CRD, as where CRDs are managed apart.
                         "--set", "crds.enabled=false"});
  ASSERT_TRUE(installed.ok()) << installed.status();
  struct Uninstall {
    std::function<void()> f;
    ~Uninstall() { f(); }
  } uninstall{[&] {
    (void)tool({std::string(tools) + "/helm", "uninstall", "gtr", "--namespace", system_ns, "--wait"});
  }};

  // JSON is YAML.
  const std::string manifest = work_ + "/converge.yaml";
  ASSERT_TRUE(WriteFileAtomic(manifest, FixtureRun("converge", {"./leak"}, "256Mi", "1Gi").dump(2)).ok());
  auto applied = tool({"kubectl", "apply", "-f", manifest});
  ASSERT_TRUE(applied.ok()) << applied.status();
  const Json last = WaitForEnd("converge");
  const Json& status = last.value("status", Json::object());
  ASSERT_EQ(status.value("phase", ""), "Succeeded") << status.dump(2);
  EXPECT_GE(EndedAtTheLimit(status), 1) << status.dump(2);
  EXPECT_TRUE(NamesKilledPackage(status, "gotestrun.dev/fixtures/memory/leak")) << status.dump(2);

  // The operator Pods' logs, as the kubelet wrote them: in-cluster config through the
  // Service IP, and nothing refused.
  auto pods =
      client_->List(kube::ResourceType::Pods(), system_ns, {.label_selector = "app.kubernetes.io/instance=gtr"});
  ASSERT_TRUE(pods.ok()) << pods.status();
  ASSERT_FALSE(pods->items.empty());
  int in_cluster = 0;
  for (const Json& pod : pods->items) {
    const std::string prefix = system_ns + "_" + pod["metadata"].value("name", "") + "_";
    for (const auto& entry : fs::recursive_directory_iterator(RealNodeEnvironment::node().dir() + "/pod-logs")) {
      if (!entry.is_regular_file() || entry.path().parent_path().parent_path().filename().string().rfind(prefix, 0))
        continue;
      auto log = ReadFile(entry.path().string(), 64 << 20);
      ASSERT_TRUE(log.ok()) << log.status();
      EXPECT_EQ(log->find("forbidden"), std::string::npos) << entry.path() << ":\n" << *log;
      in_cluster += log->find(
                        "API server https://10.0.0.1:443, credentials: token from "
                        "/var/run/secrets/kubernetes.io/serviceaccount/token") != std::string::npos;
    }
  }
  EXPECT_EQ(in_cluster, static_cast<int>(pods->items.size())) << "operator Pods whose log says they ran in-cluster";
}

}  // namespace
}  // namespace gotestrun::testing
