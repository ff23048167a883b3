#include "kube/client/config.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <map>

#include "base/base64.h"
#include "base/files.h"

namespace gotestrun::kube {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string t = (fs::temp_directory_path() / "kubeconfig-test-XXXXXX").string();
    path_ = ::mkdtemp(t.data());
  }
  ~TempDir() { fs::remove_all(path_); }
  const std::string& path() const { return path_; }
  void Write(const std::string& name, const std::string& content) const {
    ASSERT_TRUE(WriteFileAtomic(path_ + "/" + name, content).ok());
  }

 private:
  std::string path_;
};

constexpr char kTwoContexts[] = R"(
apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: dev-cluster
  cluster:
    server: https://10.1.2.3:6443
    certificate-authority-data: Q0EtUEVN
- name: prod-cluster
  cluster:
    server: https://[fd00::1]:8443/
    certificate-authority: certs/ca.crt
    tls-server-name: api.prod.internal
users:
- name: dev-user
  user:
    token: abc123
- name: prod-user
  user:
    client-certificate: certs/client.crt
    client-key-data: S0VZ
contexts:
- name: dev
  context: {cluster: dev-cluster, user: dev-user, namespace: team-a}
- name: prod
  context: {cluster: prod-cluster, user: prod-user}
)";

TEST(Kubeconfig, CurrentContextWithTokenAndInlineCa) {
  auto c = ParseKubeconfig(kTwoContexts, "/nowhere");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->host, "10.1.2.3");
  EXPECT_EQ(c->port, 6443);
  EXPECT_EQ(c->ca_pem, "CA-PEM");
  EXPECT_EQ(c->token, "abc123");
  EXPECT_EQ(c->default_namespace, "team-a");
  EXPECT_EQ(c->Server(), "https://10.1.2.3:6443");
}

TEST(Kubeconfig, NamedContextWithFilesRelativeToTheKubeconfig) {
  TempDir dir;
  fs::create_directories(dir.path() + "/certs");
  dir.Write("certs/ca.crt", "CA-FROM-FILE");
  dir.Write("certs/client.crt", "CERT-FROM-FILE");
  dir.Write("config", kTwoContexts);
  auto c = LoadKubeconfig(dir.path() + "/config", "prod");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->host, "fd00::1");
  EXPECT_EQ(c->port, 8443);
  EXPECT_EQ(c->Server(), "https://[fd00::1]:8443");
  EXPECT_EQ(c->tls_server_name, "api.prod.internal");
  EXPECT_EQ(c->ca_pem, "CA-FROM-FILE");
  EXPECT_EQ(c->client_cert_pem, "CERT-FROM-FILE");
  EXPECT_EQ(c->client_key_pem, "KEY");
  EXPECT_EQ(c->default_namespace, "default");
}

TEST(Kubeconfig, TokenFileIsResolvedAndKeptForRereading) {
  auto c = ParseKubeconfig(R"(
current-context: c
clusters: [{name: k, cluster: {server: "https://h"}}]
users: [{name: u, user: {tokenFile: secrets/token}}]
contexts: [{name: c, context: {cluster: k, user: u}}]
)",
                           "/etc/kube");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->token_file, "/etc/kube/secrets/token");
  EXPECT_EQ(c->port, 443);
}

struct BadKubeconfig {
  const char* name;
  const char* yaml;
  const char* message_part;
  StatusCode code = StatusCode::kInvalidArgument;
};

class BadKubeconfigTest : public ::testing::TestWithParam<BadKubeconfig> {};

TEST_P(BadKubeconfigTest, IsRefusedWithAMessageThatSaysWhy) {
  auto c = ParseKubeconfig(GetParam().yaml, "/nowhere");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), GetParam().code) << c.status();
  EXPECT_NE(c.status().message().find(GetParam().message_part), std::string::npos) << c.status();
}

