// gotestrun-testenv: starts the test control plane and keeps it running until
// interrupted, for scripts and people (demos, benchmarks, poking at it with kubectl).
//
//   gotestrun-testenv [--controller-manager] [--env-file FILE] [--crds DIR]
//                     [--node NAME --work-dir DIR [--claim NAME=FOLDER]...]
//
// --crds installs the project's CRDs; --node also runs a test node (Pods as local
// processes in memory cgroups), with each named PersistentVolumeClaim mapped to a
// host folder. Prints KUBECONFIG=<path> once everything is ready (and writes it to FILE).
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstring>
#include <iostream>

#include "base/files.h"
#include "tests/node/test_node.h"
#include "tests/support/control_plane.h"
#include "tests/support/crds.h"

namespace {
constexpr char kUsage[] =
    "usage: gotestrun-testenv [--controller-manager] [--env-file FILE] [--crds DIR]\n"
    "                         [--node NAME --work-dir DIR [--claim NAME=FOLDER]...]\n";
}  // namespace

int main(int argc, char** argv) {
  using namespace gotestrun;
  testing::ControlPlane::Options options;
  std::string env_file, crds, node_name, work_dir;
  std::map<std::string, std::string> claims;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    bool has_value = i + 1 < argc;
    if (a == "--controller-manager") {
      options.controller_manager = true;
    } else if (a == "--env-file" && has_value) {
      env_file = argv[++i];
    } else if (a == "--crds" && has_value) {
      crds = argv[++i];
    } else if (a == "--node" && has_value) {
      node_name = argv[++i];
    } else if (a == "--work-dir" && has_value) {
      work_dir = argv[++i];
    } else if (a == "--claim" && has_value) {
      std::string c = argv[++i];
      size_t eq = c.find('=');
      if (eq == std::string::npos) {
        std::cerr << "--claim takes NAME=FOLDER\n" << kUsage;
        return 2;
      }
      claims[c.substr(0, eq)] = c.substr(eq + 1);
    } else {
      std::cerr << kUsage;
      return 2;
    }
  }
  if (!node_name.empty() && work_dir.empty()) {
    std::cerr << "--node needs --work-dir\n" << kUsage;
    return 2;
  }
  // Block the signals that end us, then wait for one, so the destructors stop everything.
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&set, s);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  auto cp = testing::ControlPlane::Start(options);
  if (!cp.ok()) {
    std::cerr << "control plane did not start: " << cp.status() << "\n";
    return 1;
  }
  auto client = kube::Client::Create((*cp)->AdminConfig());
  if (!client.ok()) {
    std::cerr << client.status() << "\n";
    return 1;
  }
  if (!crds.empty()) {
    if (Status s = testing::InstallGoTestRunCrd(**client, crds); !s.ok()) {
      std::cerr << "CRDs: " << s << "\n";
      return 1;
    }
  }
  std::unique_ptr<testing::TestNode> node;
  if (!node_name.empty()) {
    node = std::make_unique<testing::TestNode>(
        **client, testing::TestNodeOptions{.node_name = node_name, .work_dir = work_dir, .claim_folders = claims});
    if (Status s = node->Start(); !s.ok()) {
      std::cerr << "test node: " << s << "\n";
      return 1;
    }
  }
  std::string line = "KUBECONFIG=" + (*cp)->kubeconfig_path() + "\n";
  std::cout << line << std::flush;
  if (!env_file.empty()) {
    if (auto s = WriteFileAtomic(env_file, line); !s.ok()) {
      std::cerr << s << "\n";
      return 1;
    }
  }
  int sig = 0;
  sigwait(&set, &sig);
  if (node) node->Stop();
  return 0;
}
