// The operator as the chart deploys it: `helm install` into a real control plane (with
// the controller manager, which turns the Deployment into Pods, and the ServiceAccount
// admission plugin, which gives them their token volume); the test node runs those
// Pods, mapping the chart's image to the operator and agent built here, with the
// projected service-account token and the in-cluster environment. The operator so
// started knows nothing but what the chart gives it: no kubeconfig, only the chart's
// RBAC. A GoTestRun applied with `kubectl apply -f` is OOM-killed once and converges.
//
// The second test reads the chart's RBAC the other way: every verb of every rule the
// chart grants is one the operator uses. Each is taken away in turn from the rendered
// ClusterRole (and the leader-election Role), the operator Pods are started again
// under what is left, and the operator's log must name the refused verb and resource.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <sstream>

#include "base/files.h"
#include "sandbox/child_process.h"
#include "tests/e2e/fixture_run.h"
#include "tests/node/test_node.h"
#include "tests/support/cluster_fixture.h"
#include "tests/support/kube_tools.h"
#include "tests/support/run_status.h"

namespace gotestrun::testing {
namespace {

namespace fs = std::filesystem;
using kube::Json;
using kube::ResourceType;

const bool kInstalled =
    (ClusterEnvironment::Install(
         {.controller_manager = true, .admission_plugins = {"ServiceAccount", "OwnerReferencesPermissionEnforcement"}}),
     true);

const ResourceType kDeployments{"apps", "v1", "deployments", true};
const ResourceType kClusterRoles{"rbac.authorization.k8s.io", "v1", "clusterroles", false};
const ResourceType kRoles{"rbac.authorization.k8s.io", "v1", "roles", true};

// The chart's image, as the test node maps it: the operator image carries both
// binaries in /usr/local/bin (image/Dockerfile).
constexpr char kImage[] = "gotestrun.test/gotestrun-operator:e2e";
constexpr char kSystemNs[] = "gotestrun-system";
constexpr char kRelease[] = "gtr";
constexpr char kFullname[] = "gtr-gotestrun-operator";

std::string ToolsBin() {
  const char* t = std::getenv("GOTESTRUN_TOOLS_BIN");
  return t != nullptr ? t : "";
}

class InClusterE2e : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(ToolsBin().empty()) << "GOTESTRUN_TOOLS_BIN (helm) is not set; see tests/tools/build.sh";
    client_ = AdminClient();
    std::string t = (fs::temp_directory_path() / "gotestrun-incluster-XXXXXX").string();
    work_ = ::mkdtemp(t.data());
    // The image's /usr/local/bin on this machine: the binaries built here.
    fs::create_directories(work_ + "/image/usr/local/bin");
    fs::create_symlink(GTR_OPERATOR_BIN, work_ + "/image/usr/local/bin/gotestrun-operator");
    fs::create_symlink(GTR_AGENT_BIN, work_ + "/image/usr/local/bin/gotestrun-agent");
    profiles_ = work_ + "/profiles";
    fs::create_directories(profiles_);
    const ControlPlane& cp = ClusterEnvironment::control_plane();
    node_ = std::make_unique<TestNode>(
        *client_, TestNodeOptions{.node_name = "incluster",
                                  .work_dir = work_ + "/node",
                                  .claim_folders = {{"workspace", GTR_FIXTURES_DIR}, {"gotestrun-profiles", profiles_}},
                                  .images = {{kImage,
                                              {.entrypoint = {"/usr/local/bin/gotestrun-operator"},
                                               .folders = {{"/usr/local/bin", work_ + "/image/usr/local/bin"}}}}},
                                  // The serving certificate names 127.0.0.1 (tests/support/control_plane.cc).
                                  .api_server_host = "127.0.0.1",
                                  .api_server_port = cp.apiserver_port()});
    ASSERT_TRUE(node_->Start().ok());
  }

