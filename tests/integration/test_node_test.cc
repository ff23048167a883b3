// The test node against a real kube-apiserver: Pods bound, run, reported as a kubelet
// would, OOM kills seen by the kernel reported as OOMKilled, deletion kills the tree.
#include "tests/node/test_node.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "base/files.h"
#include "base/timestamps.h"
#include "tests/support/cluster_fixture.h"

namespace gotestrun::testing {
namespace {

using kube::Json;
using kube::ResourceType;

const bool kInstalled = (ClusterEnvironment::Install(), true);

class TestNodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    client_ = AdminClient();
    ns_ = TestNamespace(*client_);
    std::string t = (std::filesystem::temp_directory_path() / "test-node-XXXXXX").string();
    work_ = ::mkdtemp(t.data());
    std::filesystem::create_directories(work_ + "/claims/shared");
    node_ =
        std::make_unique<TestNode>(*client_, TestNodeOptions{.node_name = "node-" + ns_.substr(0, 40),
                                                             .work_dir = work_ + "/node",
                                                             .claim_folders = {{"shared", work_ + "/claims/shared"}}});
    ASSERT_TRUE(node_->Start().ok());
  }
  void TearDown() override {
    node_.reset();
    std::filesystem::remove_all(work_);
  }

  Json Pod(const std::string& name, const std::vector<std::string>& command, const std::string& memory = "") {
    Json c = {{"name", "main"},
              {"image", "unused"},
              {"command", command},
              {"volumeMounts",
               {{{"name", "scratch"}, {"mountPath", "/scratch"}}, {{"name", "shared"}, {"mountPath", "/shared"}}}}};
    if (!memory.empty()) c["resources"] = {{"limits", {{"memory", memory}}}};
    return {{"apiVersion", "v1"},
            {"kind", "Pod"},
            {"metadata", {{"name", name}, {"namespace", ns_}}},
            {"spec",
             {{"restartPolicy", "Never"},
              {"containers", {c}},
              {"volumes",
               {{{"name", "scratch"}, {"emptyDir", Json::object()}},
                {{"name", "shared"}, {"persistentVolumeClaim", {{"claimName", "shared"}}}}}}}}};
  }

  Json WaitForPhase(const std::string& name, const std::set<std::string>& phases) {
    Json last;
    Eventually(
        [&] {
          auto p = client_->Get(ResourceType::Pods(), ns_, name);
          if (!p.ok()) return false;
          last = *p;
          return phases.contains(last["status"].value("phase", ""));
        },
        std::chrono::seconds(60));
    return last;
  }

  std::unique_ptr<kube::Client> client_;
  std::string ns_, work_;
  std::unique_ptr<TestNode> node_;
};

TEST_F(TestNodeTest, RunsAPodWithInitContainerAndVolumes) {
  Json pod = Pod("hello", {"sh", "-c", "cat /scratch/from-init > /shared/out.txt && echo done"});
  pod["spec"]["initContainers"] = {{{"name", "init"},
                                    {"image", "unused"},
                                    {"command", {"sh", "-c", "echo from-init > /scratch/from-init"}},
                                    {"volumeMounts", {{{"name", "scratch"}, {"mountPath", "/scratch"}}}}}};
  ASSERT_TRUE(client_->Create(ResourceType::Pods(), ns_, pod).ok());
  Json done = WaitForPhase("hello", {"Succeeded", "Failed"});
  EXPECT_EQ(done["status"]["phase"], "Succeeded") << done["status"].dump();
  EXPECT_EQ(done["spec"]["nodeName"], "node-" + ns_.substr(0, 40));
  EXPECT_EQ(done["status"]["containerStatuses"][0]["state"]["terminated"]["reason"], "Completed");
  EXPECT_EQ(done["status"]["initContainerStatuses"][0]["state"]["terminated"]["exitCode"], 0);
  auto out = ReadFile(work_ + "/claims/shared/out.txt");
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, "from-init\n");
}

// As the real kubelet reports it (tests/e2e/real_node_oom_test.cc): an init container
// that fails fails the Pod, and the containers that never started wait with
// PodInitializing.
TEST_F(TestNodeTest, AFailedInitContainerLeavesTheContainersWaiting) {
  Json pod = Pod("init-fails", {"sh", "-c", "echo never"});
  pod["spec"]["initContainers"] = {{{"name", "init"}, {"image", "unused"}, {"command", {"sh", "-c", "exit 4"}}}};
  ASSERT_TRUE(client_->Create(ResourceType::Pods(), ns_, pod).ok());
  Json done = WaitForPhase("init-fails", {"Succeeded", "Failed"});
  EXPECT_EQ(done["status"]["phase"], "Failed");
  EXPECT_EQ(done["status"]["initContainerStatuses"][0]["state"]["terminated"]["exitCode"], 4);
  const Json& main = done["status"]["containerStatuses"][0];
  EXPECT_EQ(main.value("name", ""), "main");
  EXPECT_EQ(main["state"]["waiting"].value("reason", ""), "PodInitializing") << done["status"].dump();
}

