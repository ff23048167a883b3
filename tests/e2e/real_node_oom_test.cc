// OOM kills as a real node reports them: kubelet, containerd and runc on this machine
// (tests/realnode), containers in memory cgroups at their limits, killed by the
// kernel. Each test runs one Pod in one of the shapes the operator must read, checks
// the status the kubelet wrote, and reads it with the operator's own code
// (ContainerEndOf). The memory is taken by busybox's dd, whose block buffer is
// allocated and filled at once: 256 MiB under a 64 MiB limit is killed every time.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "controllers/gotestrun/pods.h"
#include "kube/client/client.h"
#include "tests/realnode/real_node_environment.h"

namespace gotestrun::testing {
namespace {

using kube::Json;

const bool kInstalled = (::testing::AddGlobalTestEnvironment(new RealNodeEnvironment({}, {})), true);

class RealNodeOomTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RealNodeEnvironment::RequireNode();
    if (IsSkipped() || HasFatalFailure()) return;
    auto c = kube::Client::Create(RealNodeEnvironment::control_plane().AdminConfig());
    ASSERT_TRUE(c.ok()) << c.status();
    client_ = std::move(*c);
  }

  Json Container(const std::string& name, std::vector<std::string> command) {
    return {{"name", name},
            {"image", RealNodeEnvironment::node().go_image()},
            {"imagePullPolicy", "IfNotPresent"},
            {"command", std::move(command)},
            {"resources", {{"limits", {{"memory", "64Mi"}}}}}};
  }

  // Creates the Pod on the real node and returns it once it has ended.
  Json RunToEnd(const std::string& name, Json spec) {
    spec["nodeName"] = RealNodeEnvironment::node().node_name();
    spec["restartPolicy"] = "Never";
    spec["automountServiceAccountToken"] = false;
    Json pod = {{"apiVersion", "v1"},
                {"kind", "Pod"},
                {"metadata", {{"name", name}, {"namespace", "default"}}},
                {"spec", std::move(spec)}};
    auto created = client_->Create(kube::ResourceType::Pods(), "default", pod);
    EXPECT_TRUE(created.ok()) << created.status();
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(180);
    Json last;
    while (std::chrono::steady_clock::now() < deadline) {
      auto got = client_->Get(kube::ResourceType::Pods(), "default", name);
      if (got.ok()) {
        last = *got;
        if (controllers::PodFinished(last)) return last;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    ADD_FAILURE() << "Pod " << name << " did not end within 180 s: " << last.dump();
    return last;
  }

  static Json Terminated(const Json& pod, const char* statuses) {
    const Json& status = pod.value("status", Json::object());
    if (!status.contains(statuses) || status[statuses].empty()) return Json();
    return status[statuses][0]["state"].value("terminated", Json());
  }

  std::unique_ptr<kube::Client> client_;
};

// The container's first process is the one killed: Failed, OOMKilled, 137.
TEST_F(RealNodeOomTest, FirstProcessKilledIsOomKilledWithExitCode137) {
  Json pod =
      RunToEnd("oom-first",
               {{"containers", {Container("go-test", {"dd", "if=/dev/zero", "of=/dev/null", "bs=256M", "count=1"})}}});
  EXPECT_EQ(pod["status"].value("phase", ""), "Failed") << pod["status"].dump();
  Json t = Terminated(pod, "containerStatuses");
  ASSERT_TRUE(t.is_object()) << pod["status"].dump();
  EXPECT_EQ(t.value("reason", ""), "OOMKilled");
  EXPECT_EQ(t.value("exitCode", -1), 137);

  engine::ContainerEnd end = controllers::ContainerEndOf(pod);
  EXPECT_TRUE(end.oom_killed);
  EXPECT_EQ(end.exit_code, 137);
}

// A child is killed and the first process lives on (go test and its test binary): on
// cgroup v1 the kernel kills only the child. The shell exits 0 only when dd died of
// SIGKILL (status 137) and it survived. containerd still reports the container
// OOMKilled, with the first process's exit code 0, and the Pod Succeeded.
TEST_F(RealNodeOomTest, ChildKilledWhileFirstProcessSurvivesIsStillOomKilled) {
  Json pod = RunToEnd(
      "oom-child",
      {{"containers",
        {Container("go-test", {"sh", "-c", "dd if=/dev/zero of=/dev/null bs=256M count=1; [ $? -eq 137 ]"})}}});
  Json t = Terminated(pod, "containerStatuses");
  ASSERT_TRUE(t.is_object()) << pod["status"].dump();
  EXPECT_EQ(t.value("exitCode", -1), 0) << "the first process did not see its child killed, or did not survive";
  EXPECT_EQ(t.value("reason", ""), "OOMKilled");
  EXPECT_EQ(pod["status"].value("phase", ""), "Succeeded");

  engine::ContainerEnd end = controllers::ContainerEndOf(pod);
  EXPECT_TRUE(end.oom_killed) << "an OOM kill inside the container is an OOM kill, whatever the first process did";
  EXPECT_EQ(end.exit_code, 0);
}

// An init container is killed: the Pod fails before the test container starts, which
// the kubelet reports as waiting (PodInitializing), never terminated. The operator
// must not read it as the test container's end, but as the kill of a step before it.
TEST_F(RealNodeOomTest, InitContainerKilledFailsThePodBeforeTheTestContainer) {
  Json pod = RunToEnd(
      "oom-init",
      {{"initContainers", {Container("agent-install", {"dd", "if=/dev/zero", "of=/dev/null", "bs=256M", "count=1"})}},
       {"containers", {Container("go-test", {"true"})}}});
  EXPECT_EQ(pod["status"].value("phase", ""), "Failed") << pod["status"].dump();
  Json init = Terminated(pod, "initContainerStatuses");
  ASSERT_TRUE(init.is_object()) << pod["status"].dump();
  EXPECT_EQ(init.value("reason", ""), "OOMKilled");
  EXPECT_EQ(init.value("exitCode", -1), 137);
  const Json& main = pod["status"]["containerStatuses"][0]["state"];
  EXPECT_TRUE(main.contains("waiting")) << main.dump();
  EXPECT_EQ(main["waiting"].value("reason", ""), "PodInitializing");

  // Read as the setup's kill, not the test container's: no package ran, and the shard
  // starts again with more memory (policy/retry.h, AttemptOutcome::setup_killed).
  engine::ContainerEnd end = controllers::ContainerEndOf(pod);
  EXPECT_FALSE(end.oom_killed);
  EXPECT_FALSE(end.exit_code.has_value());
  ASSERT_TRUE(end.init_failure.has_value());
  EXPECT_EQ(end.init_failure->container, "agent-install");
  EXPECT_TRUE(end.init_failure->oom_killed);
  EXPECT_EQ(end.init_failure->exit_code, 137);
}

}  // namespace
}  // namespace gotestrun::testing
