#include "tests/support/control_plane.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <thread>

#include <httplib.h>

#include "base/files.h"
#include "kube/client/client.h"
#include "tests/support/ports.h"

namespace gotestrun::testing {
namespace {

namespace fs = std::filesystem;

constexpr char kDirPrefix[] = "gotestrun-cp-";

std::string RandomHex(size_t n) {
  std::random_device rd;
  std::string s;
  for (size_t i = 0; i < n; ++i) s += "0123456789abcdef"[rd() % 16];
  return s;
}

// Folders of earlier runs whose owner died without cleaning up.
void RemoveAbandonedDirs(const fs::path& tmp) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(tmp, ec)) {
    if (entry.path().filename().string().rfind(kDirPrefix, 0) != 0) continue;
    StatusOr<std::string> owner = ReadFile((entry.path() / "owner.pid").string(), 64);
    if (!owner.ok()) continue;
    pid_t pid = static_cast<pid_t>(std::atoi(owner->c_str()));
    if (pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH) fs::remove_all(entry.path(), ec);
  }
}

Status Run(const std::vector<std::string>& argv, const std::string& log) {
  StatusOr<Subprocess> p = Subprocess::Spawn({.argv = argv, .output_file = log});
  if (!p.ok()) return p.status();
  ExitInfo e = p->Wait().value_or(ExitInfo{});
  if (e.exit_code != 0) return InternalError(argv[0] + " " + argv[1] + " failed (" + e.ToString() + "), see " + log);
  return Status::Ok();
}

std::string Tail(const std::string& path) {
  StatusOr<std::string> text = ReadFile(path, 64 << 20);
  if (!text.ok()) return "";
  return text->size() > 2000 ? text->substr(text->size() - 2000) : *text;
}

}  // namespace

StatusOr<std::unique_ptr<ControlPlane>> ControlPlane::Start(Options options) {
  if (options.bin_dir.empty()) {
    const char* env = std::getenv("GOTESTRUN_CONTROLPLANE_BIN");
    if (env == nullptr || *env == '\0') {
      return FailedPreconditionError(
          "GOTESTRUN_CONTROLPLANE_BIN is not set: build the control plane with tests/controlplane/build.sh "
          "and point the variable at the folder it prints (scripts/test.sh does both)");
    }
    options.bin_dir = env;
  }
  std::unique_ptr<ControlPlane> cp(new ControlPlane());
  cp->options_ = std::move(options);
  Status s = cp->Init();
  if (!s.ok()) return s;
  return cp;
}

Status ControlPlane::Init() {
  fs::path tmp = fs::temp_directory_path();
  RemoveAbandonedDirs(tmp);
  std::string templ = (tmp / (std::string(kDirPrefix) + "XXXXXX")).string();
  if (::mkdtemp(templ.data()) == nullptr) return InternalError("mkdtemp " + templ);
  dir_ = templ;
  GTR_RETURN_IF_ERROR(WriteFileAtomic(dir_ + "/owner.pid", std::to_string(::getpid())));
  for (int* port : {&etcd_port_, &etcd_peer_port_, &apiserver_port_}) {
    StatusOr<int> p = FreeLoopbackPort();
    if (!p.ok()) return p.status();
    *port = *p;
  }
  GTR_RETURN_IF_ERROR(GenerateCredentials());
  GTR_RETURN_IF_ERROR(StartEtcd());
  GTR_RETURN_IF_ERROR(StartApiServer());
  if (options_.controller_manager) GTR_RETURN_IF_ERROR(StartControllerManager());
  return Status::Ok();
}

ControlPlane::~ControlPlane() {
  if (controller_manager_) controller_manager_->Stop(std::chrono::milliseconds(2000));
  if (apiserver_) apiserver_->Stop(std::chrono::milliseconds(5000));
  if (etcd_) etcd_->Stop(std::chrono::milliseconds(5000));
  std::error_code ec;
  if (!dir_.empty() && std::getenv("GOTESTRUN_KEEP_CONTROLPLANE") == nullptr) fs::remove_all(dir_, ec);
}