INSTANTIATE_TEST_SUITE_P(
    Table, BadKubeconfigTest,
    ::testing::Values(
        BadKubeconfig{"Empty", "", "not a YAML map"}, BadKubeconfig{"NotYaml", "{{{", "kubeconfig"},
        BadKubeconfig{"ListNotMap", "- a\n- b\n", "not a YAML map"},
        BadKubeconfig{"NoContext", "clusters: []\n", "no current-context"},
        BadKubeconfig{"MissingContext", "current-context: x\ncontexts: []\n", "no context named 'x'"},
        BadKubeconfig{"MissingCluster", "current-context: c\ncontexts: [{name: c, context: {cluster: k}}]\n",
                      "no cluster named 'k'"},
        BadKubeconfig{"HttpServer",
                      "current-context: c\ncontexts: [{name: c, context: {cluster: k}}]\n"
                      "clusters: [{name: k, cluster: {server: 'http://127.0.0.1:8080'}}]\n",
                      "plain HTTP is not supported"},
        BadKubeconfig{"InsecureSkip",
                      "current-context: c\ncontexts: [{name: c, context: {cluster: k}}]\n"
                      "clusters: [{name: k, cluster: {server: 'https://h', insecure-skip-tls-verify: true}}]\n",
                      "TLS verification cannot be turned off"},
        BadKubeconfig{"BadPort",
                      "current-context: c\ncontexts: [{name: c, context: {cluster: k}}]\n"
                      "clusters: [{name: k, cluster: {server: 'https://h:99999'}}]\n",
                      "bad port"},
        BadKubeconfig{"BadBase64",
                      "current-context: c\ncontexts: [{name: c, context: {cluster: k}}]\n"
                      "clusters: [{name: k, cluster: {server: 'https://h', certificate-authority-data: '!!'}}]\n",
                      "certificate-authority-data"},
        BadKubeconfig{"MissingCaFile",
                      "current-context: c\ncontexts: [{name: c, context: {cluster: k}}]\n"
                      "clusters: [{name: k, cluster: {server: 'https://h', certificate-authority: nope.crt}}]\n",
                      "/nowhere/nope.crt", StatusCode::kNotFound},
        BadKubeconfig{"CertWithoutKey",
                      "current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n"
                      "clusters: [{name: k, cluster: {server: 'https://h'}}]\n"
                      "users: [{name: u, user: {client-certificate-data: Q0VSVA==}}]\n",
                      "without a key"},
        BadKubeconfig{"ExecPlugin",
                      "current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n"
                      "clusters: [{name: k, cluster: {server: 'https://h'}}]\n"
                      "users: [{name: u, user: {exec: {command: aws}}}]\n",
                      "exec or auth-provider", StatusCode::kUnimplemented},
        BadKubeconfig{"ClustersNotAList",
                      "current-context: c\ncontexts: [{name: c, context: {cluster: k}}]\nclusters: 7\n",
                      "clusters must be a list"}),
    [](const auto& param_info) { return param_info.param.name; });

TEST(InClusterConfig, ReadsServiceAccountFolder) {
  TempDir dir;
  dir.Write("token", "sa-token\n");
  dir.Write("ca.crt", "CLUSTER-CA");
  dir.Write("namespace", "ci\n");
  std::map<std::string, std::string> env = {{"KUBERNETES_SERVICE_HOST", "10.96.0.1"},
                                            {"KUBERNETES_SERVICE_PORT", "443"}};
  auto lookup = [&](const std::string& k) -> std::optional<std::string> {
    auto it = env.find(k);
    return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
  auto c = InClusterConfig(lookup, dir.path());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->host, "10.96.0.1");
  EXPECT_EQ(c->port, 443);
  EXPECT_EQ(c->token_file, dir.path() + "/token");
  EXPECT_EQ(c->ca_pem, "CLUSTER-CA");
  EXPECT_EQ(c->default_namespace, "ci");

  env["KUBERNETES_SERVICE_HOST"] = "fd00::10";
  c = InClusterConfig(lookup, dir.path());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->host, "fd00::10");
}

TEST(InClusterConfig, OutsideAClusterSaysSo) {
  auto c = InClusterConfig([](const std::string&) { return std::nullopt; }, "/nonexistent");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(c.status().message().find("KUBERNETES_SERVICE_HOST"), std::string::npos);
}

TEST(Base64, RoundTripsAndRejectsGarbage) {
  for (std::string s : {"", "a", "ab", "abc", "abcd", "\x00\xff\x10 binary"}) {
    auto d = Base64Decode(Base64Encode(s));
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(*d, s);
  }
  EXPECT_EQ(*Base64Decode("aGVs\nbG8="), "hello");
  EXPECT_FALSE(Base64Decode("a").ok());
  EXPECT_FALSE(Base64Decode("ab=c").ok());
  EXPECT_FALSE(Base64Decode("a$bc").ok());
}

}  // namespace
}  // namespace gotestrun::kube
