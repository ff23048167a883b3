#include "kube/client/config.h"

#include <yaml-cpp/yaml.h>

#include <unistd.h>

#include <cstdlib>

#include "base/base64.h"
#include "base/files.h"

namespace gotestrun::kube {
namespace {

std::string ResolvePath(std::string_view base_dir, const std::string& path) {
  if (path.empty() || path.front() == '/' || base_dir.empty()) return path;
  std::string out(base_dir);
  if (out.back() != '/') out += '/';
  return out + path;
}

// Finds the entry of a kubeconfig list (clusters, users, contexts) by name and
// returns its inner map (`cluster:`, `user:`, `context:`).
StatusOr<YAML::Node> FindNamed(const YAML::Node& root, const char* list, const char* inner, const std::string& name) {
  const YAML::Node entries = root[list];
  if (entries && !entries.IsSequence())
    return InvalidArgumentError(std::string("kubeconfig: ") + list + " must be a list");
  if (entries) {
    for (const YAML::Node& e : entries) {
      if (!e.IsMap() || !e["name"] || e["name"].as<std::string>() != name) continue;
      YAML::Node body = e[inner];
      if (!body || !body.IsMap()) {
        // A user entry may legitimately be empty (`user: {}`), a cluster may not.
        if (std::string_view(inner) == "user") return YAML::Node(YAML::NodeType::Map);
        return InvalidArgumentError(std::string("kubeconfig: ") + list + " entry '" + name + "' has no " + inner);
      }
      return body;
    }
  }
  return InvalidArgumentError(std::string("kubeconfig: no ") + inner + " named '" + name + "' in " + list);
}

std::string Str(const YAML::Node& map, const char* key) {
  const YAML::Node v = map[key];
  return v && v.IsScalar() ? v.as<std::string>() : std::string();
}

// A credential given inline (`<key>-data`, base64) or by file (`<key>`).
StatusOr<std::string> InlineOrFile(const YAML::Node& map, const std::string& key, std::string_view base_dir) {
  std::string data = Str(map, (key + "-data").c_str());
  if (!data.empty()) {
    StatusOr<std::string> decoded = Base64Decode(data);
    if (!decoded.ok()) return decoded.status().Annotate("kubeconfig: " + key + "-data");
    return decoded;
  }
  std::string file = Str(map, key.c_str());
  if (file.empty()) return std::string();
  StatusOr<std::string> content = ReadFile(ResolvePath(base_dir, file));
  if (!content.ok()) return content.status().Annotate("kubeconfig: " + key);
  return content;
}

StatusOr<ClusterConfig> ParseKubeconfigNode(const YAML::Node& root, std::string_view base_dir,
                                            std::string_view context_name) {
  if (!root.IsMap()) return InvalidArgumentError("kubeconfig: not a YAML map");
  std::string ctx_name(context_name);
  if (ctx_name.empty()) ctx_name = Str(root, "current-context");
  if (ctx_name.empty()) return InvalidArgumentError("kubeconfig: no current-context and no context was named");

  StatusOr<YAML::Node> ctx = FindNamed(root, "contexts", "context", ctx_name);
  if (!ctx.ok()) return ctx.status();
  std::string cluster_name = Str(*ctx, "cluster");
  std::string user_name = Str(*ctx, "user");
  if (cluster_name.empty()) return InvalidArgumentError("kubeconfig: context '" + ctx_name + "' names no cluster");

  StatusOr<YAML::Node> cluster = FindNamed(root, "clusters", "cluster", cluster_name);
  if (!cluster.ok()) return cluster.status();

  ClusterConfig config;
  GTR_RETURN_IF_ERROR(
      ParseServerUrl(Str(*cluster, "server"), config).Annotate("kubeconfig: cluster '" + cluster_name + "'"));
  if (Str(*cluster, "insecure-skip-tls-verify") == "true") {
    return InvalidArgumentError("kubeconfig: cluster '" + cluster_name +
                                "' sets insecure-skip-tls-verify; TLS verification cannot be turned off, "
                                "give certificate-authority or certificate-authority-data instead");
  }
  config.tls_server_name = Str(*cluster, "tls-server-name");
  StatusOr<std::string> ca = InlineOrFile(*cluster, "certificate-authority", base_dir);
  if (!ca.ok()) return ca.status();
  config.ca_pem = std::move(*ca);

  if (!user_name.empty()) {
    StatusOr<YAML::Node> user = FindNamed(root, "users", "user", user_name);
    if (!user.ok()) return user.status();
    if ((*user)["exec"] || (*user)["auth-provider"]) {
      return Status(
          StatusCode::kUnimplemented,
          "kubeconfig: user '" + user_name +
              "' uses an exec or auth-provider plugin, which is not supported; use a token or a client certificate");
    }
    config.token = Str(*user, "token");
    std::string token_file = Str(*user, "tokenFile");
    if (!token_file.empty()) config.token_file = ResolvePath(base_dir, token_file);
    StatusOr<std::string> cert = InlineOrFile(*user, "client-certificate", base_dir);
    if (!cert.ok()) return cert.status();
    StatusOr<std::string> key = InlineOrFile(*user, "client-key", base_dir);
    if (!key.ok()) return key.status();
    if (cert->empty() != key->empty()) {
      return InvalidArgumentError("kubeconfig: user '" + user_name +
                                  "' has a client certificate without a key or a key without a certificate");
    }
    config.client_cert_pem = std::move(*cert);
    config.client_key_pem = std::move(*key);
  }
  std::string ns = Str(*ctx, "namespace");
  if (!ns.empty()) config.default_namespace = ns;
  return config;
}

}  // namespace

std::string ClusterConfig::Server() const {
  bool v6 = host.find(':') != std::string::npos;
  return "https://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Status ParseServerUrl(std::string_view url, ClusterConfig& config) {
  if (url.empty()) return InvalidArgumentError("no server URL");
  constexpr std::string_view kHttps = "https://";
  if (url.substr(0, kHttps.size()) != kHttps) {
    return InvalidArgumentError("server '" + std::string(url) +
                                "' is not an https:// URL; plain HTTP is not supported");
  }
  std::string_view rest = url.substr(kHttps.size());
  size_t slash = rest.find('/');
  if (slash != std::string_view::npos) {
    if (rest.substr(slash) != "/")
      return InvalidArgumentError("server '" + std::string(url) +
                                  "' has a path; API servers behind a path prefix are not supported");
    rest = rest.substr(0, slash);
  }
  std::string_view host = rest;
  std::string_view port;
  if (!rest.empty() && rest.front() == '[') {
    size_t close = rest.find(']');
    if (close == std::string_view::npos) return InvalidArgumentError("server '" + std::string(url) + "': unclosed '['");
    host = rest.substr(1, close - 1);
    std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return InvalidArgumentError("server '" + std::string(url) + "': junk after ']'");
      port = after.substr(1);
    }
  } else if (size_t colon = rest.rfind(':'); colon != std::string_view::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  if (host.empty()) return InvalidArgumentError("server '" + std::string(url) + "' has no host");
  int p = 443;
  if (!port.empty()) {
    p = 0;
    for (char c : port) {
      if (c < '0' || c > '9' || p > 65535) return InvalidArgumentError("server '" + std::string(url) + "': bad port");
      p = p * 10 + (c - '0');
    }
    if (p <= 0 || p > 65535) return InvalidArgumentError("server '" + std::string(url) + "': bad port");
  }
  config.host = std::string(host);
  config.port = p;
  return Status::Ok();
}

StatusOr<ClusterConfig> ParseKubeconfig(std::string_view yaml, std::string_view base_dir, std::string_view context) {
  try {
    return ParseKubeconfigNode(YAML::Load(std::string(yaml)), base_dir, context);
  } catch (const YAML::Exception& e) {
    return InvalidArgumentError(std::string("kubeconfig: ") + e.what());
  }
}

StatusOr<ClusterConfig> LoadKubeconfig(const std::string& path, std::string_view context) {
  StatusOr<std::string> text = ReadFile(path, 4 << 20);
  if (!text.ok()) return text.status();
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  StatusOr<ClusterConfig> config = ParseKubeconfig(*text, dir, context);
  if (!config.ok()) return config.status().Annotate(path);
  return config;
}

StatusOr<ClusterConfig> InClusterConfig(const EnvLookup& getenv, const std::string& service_account_dir) {
  std::optional<std::string> host = getenv("KUBERNETES_SERVICE_HOST");
  std::optional<std::string> port = getenv("KUBERNETES_SERVICE_PORT");
  if (!host || host->empty() || !port || port->empty()) {
    return FailedPreconditionError(
        "not running in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set");
  }
  ClusterConfig config;
  bool v6 = host->find(':') != std::string::npos;
  GTR_RETURN_IF_ERROR(ParseServerUrl("https://" + (v6 ? "[" + *host + "]" : *host) + ":" + *port, config));
  config.token_file = service_account_dir + "/token";
  StatusOr<std::string> token = ReadFile(config.token_file, 1 << 20);
  if (!token.ok()) return token.status().Annotate("in-cluster service account token");
  StatusOr<std::string> ca = ReadFile(service_account_dir + "/ca.crt", 1 << 20);
  if (!ca.ok()) return ca.status().Annotate("in-cluster CA");
  config.ca_pem = std::move(*ca);
  if (StatusOr<std::string> ns = ReadFile(service_account_dir + "/namespace", 4096); ns.ok() && !ns->empty()) {
    std::string n = *ns;
    while (!n.empty() && (n.back() == '\n' || n.back() == ' ')) n.pop_back();
    config.default_namespace = n;
  }
  return config;
}

StatusOr<ClusterConfig> DefaultConfig() {
  if (const char* env = std::getenv("KUBECONFIG"); env != nullptr && *env != '\0') {
    std::string list(env);
    std::string first = list.substr(0, list.find(':'));
    return LoadKubeconfig(first);
  }
  if (const char* home = std::getenv("HOME"); home != nullptr) {
    std::string path = std::string(home) + "/.kube/config";
    if (::access(path.c_str(), R_OK) == 0) return LoadKubeconfig(path);
  }
  return InClusterConfig(
      [](const std::string& name) -> std::optional<std::string> {
        const char* v = std::getenv(name.c_str());
        return v ? std::optional<std::string>(v) : std::nullopt;
      },
      "/var/run/secrets/kubernetes.io/serviceaccount");
}

}  // namespace gotestrun::kube