Status ControlPlane::GenerateCredentials() {
  const std::string log = dir_ + "/openssl.log";
  const std::string d = dir_ + "/";
  GTR_RETURN_IF_ERROR(
      Run({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
           d + "ca.key", "-out", d + "ca.crt", "-days", "2", "-subj", "/CN=gotestrun-test-ca"},
          log));
  GTR_RETURN_IF_ERROR(
      WriteFileAtomic(d + "server.ext",
                      "subjectAltName=IP:127.0.0.1,DNS:localhost,IP:10.0.0.1,DNS:kubernetes.default.svc\n"
                      "extendedKeyUsage=serverAuth\n"));
  GTR_RETURN_IF_ERROR(WriteFileAtomic(d + "client.ext", "extendedKeyUsage=clientAuth\n"));
  for (const auto& [name, subject, ext] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"server", "/CN=kube-apiserver", "server.ext"}, {"admin", "/O=system:masters/CN=admin", "client.ext"}}) {
    GTR_RETURN_IF_ERROR(Run({"openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                             "-keyout", d + name + ".key", "-out", d + name + ".csr", "-subj", subject},
                            log));
    GTR_RETURN_IF_ERROR(
        Run({"openssl", "x509", "-req", "-in", d + name + ".csr", "-CA", d + "ca.crt", "-CAkey", d + "ca.key",
             "-CAcreateserial", "-out", d + name + ".crt", "-days", "2", "-extfile", d + ext},
            log));
  }
  GTR_RETURN_IF_ERROR(Run({"openssl", "genrsa", "-out", d + "sa.key", "2048"}, log));
  GTR_RETURN_IF_ERROR(Run({"openssl", "rsa", "-in", d + "sa.key", "-pubout", "-out", d + "sa.pub"}, log));

  token_ = RandomHex(32);
  GTR_RETURN_IF_ERROR(WriteFileAtomic(d + "tokens.csv", token_ + ",admin,admin,\"system:masters\"\n", 0600));
  kubeconfig_ = d + "kubeconfig";
  std::string server = "https://127.0.0.1:" + std::to_string(apiserver_port_);
  return WriteFileAtomic(
      kubeconfig_,
      "apiVersion: v1\nkind: Config\n"
      "clusters:\n- name: test\n  cluster:\n    server: " +
          server +
          "\n    certificate-authority: ca.crt\n"
          "users:\n- name: admin\n  user:\n    token: " +
          token_ +
          "\n- name: admin-cert\n  user:\n    client-certificate: admin.crt\n    client-key: admin.key\n"
          "contexts:\n- name: test\n  context:\n    cluster: test\n    user: admin\n    namespace: default\n"
          "- name: test-cert\n  context:\n    cluster: test\n    user: admin-cert\n"
          "current-context: test\n",
      0600);
}

kube::ClusterConfig ControlPlane::AdminConfig() const {
  auto c = kube::LoadKubeconfig(kubeconfig_);
  return c.ok() ? *c : kube::ClusterConfig{};
}

kube::ClusterConfig ControlPlane::CertificateConfig() const {
  auto c = kube::LoadKubeconfig(kubeconfig_, "test-cert");
  return c.ok() ? *c : kube::ClusterConfig{};
}

Status ControlPlane::StartEtcd() {
  std::string client = "http://127.0.0.1:" + std::to_string(etcd_port_);
  std::string peer = "http://127.0.0.1:" + std::to_string(etcd_peer_port_);
  StatusOr<Subprocess> p = Subprocess::Spawn({
      .argv = {options_.bin_dir + "/etcd", "--name=default", "--data-dir=" + dir_ + "/etcd",
               "--listen-client-urls=" + client, "--advertise-client-urls=" + client, "--listen-peer-urls=" + peer,
               "--initial-advertise-peer-urls=" + peer, "--initial-cluster=default=" + peer, "--unsafe-no-fsync=true",
               "--log-level=warn"},
      .output_file = dir_ + "/etcd.log",
  });
  if (!p.ok()) return p.status();
  etcd_.emplace(std::move(*p));
  // etcd answers /health on its client port once it serves.
  for (int i = 0; i < 300; ++i) {
    if (!etcd_->running()) return InternalError("etcd exited: " + Tail(dir_ + "/etcd.log"));
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(etcd_port_));
    bool up = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    if (up) return Status::Ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return DeadlineExceededError("etcd did not listen within 30s: " + Tail(dir_ + "/etcd.log"));
}

namespace {

// The admission flags: ServiceAccount off unless asked for, the rest as asked (see
// Options::admission_plugins).
std::vector<std::string> AdmissionFlags(const std::vector<std::string>& enable) {
  std::vector<std::string> flags;
  if (std::find(enable.begin(), enable.end(), "ServiceAccount") == enable.end()) {
    flags.push_back("--disable-admission-plugins=ServiceAccount");
  }
  if (!enable.empty()) {
    std::string flag = "--enable-admission-plugins=";
    for (size_t i = 0; i < enable.size(); ++i) flag += (i ? "," : "") + enable[i];
    flags.push_back(flag);
  }
  return flags;
}

}  // namespace

