// gotestrun-testenv: starts the test control plane and keeps it running until
// interrupted, for scripts and people (benchmarks, demos, poking at it with kubectl).
//
//   gotestrun-testenv [--controller-manager] [--env-file FILE]
//
// Prints KUBECONFIG=<path> once the API server is ready (and writes it to FILE).
#include <signal.h>
#include <unistd.h>

#include <cstring>
#include <iostream>

#include "base/files.h"
#include "tests/support/control_plane.h"

int main(int argc, char** argv) {
  gotestrun::testing::ControlPlane::Options options;
  std::string env_file;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--controller-manager") == 0) {
      options.controller_manager = true;
    } else if (std::strcmp(argv[i], "--env-file") == 0 && i + 1 < argc) {
      env_file = argv[++i];
    } else {
      std::cerr << "usage: gotestrun-testenv [--controller-manager] [--env-file FILE]\n";
      return 2;
    }
  }
  // Block the signals that end us, then wait for one, so the destructor stops the servers.
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&set, s);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  auto cp = gotestrun::testing::ControlPlane::Start(options);
  if (!cp.ok()) {
    std::cerr << "control plane did not start: " << cp.status() << "\n";
    return 1;
  }
  std::string line = "KUBECONFIG=" + (*cp)->kubeconfig_path() + "\n";
  std::cout << line << std::flush;
  if (!env_file.empty()) {
    if (auto s = gotestrun::WriteFileAtomic(env_file, line); !s.ok()) {
      std::cerr << s << "\n";
      return 1;
    }
  }
  int sig = 0;
  sigwait(&set, &sig);
  return 0;
}