TEST_F(TestNodeTest, AKernelOomKillIsReportedAsOOMKilled) {
  // Writes 300 MiB under a 100 MiB limit: the kernel ends it.
  ASSERT_TRUE(client_
                  ->Create(ResourceType::Pods(), ns_,
                           Pod("hog", {"python3", "-c", "x = b'x' * (300 << 20); print(len(x))"}, "100Mi"))
                  .ok());
  Json done = WaitForPhase("hog", {"Succeeded", "Failed"});
  EXPECT_EQ(done["status"]["phase"], "Failed");
  const Json& t = done["status"]["containerStatuses"][0]["state"]["terminated"];
  EXPECT_EQ(t["reason"], "OOMKilled") << t.dump();
  EXPECT_EQ(t["exitCode"], 137);
}

TEST_F(TestNodeTest, FailingCommandIsAnErrorNotAnOom) {
  ASSERT_TRUE(client_->Create(ResourceType::Pods(), ns_, Pod("fails", {"sh", "-c", "exit 3"}, "100Mi")).ok());
  Json done = WaitForPhase("fails", {"Succeeded", "Failed"});
  const Json& t = done["status"]["containerStatuses"][0]["state"]["terminated"];
  EXPECT_EQ(t["reason"], "Error");
  EXPECT_EQ(t["exitCode"], 3);
}

TEST_F(TestNodeTest, DeletingAPodKillsItsProcessTree) {
  std::string marker = work_ + "/claims/shared/pid";
  ASSERT_TRUE(
      client_
          ->Create(ResourceType::Pods(), ns_, Pod("sleeper", {"sh", "-c", "sleep 1000 & echo $! > /shared/pid; wait"}))
          .ok());
  WaitForPhase("sleeper", {"Running"});
  ASSERT_TRUE(Eventually([&] { return ReadFile(marker).ok() && !ReadFile(marker)->empty(); }));
  pid_t child = std::stoi(*ReadFile(marker));
  ASSERT_TRUE(client_->Delete(ResourceType::Pods(), ns_, "sleeper").ok());
  EXPECT_TRUE(Eventually(
      [&] { return client_->Get(ResourceType::Pods(), ns_, "sleeper").status().code() == StatusCode::kNotFound; }));
  EXPECT_TRUE(Eventually([&] { return ::kill(child, 0) != 0; })) << "the grandchild sleep is still alive";
}

TEST_F(TestNodeTest, PodsBeyondItsBoundWaitPendingUntilOneEnds) {
  node_.reset();  // this node takes one Pod at a time
  node_ = std::make_unique<TestNode>(*client_, TestNodeOptions{.node_name = "node-" + ns_.substr(0, 40),
                                                               .work_dir = work_ + "/node",
                                                               .claim_folders = {{"shared", work_ + "/claims/shared"}},
                                                               .max_running_pods = 1});
  ASSERT_TRUE(node_->Start().ok());
  ASSERT_TRUE(client_->Create(ResourceType::Pods(), ns_, Pod("first", {"sh", "-c", "sleep 2"})).ok());
  WaitForPhase("first", {"Running"});
  ASSERT_TRUE(client_->Create(ResourceType::Pods(), ns_, Pod("second", {"sh", "-c", "true"})).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  auto waiting = client_->Get(ResourceType::Pods(), ns_, "second");
  ASSERT_TRUE(waiting.ok());
  EXPECT_EQ(waiting->value(Json::json_pointer("/status/phase"), std::string("Pending")), "Pending");
  EXPECT_FALSE(waiting->contains(Json::json_pointer("/status/startTime"))) << "it has not started on the node";
  Json first = WaitForPhase("first", {"Succeeded", "Failed"});
  Json second = WaitForPhase("second", {"Succeeded", "Failed"});
  EXPECT_EQ(second["status"]["phase"], "Succeeded");
  auto first_end = ParseRfc3339(first["status"]["containerStatuses"][0]["state"]["terminated"].value("finishedAt", ""));
  auto second_start = ParseRfc3339(second["status"].value("startTime", ""));
  ASSERT_TRUE(first_end && second_start);
  EXPECT_GE(*second_start, *first_end);
}

TEST(PathRewrite, WholeComponentsOnly) {
  std::vector<PathRewrite> r = {{"/gotestrun/bin", "/h/bin"}, {"/data", "/h/data"}};
  EXPECT_EQ(RewritePaths("/data", r), "/h/data");
  EXPECT_EQ(RewritePaths("/data/x/y", r), "/h/data/x/y");
  EXPECT_EQ(RewritePaths("/database", r), "/database");
  EXPECT_EQ(RewritePaths("--dir=/data/s0", r), "--dir=/h/data/s0");
  EXPECT_EQ(RewritePaths("PATH=/usr/bin:/gotestrun/bin", r), "PATH=/usr/bin:/h/bin");
  EXPECT_EQ(RewritePaths("x/data", r), "x/data");
}

TEST(EnvReferences, ExpandedAsAKubeletDoes) {
  std::vector<std::string> env = {"POD_NAME=op-1", "A=x", "A=y"};
  EXPECT_EQ(ExpandEnvReferences("--identity=$(POD_NAME)", env), "--identity=op-1");
  EXPECT_EQ(ExpandEnvReferences("$(A)/$(A)", env), "y/y");  // the last definition wins
  EXPECT_EQ(ExpandEnvReferences("$(MISSING) $$(POD_NAME) $", env), "$(MISSING) $(POD_NAME) $");
  EXPECT_EQ(ExpandEnvReferences("$(POD_NAME", env), "$(POD_NAME");
}

}  // namespace
}  // namespace gotestrun::testing