Status ControlPlane::StartApiServer() {
  const std::string d = dir_ + "/";
  std::vector<std::string> argv = {options_.bin_dir + "/kube-apiserver",
                                   "--etcd-servers=http://127.0.0.1:" + std::to_string(etcd_port_),
                                   "--bind-address=127.0.0.1",
                                   "--advertise-address=127.0.0.1",
                                   "--secure-port=" + std::to_string(apiserver_port_),
                                   "--cert-dir=" + d + "apiserver-certs",
                                   "--tls-cert-file=" + d + "server.crt",
                                   "--tls-private-key-file=" + d + "server.key",
                                   "--client-ca-file=" + d + "ca.crt",
                                   "--token-auth-file=" + d + "tokens.csv",
                                   "--authorization-mode=RBAC",
                                   "--service-cluster-ip-range=10.0.0.0/24",
                                   "--allow-privileged=true",
                                   "--service-account-issuer=https://kubernetes.default.svc",
                                   "--service-account-key-file=" + d + "sa.pub",
                                   "--service-account-signing-key-file=" + d + "sa.key",
                                   "--enable-priority-and-fairness=false",
                                   "--endpoint-reconciler-type=none",
                                   "--v=1"};
  for (std::string& flag : AdmissionFlags(options_.admission_plugins)) argv.push_back(std::move(flag));
  StatusOr<Subprocess> p = Subprocess::Spawn({.argv = std::move(argv), .output_file = d + "kube-apiserver.log"});
  if (!p.ok()) return p.status();
  apiserver_.emplace(std::move(*p));
  return WaitReady("kube-apiserver", apiserver_port_);
}

Status ControlPlane::StopApiServer() {
  if (apiserver_) {
    apiserver_->Signal(SIGKILL);
    apiserver_->Wait();
    apiserver_.reset();
  }
  return Status::Ok();
}

Status ControlPlane::RestartApiServer() {
  GTR_RETURN_IF_ERROR(StopApiServer());
  return StartApiServer();
}

Status ControlPlane::CompactEtcd() {
  // etcd's JSON gateway to its gRPC API; keys and values are base64.
  httplib::Client etcd("127.0.0.1", etcd_port_);
  auto range = etcd.Post("/v3/kv/range", R"({"key":"Lw=="})", "application/json");
  if (!range || range->status != 200) return UnavailableError("etcd range request failed");
  kube::Json r = kube::Json::parse(range->body, nullptr, false);
  if (!r.is_object() || !r["header"].is_object() || !r["header"]["revision"].is_string()) {
    return DataLossError("etcd range: no header.revision in " + range->body);
  }
  std::string revision = r["header"]["revision"].get<std::string>();
  auto compact =
      etcd.Post("/v3/kv/compaction", R"({"revision":")" + revision + R"(","physical":true})", "application/json");
  if (!compact || compact->status != 200) {
    return UnavailableError("etcd compaction failed: " +
                            (compact ? compact->body : httplib::to_string(compact.error())));
  }
  return Status::Ok();
}

Status ControlPlane::StartControllerManager() {
  const std::string d = dir_ + "/";
  StatusOr<Subprocess> p = Subprocess::Spawn({
      .argv = {options_.bin_dir + "/kube-controller-manager", "--kubeconfig=" + kubeconfig_,
               "--authentication-kubeconfig=" + kubeconfig_, "--authorization-kubeconfig=" + kubeconfig_,
               "--leader-elect=false", "--bind-address=127.0.0.1", "--secure-port=0",
               "--service-account-private-key-file=" + d + "sa.key", "--root-ca-file=" + d + "ca.crt",
               "--use-service-account-credentials=false",
               "--controllers=*,-nodeipam,-nodelifecycle,-cloud-node-lifecycle", "--v=1"},
      .output_file = d + "kube-controller-manager.log",
  });
  if (!p.ok()) return p.status();
  controller_manager_.emplace(std::move(*p));
  return Status::Ok();
}

Status ControlPlane::WaitReady(const std::string& what, int port) {
  auto client = kube::Client::Create(AdminConfig());
  if (!client.ok()) return client.status().Annotate(what);
  Status last = UnavailableError("not polled yet");
  for (int i = 0; i < 600; ++i) {
    if (!apiserver_->running()) return InternalError(what + " exited: " + Tail(dir_ + "/kube-apiserver.log"));
    StatusOr<std::string> r = (*client)->GetRaw("/readyz");
    if (r.ok()) return Status::Ok();
    last = r.status();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return DeadlineExceededError(what + " on port " + std::to_string(port) + " not ready within 60s (" + last.ToString() +
                               "): " + Tail(dir_ + "/kube-apiserver.log"));
}

}  // namespace gotestrun::testing
