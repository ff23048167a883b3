// A real node for tests: containerd (with its runc shim and Debian's runc) and a
// kubelet registered with the test control plane, on this machine, so that test Pods
// run in real containers, are OOM-killed by the kernel and are reported by the kubelet
// as a user's cluster reports them.
//
// The binaries come from tests/realnode/build.sh ($GOTESTRUN_NODE_BIN) and the images
// from tests/realnode/images.sh ($GOTESTRUN_NODE_IMAGES): the Pod sandbox and a Go
// image, imported into containerd's k8s.io namespace (no registry is reached). The
// node lives in a folder of its own (containerd's root and state, the kubelet's root,
// the Pods' logs), its cgroups under this process's own memory cgroup, its Pods on a
// bridge it creates. The destructor ends every process it started (the shims
// included), unmounts what they mounted, removes the cgroups and the bridge; a node
// left behind by a crashed run is removed by the next Start.
//
// There is no scheduler in the test control plane: a Pod runs here when its
// spec.nodeName names this node, or, with Options::bind_unscheduled_pods, when it
// names none (every unscheduled Pod of the default scheduler is bound here, as the
// only node a scheduler could choose).
#pragma once

#include <atomic>
#include <memory>
#include <thread>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "base/status.h"
#include "sandbox/child_process.h"
#include "tests/support/control_plane.h"
#include "tests/support/tcp_proxy.h"

namespace gotestrun::testing {

class RealNode {
 public:
  struct Options {
    std::string bin_dir;     // empty: $GOTESTRUN_NODE_BIN
    std::string images_dir;  // empty: $GOTESTRUN_NODE_IMAGES
    std::string node_name = "gotestrun-node";
    bool bind_unscheduled_pods = false;
    // Service IPs for Pods, as a cluster's network gives them: kube-proxy (iptables
    // mode) routes each Service's ClusterIP to its endpoints, and the `kubernetes`
    // Service reaches the API server (which listens on 127.0.0.1 only) through a
    // forwarder on the bridge's address, so in-cluster config works in a Pod.
    bool service_network = false;
  };

  // Ok when this machine can run a node: root (containers, mounts, a bridge) and a
  // memory cgroup controller. Otherwise FailedPrecondition naming what is missing.
  static Status CanRun();

  static StatusOr<std::unique_ptr<RealNode>> Start(const ControlPlane& control_plane, Options options);
  ~RealNode();

  const std::string& node_name() const { return options_.node_name; }
  // The Go image (this machine's toolchain and busybox), as Pods name it.
  const std::string& go_image() const { return go_image_; }
  const std::string& dir() const { return dir_; }
  // Imports an OCI archive (e.g. tests/realnode/operator_image.sh's) into containerd's
  // k8s.io namespace, under the name it was written with.
  Status ImportImage(const std::string& archive);
  // The cgroup (relative to each hierarchy's root) under which the kubelet puts Pods.
  const std::string& cgroup_root() const { return cgroup_root_; }

 private:
  RealNode() = default;
  Status Init(const ControlPlane& control_plane);
  Status CreateCgroups();
  Status CreateBridge();
  Status StartContainerd();
  Status ImportImages();
  Status StartKubelet(const ControlPlane& control_plane);
  Status WaitNodeReady(const ControlPlane& control_plane);
  Status StartServiceNetwork(const ControlPlane& control_plane);
  void Cleanup();
  void BindUnscheduledPods(const ControlPlane& control_plane);

  Options options_;
  std::string dir_;
  std::string cgroup_root_;
  std::string go_image_;
  std::optional<sandbox::Subprocess> containerd_;
  std::optional<sandbox::Subprocess> kubelet_;
  std::optional<sandbox::Subprocess> kube_proxy_;
  std::unique_ptr<TcpProxy> api_forwarder_;
  bool bridge_created_ = false;
  std::atomic<bool> stop_binding_{false};
  std::thread binder_;
  // (iptables or ip6tables, table, chain) the kubelet will add that were not there.
  std::vector<std::tuple<std::string, std::string, std::string>> chains_to_remove_;
};

}  // namespace gotestrun::testing
