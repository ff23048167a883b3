// A test node: a stand-in kubelet for machines without a container runtime.
//
// It registers a real Node, binds unscheduled Pods to itself (there is no scheduler in
// the test control plane), and runs each Pod bound to it as local processes: the init
// containers one after another, then the container, each in a memory cgroup at the
// container's limit (the process sandbox). It reports container states and the Pod's
// phase through the API as a kubelet does; a container whose cgroup saw an OOM kill is
// `terminated.reason: OOMKilled` with the exit code of its top process (137 when that
// was the one killed). Deleting a Pod kills its process tree.
//
// Images are not pulled: commands run on the host. Volumes become host folders
// (emptyDir: a folder per Pod; persistentVolumeClaim: a folder given per claim;
// hostPath: itself), and since there is no mount namespace, every mountPath that
// appears in the command, arguments, working directory or environment is rewritten to
// its host folder. One container per Pod; other volume kinds and env sources fail the
// Pod with a message saying so. securityContext (runAsUser, capabilities, seccomp) is
// not applied: every process runs as the test node's own user, which owns the host
// folders the volumes stand for; switching to runAsUser would need root and leave the
// Pod unable to write them. activeDeadlineSeconds is not enforced either.
//
// Fast mode (TestNodeOptions::canned): no process runs. Init containers complete at
// once; the agent's `list` writes the captured plan and its `run` waits `canned_run_time`,
// leaves the captured evidence of the same packages in its --dir and ends as that
// attempt ended (Completed, or OOMKilled with exit code 137 for a first attempt at or
// under the limit the capture was killed at). Statuses go through the API exactly as
// for a Pod that ran, so a load on the operator costs no Go builds or tests.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "kube/client/client.h"
#include "kube/runtime/controller.h"
#include "sandbox/sandbox.h"
#include "tests/node/canned_evidence.h"

namespace gotestrun::testing {

struct TestNodeOptions {
  std::string node_name = "test-node";
  std::string work_dir;                              // per-Pod folders (emptyDirs, logs)
  std::map<std::string, std::string> claim_folders;  // PVC claimName -> host folder
  std::string memory_capacity = "16Gi";
  std::string cpu_capacity = "2";
  std::shared_ptr<const CannedEvidence> canned;  // set: fast mode (above)
  std::chrono::milliseconds canned_run_time{500};
};

// How a volume mount is seen on the host; exposed for tests.
struct PathRewrite {
  std::string mount_path;
  std::string host_path;
};
std::string RewritePaths(const std::string& value, const std::vector<PathRewrite>& rewrites);

class TestNode : private runtime::Reconciler {
 public:
  TestNode(kube::Client& client, TestNodeOptions options);
  ~TestNode() override;

  Status Start();
  // Kills every running Pod process and stops watching.
  void Stop();

  int pods_started() const { return pods_started_.load(); }

 private:
  struct RunningPod {
    std::thread thread;
    std::atomic<bool> stop{false};
    std::atomic<bool> done{false};
  };

  StatusOr<runtime::ReconcileResult> Reconcile(const std::string& key, uint64_t reconcile_id) override;
  Status RegisterNode();
  Status Bind(const kube::Json& pod);
  void RunPod(kube::Json pod, RunningPod* running);
  // Fast mode's stand-in for running a container's command.
  sandbox::RunResult Replay(const sandbox::RunOptions& run);
  // Logs a failure: a status the API did not take is written again with the next change.
  void PatchStatus(const kube::Json& pod, const kube::Json& status);

  kube::Client& client_;
  TestNodeOptions options_;
  sandbox::Sandbox sandbox_;
  std::unique_ptr<runtime::Informer> pods_;
  std::unique_ptr<runtime::Controller> controller_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<RunningPod>> running_;  // by Pod uid
  std::atomic<int> pods_started_{0};
};

}  // namespace gotestrun::testing