  void TearDown() override {
    if (client_ == nullptr) return;
    if (HasFailure()) {
      for (const auto& [pod, log] : OperatorLogs()) {
        std::cerr << "---- " << pod << " (tail) ----\n" << log.substr(log.size() > 4000 ? log.size() - 4000 : 0);
      }
    }
    // The next test installs the release again; its Pods end while the node still runs them.
    (void)Tool({ToolsBin() + "/helm", "uninstall", kRelease, "--namespace", kSystemNs});
    Eventually([&] { return OperatorPods(false).empty(); }, std::chrono::seconds(60));
    node_.reset();
    if (std::getenv("GOTESTRUN_KEEP_E2E") == nullptr) fs::remove_all(work_);
  }

  // helm or kubectl against the test control plane; stdout, or the failure with stderr.
  StatusOr<std::string> Tool(std::vector<std::string> argv) {
    return RunKubeTool(argv, ClusterEnvironment::control_plane().kubeconfig_path(), work_ + "/helm");
  }

  // helm install of the chart with values that fit this machine.
  Status HelmInstall(const std::vector<std::string>& extra) {
    std::string image = kImage;
    std::vector<std::string> argv = {ToolsBin() + "/helm", "install", kRelease, GTR_CHART_DIR, "--namespace", kSystemNs,
                                     "--create-namespace", "--set",
                                     "image.repository=" + image.substr(0, image.rfind(':')), "--set",
                                     "image.tag=" + image.substr(image.rfind(':') + 1),
                                     // No provisioner: the test node maps the claim to a folder by its name.
                                     "--set", "profiles.claim.storageClassName=standard",
                                     // Both replicas share this machine's network: only one could listen on 8080.
                                     "--set", "extraArgs={--http-port=0}"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return Tool(argv).status();
  }

  // The operator Pods of the release, by name.
  std::vector<Json> OperatorPods(bool running_only) {
    std::vector<Json> out;
    auto pods = client_->List(ResourceType::Pods(), kSystemNs,
                              {.label_selector = "app.kubernetes.io/instance=" + std::string(kRelease)});
    if (!pods.ok()) return out;
    for (const Json& p : pods->items) {
      if (!kube::MetaString(p, "deletionTimestamp").empty()) continue;
      if (running_only && p["status"].value("phase", "") != "Running") continue;
      out.push_back(p);
    }
    return out;
  }

  // Each operator Pod's container log, as the test node keeps it.
  std::map<std::string, std::string> OperatorLogs() {
    std::map<std::string, std::string> logs;
    for (const Json& p : OperatorPods(false)) {
      auto log = ReadFile(work_ + "/node/pods/" + kube::MetaString(p, "uid") + "/operator.log", 64 << 20);
      if (log.ok()) logs[kube::MetaString(p, "name")] = *log;
    }
    return logs;
  }

  std::string LeaseHolder() {
    auto lease = client_->Get(ResourceType::Leases(), kSystemNs, "gotestrun-operator");
    return lease.ok() ? (*lease)["spec"].value("holderIdentity", "") : "";
  }

  // A GoTestRun of the fixture module as YAML, applied with kubectl.
  Status ApplyRun(const std::string& ns, const std::string& name, const std::vector<std::string>& packages,
                  const std::string& memory) {
    const Json run = FixtureRun(ns, name, packages, memory, "1Gi");
    const std::string file = work_ + "/" + name + ".yaml";
    GTR_RETURN_IF_ERROR(WriteFileAtomic(file, run.dump(2)));  // JSON is YAML
    return Tool({"kubectl", "apply", "-f", file}).status();
  }

  Json WaitForEnd(const std::string& ns, const std::string& name, std::chrono::milliseconds timeout) {
    Json last;
    Eventually(
        [&] {
          auto r = client_->Get(kGoTestRuns, ns, name);
          if (!r.ok()) return false;
          last = *r;
          std::string phase = last.contains("status") ? last["status"].value("phase", "") : "";
          return phase == "Succeeded" || phase == "Failed";
        },
        timeout);
    return last;
  }

  Status CreateNamespace(const std::string& ns) {
    auto r = client_->Create(ResourceType::Namespaces(), "",
                             {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns}}}});
    return r.ok() || r.status().code() == StatusCode::kAlreadyExists ? Status::Ok() : r.status();
  }

  std::unique_ptr<kube::Client> client_;
  std::string work_, profiles_;
  std::unique_ptr<TestNode> node_;
};

