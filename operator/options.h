// gotestrun-operator's command line.
//
//   gotestrun-operator --profiles-dir DIR [--kubeconfig FILE] [--watch-namespaces NS,...]
//                      [--agent-image IMAGE] [--agent-path PATH] [--workers N]
//                      [--leader-elect] [--lease-namespace NS] [--lease-name NAME] [--identity ID]
//                      [--lease-duration D] [--renew-deadline D] [--retry-period D]
//                      [--http-port N] [--http-address ADDR]
//
// Every flag takes `--flag value` or `--flag=value`. Errors name the flag and what it
// takes, for a Deployment's args that someone typed by hand.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "base/status.h"

namespace gotestrun::operator_main {

struct OperatorOptions {
  std::string profiles_dir;
  std::string kubeconfig;                     // empty: in-cluster config, else ~/.kube/config
  std::vector<std::string> watch_namespaces;  // empty: every namespace
  std::string agent_image;                    // empty: the controller's default
  std::string agent_path;
  int workers = 2;
  bool leader_elect = false;
  std::string lease_namespace = "default";
  std::string lease_name = "gotestrun-operator";
  std::string identity;  // empty: hostname-pid
  // How long a standby waits on an unrenewed lease before taking it, how long the leader
  // keeps trying to renew before it stops leading, and how often both try (client-go's
  // defaults; a renew deadline under the lease duration, a retry period under both).
  std::chrono::milliseconds lease_duration{15000};
  std::chrono::milliseconds renew_deadline{10000};
  std::chrono::milliseconds retry_period{2000};
  int http_port = 8081;  // /healthz, /readyz, /metrics; 0 = off
  std::string http_address = "0.0.0.0";
  bool help = false;
  bool version = false;
};

extern const char kOperatorUsage[];

// `args` without the program name.
StatusOr<OperatorOptions> ParseOperatorFlags(const std::vector<std::string>& args);

}  // namespace gotestrun::operator_main
