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
// Images are not pulled. An image in TestNodeOptions::images runs as that entry says:
// its entrypoint when the container gives no command, the program looked up in the
// image's folders mapped to host folders, and only the Pod's environment (as in a
// container: nothing inherited from the test). Any other image's command runs on the
// host with the test's environment. Volumes become host folders (emptyDir: a folder per
// Pod; persistentVolumeClaim: a folder given per claim; hostPath: itself; projected: a
// folder per Pod holding its serviceAccountToken, configMap and downwardAPI files), and
// since there is no mount namespace, every mountPath that appears in the command,
// arguments, working directory or environment is rewritten to its host folder. The one
// exception is the service account folder (/var/run/secrets/kubernetes.io/serviceaccount),
// which programs open by that fixed name: a container that mounts it runs in a mount
// namespace of its own with the folder bind-mounted there (this needs root).
//
// The projected token is a real one from the TokenRequest API for the Pod's
// ServiceAccount, bound to the Pod, written once (it is not refreshed: tests end long
// before it expires). Every container gets KUBERNETES_SERVICE_HOST and _PORT naming
// the test API server when TestNodeOptions says where it is. env valueFrom.fieldRef
// (metadata.name, metadata.namespace, metadata.uid, spec.nodeName,
// spec.serviceAccountName) is resolved, and $(VAR) in command and args is expanded
// from the container's env, as a kubelet does.
//
// One container per Pod; other volume kinds and env sources fail the Pod with a
// message saying so. securityContext (runAsUser, capabilities, seccomp,
// readOnlyRootFilesystem) is not applied: every process runs as the test node's own
// user, which owns the host folders the volumes stand for; switching to runAsUser
// would need root and leave the Pod unable to write them. Probes are not run, and
// every Pod shares the host's network: two Pods listening on one port collide.
// activeDeadlineSeconds is not enforced either.
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
#include <vector>

#include "kube/client/client.h"
#include "kube/runtime/controller.h"
#include "sandbox/sandbox.h"
#include "tests/node/canned_evidence.h"

namespace gotestrun::testing {

// How a volume mount (or an image's folder) is seen on the host; exposed for tests.
struct PathRewrite {
  std::string mount_path;
  std::string host_path;
};
std::string RewritePaths(const std::string& value, const std::vector<PathRewrite>& rewrites);

// $(NAME) in a command or argument replaced by NAME's value in `env` ("NAME=value"
// entries); $$ is a literal $, and a reference to an unknown name stays as written.
std::string ExpandEnvReferences(const std::string& value, const std::vector<std::string>& env);

// An image as this node runs it.
struct TestNodeImage {
  // What runs when the container gives no command (the image's ENTRYPOINT).
  std::vector<std::string> entrypoint;
  // Folders inside the image and the host folders holding their files: the program a
  // container of this image starts is looked up through them (only the program: an
  // argument naming a path in the image is passed on as written).
  std::vector<PathRewrite> folders;
};

struct TestNodeOptions {
  std::string node_name = "test-node";
  std::string work_dir;                              // per-Pod folders (emptyDirs, logs)
  std::map<std::string, std::string> claim_folders;  // PVC claimName -> host folder
  std::map<std::string, TestNodeImage> images;       // image reference -> how it runs here
  // The API server as Pods see it (KUBERNETES_SERVICE_HOST/_PORT); empty: not set.
  std::string api_server_host;
  int api_server_port = 0;
  std::string memory_capacity = "16Gi";
  std::string cpu_capacity = "2";
  // At most this many Pods run at once (0: no bound); the others stay Pending until one
  // ends, as a scheduler holds back Pods that do not fit the nodes. On a machine of two
  // cores, eleven Pods compiling at once take eleven times as long each.
  int max_running_pods = 0;
  std::shared_ptr<const CannedEvidence> canned;  // set: fast mode (above)
  std::chrono::milliseconds canned_run_time{500};
};

// Where programs find their ServiceAccount's token, CA and namespace.
inline constexpr char kServiceAccountDir[] = "/var/run/secrets/kubernetes.io/serviceaccount";

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
  // Writes a projected volume's files into `dir`, as the kubelet does before the
  // containers start.
  Status WriteProjectedVolume(const kube::Json& pod, const kube::Json& projected, const std::string& dir,
                              const std::atomic<bool>& stop);
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