TEST_F(InClusterE2e, HelmInstalledReplicasRunAKubectlAppliedRunToItsEnd) {
  ASSERT_TRUE(HelmInstall({}).ok()) << HelmInstall({});
  // Two replicas running from the rendered Deployment; one of them leads.
  std::vector<Json> pods;
  ASSERT_TRUE(Eventually([&] { return (pods = OperatorPods(true)).size() == 2 && !LeaseHolder().empty(); },
                         std::chrono::minutes(2)))
      << "running operator pods: " << pods.size() << ", lease holder '" << LeaseHolder() << "'";
  std::set<std::string> names;
  for (const Json& p : pods) {
    names.insert(kube::MetaString(p, "name"));
    // What the ServiceAccount admission plugin gave it, and the test node provided.
    bool token_volume = false;
    for (const Json& v : p["spec"]["volumes"]) token_volume |= v.contains("projected");
    EXPECT_TRUE(token_volume) << p["spec"].dump();
    EXPECT_EQ(p["spec"]["containers"][0].value("image", ""), kImage);
    EXPECT_FALSE(p["spec"]["containers"][0].contains("command")) << "the image's entrypoint runs";
  }
  // --identity=$(POD_NAME): the holder is one of the two Pods by name.
  EXPECT_TRUE(names.contains(LeaseHolder())) << LeaseHolder();

  const std::string ns = "incluster-run";
  ASSERT_TRUE(CreateNamespace(ns).ok());
  // leak/ needs ~330 MiB (tests/fixtures/memory/README.md): 256Mi is OOM-killed, and
  // the retry with more memory passes.
  const std::string leak = "gotestrun.dev/fixtures/memory/leak";
  Status applied = ApplyRun(ns, "converge", {"./leak"}, "256Mi");
  ASSERT_TRUE(applied.ok()) << applied;
  Json run = WaitForEnd(ns, "converge", std::chrono::minutes(8));
  const Json& status = run["status"];
  ASSERT_EQ(status.value("phase", ""), "Succeeded") << status.dump(2);
  EXPECT_GE(EndedAtTheLimit(status), 1) << status.dump(2);
  bool diagnosed = false;
  for (const Json& d : status["diagnosis"]) diagnosed |= d.value("package", "") == leak;
  EXPECT_TRUE(diagnosed) << status.dump(2);

  // Everything above was done in-cluster under the chart's grants, and nothing was refused.
  const std::string in_cluster =
      "API server https://127.0.0.1:" + std::to_string(ClusterEnvironment::control_plane().apiserver_port()) +
      ", credentials: token from " + kServiceAccountDir + "/token";
  auto logs = OperatorLogs();
  EXPECT_EQ(logs.size(), 2u);
  for (const auto& [pod, log] : logs) {
    EXPECT_NE(log.find(in_cluster), std::string::npos) << pod << ":\n" << log;
    EXPECT_EQ(log.find("forbidden"), std::string::npos) << pod << ":\n" << log;
  }
}

// One verb of one rule of the chart's RBAC.
struct Grant {
  ResourceType role_type;  // the ClusterRole, or the leader-election Role
  std::string role_ns, role_name;
  size_t rule = 0;
  std::string verb;
  std::string resource;  // as a refusal names it: "gotestruns/status"
};

