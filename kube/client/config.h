// Where the API server is and how to prove who we are to it.
//
// Two sources, as client-go has them: a kubeconfig file (the current context, or a
// named one) and the in-cluster service account. Everything a kubeconfig may point
// to by file name is read when the config is loaded, so a ClusterConfig is plain
// data, except the bearer token file, which is re-read while the process runs because
// projected service account tokens rotate.
//
// TLS verification is always on: a kubeconfig that asks to skip it is refused, and so
// is a plain http:// server.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace gotestrun::kube {

struct ClusterConfig {
  std::string host;  // without brackets for IPv6 literals
  int port = 443;
  std::string tls_server_name;  // when the certificate names another host than `host`
  std::string ca_pem;           // empty: the system's trust store
  std::string client_cert_pem;  // client certificate and key, both or neither
  std::string client_key_pem;
  std::string token;       // a static bearer token
  std::string token_file;  // a bearer token re-read from this file while running
  std::string default_namespace = "default";

  // "https://host:port", for messages.
  std::string Server() const;
};

// Parses kubeconfig YAML. Relative file names resolve against `base_dir` (the
// folder the kubeconfig lives in). `context` empty means current-context.
StatusOr<ClusterConfig> ParseKubeconfig(std::string_view yaml, std::string_view base_dir,
                                        std::string_view context = {});

// Reads and parses a kubeconfig file.
StatusOr<ClusterConfig> LoadKubeconfig(const std::string& path, std::string_view context = {});

// The in-cluster config: KUBERNETES_SERVICE_HOST/PORT from `getenv` and the service
// account folder (normally /var/run/secrets/kubernetes.io/serviceaccount).
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
StatusOr<ClusterConfig> InClusterConfig(const EnvLookup& getenv, const std::string& service_account_dir);

// What kubectl would use: $KUBECONFIG (first file of the list), else ~/.kube/config,
// else the in-cluster config.
StatusOr<ClusterConfig> DefaultConfig();

// Splits "https://host:port" into the config's host and port.
Status ParseServerUrl(std::string_view url, ClusterConfig& config);

}  // namespace gotestrun::kube
