// A real Kubernetes control plane for tests: etcd and kube-apiserver (and, when asked,
// kube-controller-manager) started on loopback, on free ports, with certificates, a
// token and a kubeconfig generated for the occasion, in a folder of its own.
//
// The binaries come from tests/controlplane/build.sh; their folder is named by
// $GOTESTRUN_CONTROLPLANE_BIN. Every process dies with the process that started it,
// and a folder left behind by a crashed run is removed by the next Start.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "sandbox/child_process.h"
#include "kube/client/config.h"

namespace gotestrun::testing {

using sandbox::ExitInfo;
using sandbox::Subprocess;

class ControlPlane {
 public:
  struct Options {
    std::string bin_dir;  // empty: $GOTESTRUN_CONTROLPLANE_BIN
    bool controller_manager = false;
    // Admission plugins enabled on top of kube-apiserver's defaults. ServiceAccount
    // (every Pod gets its ServiceAccount's token as the kube-api-access projected
    // volume) is off unless listed: it refuses Pods whose ServiceAccount does not exist
    // yet, and without the controller manager no namespace ever gets its "default" one.
    // OwnerReferencesPermissionEnforcement makes blockOwnerDeletion need update on the
    // owner's finalizers, as on OpenShift.
    std::vector<std::string> admission_plugins;
  };

  static StatusOr<std::unique_ptr<ControlPlane>> Start(Options options);
  ~ControlPlane();

  // An admin identified by a bearer token.
  kube::ClusterConfig AdminConfig() const;
  // The same admin identified by a client certificate instead.
  kube::ClusterConfig CertificateConfig() const;
  const std::string& kubeconfig_path() const { return kubeconfig_; }
  const std::string& dir() const { return dir_; }
  int apiserver_port() const { return apiserver_port_; }

  // Kills kube-apiserver (SIGKILL: no goodbye to open watches) and starts it again on
  // the same port and etcd, returning once it is ready.
  Status RestartApiServer();
  // Compacts etcd's history up to now. kube-apiserver's watch cache still serves the
  // recent past from memory; after a restart of kube-apiserver as well, every
  // resourceVersion seen so far is too old to watch from or to continue a list at
  // (410 Expired), as after a real control plane upgrade.
  Status CompactEtcd();
  Status StopApiServer();
  Status StartApiServer();

 private:
  ControlPlane() = default;
  Status Init();
  Status GenerateCredentials();
  Status StartEtcd();
  Status StartControllerManager();
  Status WaitReady(const std::string& what, int port);

  Options options_;
  std::string dir_;
  std::string kubeconfig_;
  std::string token_;
  int etcd_port_ = 0;
  int etcd_peer_port_ = 0;
  int apiserver_port_ = 0;
  std::optional<Subprocess> etcd_;
  std::optional<Subprocess> apiserver_;
  std::optional<Subprocess> controller_manager_;
};

}  // namespace gotestrun::testing