// A Role or ClusterRole with one verb of one rule taken away (the rule too when it
// had no other verb).
Json Without(Json role, size_t rule, const std::string& verb) {
  Json verbs = Json::array();
  for (const Json& v : role["rules"][rule]["verbs"]) {
    if (v != verb) verbs.push_back(v);
  }
  if (verbs.empty()) {
    role["rules"].erase(rule);
  } else {
    role["rules"][rule]["verbs"] = verbs;
  }
  return role;
}

TEST_F(InClusterE2e, EveryVerbTheChartGrantsIsOneTheOperatorUses) {
  // One replica: the one running is the one refused. Tekton's and Argo's rules are
  // left out: their kinds are not served here, so the operator has no use for them.
  Status installed = HelmInstall({"--set", "replicaCount=1", "--set", "rbac.tekton=false", "--set", "rbac.argo=false"});
  ASSERT_TRUE(installed.ok()) << installed;
  ASSERT_TRUE(
      Eventually([&] { return OperatorPods(true).size() == 1 && !LeaseHolder().empty(); }, std::chrono::minutes(2)));

  std::vector<Grant> grants;
  std::map<std::string, Json> originals;  // by role name
  auto collect = [&](const ResourceType& type, const std::string& role_ns, const std::string& name) {
    auto role = client_->Get(type, role_ns, name);
    ASSERT_TRUE(role.ok()) << role.status();
    originals[name] = *role;
    for (size_t i = 0; i < (*role)["rules"].size(); ++i) {
      const Json& rule = (*role)["rules"][i];
      for (const Json& resource : rule["resources"]) {
        for (const Json& verb : rule["verbs"]) {
          grants.push_back({type, role_ns, name, i, verb.get<std::string>(), resource.get<std::string>()});
        }
      }
      ASSERT_EQ(rule["resources"].size(), 1u) << "one resource per rule, so that one verb names one grant";
    }
  };
  collect(kClusterRoles, "", kFullname);
  collect(kRoles, kSystemNs, std::string(kFullname) + "-leader-election");
  ASSERT_GE(grants.size(), 15u);

  // Nothing beyond those rules: what the API server says the ServiceAccount may do,
  // where it runs and where its runs are, is the rules above and the self-reviews every
  // authenticated user has (system:basic-user).
  std::set<std::string> granted;
  for (const Grant& g : grants) granted.insert(g.verb + " " + g.resource);
  ASSERT_TRUE(CreateNamespace("rbac-list").ok());
  std::set<std::string> listed;
  for (const char* ns : {kSystemNs, "rbac-list"}) {
    auto list = Tool({"kubectl", "auth", "can-i", "--list", "-n", ns,
                      "--as=system:serviceaccount:" + std::string(kSystemNs) + ":" + kFullname});
    ASSERT_TRUE(list.ok()) << list.status();
    std::istringstream lines(*list);
    std::string line;
    std::getline(lines, line);  // the header
    while (std::getline(lines, line)) {
      if (line.empty() || line[0] == ' ') continue;  // non-resource URLs (discovery, health)
      std::string resource = line.substr(0, line.find(' '));
      if (resource.starts_with("selfsubject")) continue;
      // "gotestruns.gotestrun.dev/status" -> "gotestruns/status"
      size_t slash = resource.find('/');
      std::string sub = slash == std::string::npos ? "" : resource.substr(slash);
      resource = resource.substr(0, std::min(resource.find('.'), slash)) + sub;
      std::istringstream verbs(line.substr(line.rfind('[') + 1, line.rfind(']') - line.rfind('[') - 1));
      for (std::string verb; verbs >> verb;) {
        EXPECT_TRUE(granted.contains(verb + " " + resource)) << "in " << ns << ": " << line;
        listed.insert(verb + " " + resource);
      }
    }
  }
  EXPECT_EQ(listed, granted);

  std::vector<std::string> unused;
  int n = 0;
  for (const Grant& g : grants) {
    SCOPED_TRACE(g.role_name + " rule " + std::to_string(g.rule) + ": " + g.verb + " " + g.resource);
    const std::string what = g.verb + " " + g.resource;
    // A fresh operator under what is left, its informers listing and watching from the
    // start, campaigning for a Lease nobody holds: the Deployment scaled to none, the
    // Lease removed, the grant taken away, and scaled to one again.
    auto scale = [&](int replicas) {
      return client_->MergePatch(kDeployments, kSystemNs, kFullname, {{"spec", {{"replicas", replicas}}}}).status();
    };
    ASSERT_TRUE(scale(0).ok());
    ASSERT_TRUE(Eventually(
        [&] {
          auto pods = client_->List(ResourceType::Pods(), kSystemNs,
                                    {.label_selector = "app.kubernetes.io/instance=" + std::string(kRelease)});
          return pods.ok() && pods->items.empty();
        },
        std::chrono::seconds(60)));
    Status gone = client_->Delete(ResourceType::Leases(), kSystemNs, "gotestrun-operator");
    ASSERT_TRUE(gone.ok() || gone.code() == StatusCode::kNotFound) << gone;
    auto reduced = client_->Update(g.role_type, Without(originals[g.role_name], g.rule, g.verb));
    ASSERT_TRUE(reduced.ok()) << reduced.status();
    ASSERT_TRUE(scale(1).ok());
    std::string uid;
    ASSERT_TRUE(Eventually(
        [&] {
          auto pods = OperatorPods(true);
          if (pods.size() != 1) return false;
          uid = kube::MetaString(pods[0], "uid");
          return true;
        },
        std::chrono::minutes(1)))
        << "no new operator Pod";
    // The refusal as kube-apiserver words it, in the operator's log. update on an
    // owner's finalizers is asked for by OwnerReferencesPermissionEnforcement when a Pod
    // is created with blockOwnerDeletion, and refused in its own words.
    const std::string refusal = g.resource.ends_with("/finalizers")
                                    ? "can't set finalizers on"
                                    : "cannot " + g.verb + " resource \"" + g.resource + "\"";
    auto refused = [&] {
      auto log = ReadFile(work_ + "/node/pods/" + uid + "/operator.log", 64 << 20);
      return log.ok() && log->find(refusal) != std::string::npos;
    };
    // What the operator does for a run: plan it, run it, record the suite's history
    // (created by the first run, updated by the second), report events, and clean up
    // when a run is deleted.
    const std::string ns = "rbac-" + std::to_string(n++);
    ASSERT_TRUE(CreateNamespace(ns).ok());
    for (const char* name : {"first", "second"}) {
      if (refused()) break;
      ASSERT_TRUE(ApplyRun(ns, name, {"./clean/a"}, "256Mi").ok());
      Eventually(
          [&] {
            auto r = client_->Get(kGoTestRuns, ns, name);
            std::string phase = r.ok() && r->contains("status") ? (*r)["status"].value("phase", "") : "";
            return refused() || phase == "Succeeded" || phase == "Failed";
          },
          std::chrono::seconds(40));
    }
    if (!refused()) {
      (void)client_->Delete(kGoTestRuns, ns, "first");
      Eventually(refused, std::chrono::seconds(20));
    }
    if (!refused()) unused.push_back(what);
    EXPECT_TRUE(refused()) << "with " << what << " taken away, the operator's log never says \"" << refusal
                           << "\": the chart grants something the operator does not use";
    Json original = originals[g.role_name];
    original["metadata"]["resourceVersion"] = (*reduced)["metadata"]["resourceVersion"];
    auto restored = client_->Update(g.role_type, original);
    ASSERT_TRUE(restored.ok()) << restored.status();
    originals[g.role_name] = *restored;
  }
  EXPECT_TRUE(unused.empty()) << ::testing::PrintToString(unused);
}

}  // namespace
}  // namespace gotestrun::testing
