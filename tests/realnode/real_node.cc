#include "tests/realnode/real_node.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>
#include <tuple>

#include "base/files.h"
#include "kube/client/client.h"
#include "tests/support/ports.h"

namespace gotestrun::testing {
namespace {

namespace fs = std::filesystem;
using sandbox::ChildSpec;
using sandbox::Subprocess;

constexpr char kDirPrefix[] = "gotestrun-node-";
// One node per machine: the bridge and its subnet are fixed, the Pods' addresses
// come from it, and the kubelet's node IP is the bridge's.
constexpr char kBridge[] = "gtrnode0";
constexpr char kGateway[] = "10.244.42.1";
constexpr char kSubnet[] = "10.244.42.0/24";
constexpr char kPauseImage[] = "localhost/gotestrun/pause:1";
// Chains the kubelet adds to iptables (its canary, the localnet guard, the hint that
// says which iptables backend it used); removed at the end when they were not there
// at the start.
const std::vector<std::pair<std::string, std::string>> kKubeletChains = {{"filter", "KUBE-FIREWALL"},
                                                                         {"filter", "KUBE-KUBELET-CANARY"},
                                                                         {"nat", "KUBE-KUBELET-CANARY"},
                                                                         {"mangle", "KUBE-KUBELET-CANARY"},
                                                                         {"mangle", "KUBE-IPTABLES-HINT"}};

struct CommandResult {
  int exit_code = -1;
  std::string output;
};

CommandResult RunCommand(const std::vector<std::string>& argv) {
  auto r = sandbox::RunCaptured({.argv = argv}, 1 << 20);
  if (!r.ok()) return {-1, r.status().ToString()};
  return {r->end.exit_code, r->out + r->err};
}

Status MustRun(const std::vector<std::string>& argv) {
  CommandResult r = RunCommand(argv);
  if (r.exit_code == 0) return Status::Ok();
  std::string cmd;
  for (const auto& a : argv) cmd += (cmd.empty() ? "" : " ") + a;
  return InternalError(cmd + " failed (exit " + std::to_string(r.exit_code) + "): " + r.output);
}

std::string Tail(const std::string& path) {
  StatusOr<std::string> text = ReadFile(path, 64 << 20);
  if (!text.ok()) return "";
  return text->size() > 3000 ? text->substr(text->size() - 3000) : *text;
}

// The cgroup v1 hierarchies this process is in, as (mount point, path of this process
// in it); empty on a cgroup v2 host.
std::vector<std::pair<std::string, std::string>> V1Hierarchies() {
  std::vector<std::pair<std::string, std::string>> out;
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    auto a = line.find(':');
    auto b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    std::string controllers = line.substr(a + 1, b - a - 1);
    if (controllers.empty()) continue;  // the v2 hierarchy of a hybrid host
    if (controllers.rfind("name=", 0) == 0) controllers = controllers.substr(5);
    std::string mount = "/sys/fs/cgroup/" + controllers;
    if (fs::is_directory(mount)) out.emplace_back(mount, line.substr(b + 1));
  }
  return out;
}

std::string MemoryCgroupOfSelf() {
  for (const auto& [mount, path] : V1Hierarchies()) {
    if (mount == "/sys/fs/cgroup/memory") return path;
  }
  return "";
}

// Every process whose command line mentions `needle` (the node's folder: the shims
// are started with containerd's socket path and outlive containerd).
std::vector<pid_t> ProcessesMentioning(const std::string& needle) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc", ec)) {
    std::string name = e.path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    pid_t pid = static_cast<pid_t>(std::atoi(name.c_str()));
    if (pid == ::getpid()) continue;
    StatusOr<std::string> cmdline = ReadFile(e.path().string() + "/cmdline", 1 << 16);
    if (cmdline.ok() && cmdline->find(needle) != std::string::npos) out.push_back(pid);
  }
  return out;
}

// Kills every process in the cgroup subtree (the Pods' containers), until it is empty.
void KillCgroupTree(const std::string& root) {
  for (int round = 0; round < 50; ++round) {
    bool any = false;
    std::error_code ec;
    std::vector<fs::path> dirs{root};
    for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      if (it->is_directory()) dirs.push_back(it->path());
    }
    for (const auto& d : dirs) {
      std::ifstream procs(d / "cgroup.procs");
      pid_t pid;
      while (procs >> pid) {
        any = true;
        ::kill(pid, SIGKILL);
      }
    }
    if (!any) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

void RemoveCgroupTree(const std::string& root) {
  std::error_code ec;
  std::vector<fs::path> dirs;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (it->is_directory()) dirs.push_back(it->path());
  }
  std::sort(dirs.begin(), dirs.end(), [](const fs::path& a, const fs::path& b) { return a.string() > b.string(); });
  for (const auto& d : dirs) ::rmdir(d.c_str());
  ::rmdir(root.c_str());
}

// Unmounts everything mounted under `dir` (overlay root filesystems, the sandboxes'
// /dev/shm, network namespaces, the kubelet's bind mount of its root), deepest first.
void UnmountUnder(const std::string& dir) {
  for (int round = 0; round < 5; ++round) {
    std::vector<std::string> points;
    std::ifstream in("/proc/self/mountinfo");
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string id, parent, dev, root, point;
      fields >> id >> parent >> dev >> root >> point;
      if (point == dir || point.rfind(dir + "/", 0) == 0) points.push_back(point);
    }
    if (points.empty()) return;
    std::sort(points.begin(), points.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
    for (const auto& p : points) ::umount2(p.c_str(), MNT_DETACH);
  }
}

bool ChainExists(const std::string& iptables, const std::string& table, const std::string& chain) {
  return RunCommand({iptables, "-w", "-t", table, "-S", chain}).exit_code == 0;
}

using Chain = std::tuple<std::string, std::string, std::string>;  // iptables or ip6tables, table, chain

// What is left of a node once its kubelet and containerd are stopped (or dead): the
// Pods' containers, the shims, the mounts, the cgroups, the kubelet's iptables chains
// (those it added) and the folder.
void TearDown(const std::string& dir, const std::string& cgroup_root, const std::vector<Chain>& chains) {
  if (!cgroup_root.empty()) KillCgroupTree("/sys/fs/cgroup/memory" + cgroup_root);
  for (pid_t p : ProcessesMentioning(dir)) ::kill(p, SIGKILL);
  UnmountUnder(dir);
  if (!cgroup_root.empty()) {
    for (const auto& [mount, self] : V1Hierarchies()) RemoveCgroupTree(mount + cgroup_root);
    // On a hybrid host runc mirrors the Pods' cgroups into the v2 hierarchy too.
    if (fs::is_directory("/sys/fs/cgroup/unified" + cgroup_root))
      RemoveCgroupTree("/sys/fs/cgroup/unified" + cgroup_root);
  }
  // kube-proxy's chains (KUBE-SERVICES and the rest), when this node started one: its
  // own --cleanup knows them all.
  StatusOr<std::string> kube_proxy = ReadFile(dir + "/kube-proxy-binary", 4096);
  if (kube_proxy.ok() && !kube_proxy->empty()) RunCommand({*kube_proxy, "--cleanup"});
  for (const auto& [iptables, table, chain] : chains) {
    if (!ChainExists(iptables, table, chain)) continue;
    // Unhook the chain from the built-in chains that jump to it, then remove it.
    for (const char* builtin : {"INPUT", "OUTPUT", "FORWARD", "PREROUTING", "POSTROUTING"}) {
      while (RunCommand({iptables, "-w", "-t", table, "-D", builtin, "-j", chain}).exit_code == 0) {
      }
    }
    RunCommand({iptables, "-w", "-t", table, "-F", chain});
    RunCommand({iptables, "-w", "-t", table, "-X", chain});
  }
}

// The cgroup root and the chains a node will leave, written to its folder at the
// start, so that the next Start can clean up after an owner that died.
std::vector<Chain> ReadChains(const std::string& dir) {
  std::vector<Chain> out;
  std::ifstream in(dir + "/iptables-chains");
  std::string iptables, table, chain;
  while (in >> iptables >> table >> chain) out.emplace_back(iptables, table, chain);
  return out;
}

// What a node whose owner died left behind.
void RemoveAbandonedNodes() {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(fs::temp_directory_path(), ec)) {
    if (entry.path().filename().string().rfind(kDirPrefix, 0) != 0) continue;
    StatusOr<std::string> owner = ReadFile((entry.path() / "owner.pid").string(), 64);
    if (!owner.ok()) continue;
    pid_t pid = static_cast<pid_t>(std::atoi(owner->c_str()));
    if (pid <= 0 || ::kill(pid, 0) == 0 || errno != ESRCH) continue;
    StatusOr<std::string> cgroup_root = ReadFile((entry.path() / "cgroup-root").string(), 4096);
    TearDown(entry.path().string(), cgroup_root.ok() ? *cgroup_root : "", ReadChains(entry.path().string()));
    fs::remove_all(entry.path(), ec);
  }
}

// A node folder whose owner process lives (one kept with its owner gone, or a folder
// of another kind that shares the prefix, is no node).
bool LiveNodeExists(const std::string& except) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(fs::temp_directory_path(), ec)) {
    std::string name = entry.path().filename().string();
    if (name.rfind(kDirPrefix, 0) != 0 || entry.path().string() == except) continue;
    StatusOr<std::string> owner = ReadFile((entry.path() / "owner.pid").string(), 64);
    if (!owner.ok()) continue;
    pid_t pid = static_cast<pid_t>(std::atoi(owner->c_str()));
    if (pid > 0 && (::kill(pid, 0) == 0 || errno != ESRCH)) return true;
  }
  return false;
}

}  // namespace

Status RealNode::CanRun() {
  if (::geteuid() != 0) {
    return FailedPreconditionError(
        "not root: a real node needs root for containers, mounts, cgroups and a network bridge");
  }
  if (MemoryCgroupOfSelf().empty()) {
    StatusOr<std::string> own = ReadFile("/proc/self/cgroup", 1 << 16);
    // cgroup v2 is not wired here: this node configures the kubelet for cgroup v1.
    return FailedPreconditionError(
        "no cgroup v1 memory controller at /sys/fs/cgroup/memory holding this process (the node is set up "
        "for cgroup v1); /proc/self/cgroup: " +
        (own.ok() ? *own : own.status().ToString()));
  }
  for (const char* tool : {"/usr/sbin/runc", "/usr/lib/cni/bridge", "/usr/lib/cni/host-local"}) {
    if (::access(tool, X_OK) != 0) {
      return FailedPreconditionError(std::string(tool) +
                                     " is missing: install runc and containernetworking-plugins "
                                     "(scripts/install-deps.sh)");
    }
  }
  return Status::Ok();
}

StatusOr<std::unique_ptr<RealNode>> RealNode::Start(const ControlPlane& control_plane, Options options) {
  GTR_RETURN_IF_ERROR(CanRun());
  for (auto [field, var, script] :
       {std::tuple{&options.bin_dir, "GOTESTRUN_NODE_BIN", "tests/realnode/build.sh"},
        std::tuple{&options.images_dir, "GOTESTRUN_NODE_IMAGES", "tests/realnode/images.sh"}}) {
    if (!field->empty()) continue;
    const char* env = std::getenv(var);
    if (env == nullptr || *env == '\0') {
      return FailedPreconditionError(std::string(var) + " is not set: run " + script +
                                     " and point the variable at the folder it prints");
    }
    *field = env;
  }
  std::unique_ptr<RealNode> node(new RealNode());
  node->options_ = std::move(options);
  Status s = node->Init(control_plane);
  if (!s.ok()) return s;
  return node;
}

Status RealNode::Init(const ControlPlane& control_plane) {
  RemoveAbandonedNodes();
  std::string templ = (fs::temp_directory_path() / (std::string(kDirPrefix) + "XXXXXX")).string();
  if (::mkdtemp(templ.data()) == nullptr) return InternalError("mkdtemp " + templ);
  dir_ = templ;
  GTR_RETURN_IF_ERROR(WriteFileAtomic(dir_ + "/owner.pid", std::to_string(::getpid())));
  if (LiveNodeExists(dir_)) {
    return FailedPreconditionError("another real node runs on this machine (a live " + std::string(kDirPrefix) +
                                   "* folder in " + fs::temp_directory_path().string() +
                                   "): the bridge and its subnet are one per machine");
  }
  for (const auto& [table, chain] : kKubeletChains) {
    if (!ChainExists("iptables", table, chain)) chains_to_remove_.push_back({"iptables", table, chain});
    if (!ChainExists("ip6tables", table, chain)) chains_to_remove_.push_back({"ip6tables", table, chain});
  }
  std::string chains;
  for (const auto& [iptables, table, chain] : chains_to_remove_) chains += iptables + " " + table + " " + chain + "\n";
  GTR_RETURN_IF_ERROR(WriteFileAtomic(dir_ + "/iptables-chains", chains));
  GTR_RETURN_IF_ERROR(CreateCgroups());
  GTR_RETURN_IF_ERROR(CreateBridge());
  GTR_RETURN_IF_ERROR(StartContainerd());
  GTR_RETURN_IF_ERROR(ImportImages());
  GTR_RETURN_IF_ERROR(StartKubelet(control_plane));
  GTR_RETURN_IF_ERROR(WaitNodeReady(control_plane));
  if (options_.service_network) GTR_RETURN_IF_ERROR(StartServiceNetwork(control_plane));
  if (options_.bind_unscheduled_pods) {
    binder_ = std::thread([this, config = control_plane.AdminConfig()] {
      auto client = kube::Client::Create(config);
      if (!client.ok()) return;
      while (!stop_binding_.load()) {
        auto pods = (*client)->List(kube::ResourceType::Pods(), "", {.field_selector = "spec.nodeName="});
        for (const auto& pod : pods.ok() ? pods->items : std::vector<kube::Json>{}) {
          const kube::Json& meta = pod["metadata"];
          std::string scheduler = pod["spec"].value("schedulerName", "default-scheduler");
          if (scheduler != "default-scheduler" || meta.contains("deletionTimestamp")) continue;
          kube::Json binding = {
              {"apiVersion", "v1"},
              {"kind", "Binding"},
              {"metadata", {{"name", meta.value("name", "")}, {"namespace", meta.value("namespace", "")}}},
              {"target", {{"apiVersion", "v1"}, {"kind", "Node"}, {"name", options_.node_name}}}};
          // A Conflict: bound meanwhile. Anything else is tried again on the next pass.
          (void)(*client)->CreateSubresource(kube::ResourceType::Pods(), meta.value("namespace", ""),
                                             meta.value("name", ""), "binding", binding);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
    });
  }
  return Status::Ok();
}

Status RealNode::ImportImage(const std::string& archive) {
  return MustRun(
      {options_.bin_dir + "/ctr", "--address", dir_ + "/containerd.sock", "-n", "k8s.io", "images", "import", archive});
}

RealNode::~RealNode() { Cleanup(); }

Status RealNode::CreateCgroups() {
  // Under this process's own memory cgroup, the same path in every hierarchy: the
  // kubelet (cgroupfs driver) wants its cgroup root in all of them.
  cgroup_root_ = MemoryCgroupOfSelf() + "/" + fs::path(dir_).filename().string();
  GTR_RETURN_IF_ERROR(WriteFileAtomic(dir_ + "/cgroup-root", cgroup_root_));
  for (const auto& [mount, self] : V1Hierarchies()) {
    std::error_code ec;
    fs::path leaf = mount + cgroup_root_;
    fs::create_directories(leaf, ec);
    if (ec) return InternalError("create cgroup " + leaf.string() + ": " + ec.message());
    if (mount != "/sys/fs/cgroup/cpuset") continue;
    // A new cpuset cgroup starts with no CPUs and no memory nodes: each level takes
    // its parent's, top down, or no process could join it.
    fs::path level = mount;
    for (const auto& part : fs::path(cgroup_root_).relative_path()) {
      fs::path parent = level;
      level /= part;
      for (const char* file : {"cpuset.cpus", "cpuset.mems"}) {
        StatusOr<std::string> mine = ReadFile((level / file).string(), 4096);
        if (mine.ok() && mine->find_first_not_of(" \n") != std::string::npos) continue;
        StatusOr<std::string> theirs = ReadFile((parent / file).string(), 4096);
        if (!theirs.ok()) return theirs.status().Annotate("cpuset of " + parent.string());
        std::ofstream out(level / file);
        out << *theirs;
      }
    }
  }
  return Status::Ok();
}

Status RealNode::CreateBridge() {
  // A bridge left by a node whose owner died (no live node folder is left: checked above).
  if (RunCommand({"ip", "link", "show", kBridge}).exit_code == 0) {
    GTR_RETURN_IF_ERROR(MustRun({"ip", "link", "del", kBridge}));
  }
  GTR_RETURN_IF_ERROR(MustRun({"ip", "link", "add", kBridge, "type", "bridge"}));
  bridge_created_ = true;
  GTR_RETURN_IF_ERROR(MustRun({"ip", "addr", "add", std::string(kGateway) + "/24", "dev", kBridge}));
  return MustRun({"ip", "link", "set", kBridge, "up"});
}

Status RealNode::StartContainerd() {
  const std::string d = dir_ + "/";
  std::error_code ec;
  fs::create_directories(d + "cni", ec);
  // The bridge plugin finds the bridge and its address in place (isGateway); no NAT:
  // the Pods talk to this machine only.
  GTR_RETURN_IF_ERROR(WriteFileAtomic(
      d + "cni/10-gotestrun.conflist",
      std::string(R"({"cniVersion":"1.0.0","name":"gotestrun","plugins":[{"type":"bridge","bridge":")") + kBridge +
          R"(","isGateway":true,"ipMasq":false,"hairpinMode":true,"ipam":{"type":"host-local","ranges":[[{"subnet":")" +
          kSubnet + R"(","gateway":")" + kGateway + R"("}]],"routes":[{"dst":"0.0.0.0/0"}],"dataDir":")" + d +
          R"(cni-ipam"}}]})"
          "\n"));
  // restrict_oom_score_adj: this machine withholds CAP_SYS_RESOURCE even from root, so
  // runc cannot give the sandbox the kubelet's -998 ("failed to update
  // /proc/self/oom_score_adj: Permission denied"); containerd raises each score to
  // its own instead.
  GTR_RETURN_IF_ERROR(
      WriteFileAtomic(d + "containerd.toml",
                      "version = 3\n"
                      "root = \"" +
                          d +
                          "containerd/root\"\n"
                          "state = \"" +
                          d +
                          "containerd/state\"\n"
                          "disabled_plugins = [\"io.containerd.nri.v1.nri\"]\n"
                          "[grpc]\n"
                          "  address = \"" +
                          d +
                          "containerd.sock\"\n"
                          "[ttrpc]\n"
                          "  address = \"" +
                          d +
                          "containerd.sock.ttrpc\"\n"
                          "[plugins.'io.containerd.internal.v1.opt']\n"
                          "  path = \"" +
                          d +
                          "containerd/opt\"\n"
                          "[plugins.'io.containerd.cri.v1.images']\n"
                          "  snapshotter = \"overlayfs\"\n"
                          "  [plugins.'io.containerd.cri.v1.images'.pinned_images]\n"
                          "    sandbox = \"" +
                          kPauseImage +
                          "\"\n"
                          "[plugins.'io.containerd.cri.v1.runtime']\n"
                          "  restrict_oom_score_adj = true\n"
                          "  netns_mounts_under_state_dir = true\n"
                          "  [plugins.'io.containerd.cri.v1.runtime'.cni]\n"
                          "    bin_dirs = [\"/usr/lib/cni\"]\n"
                          "    conf_dir = \"" +
                          d +
                          "cni\"\n"
                          "  [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]\n"
                          "    runtime_type = \"io.containerd.runc.v2\"\n"
                          "  [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]\n"
                          "    BinaryName = \"/usr/sbin/runc\"\n"
                          "    SystemdCgroup = false\n"
                          "[plugins.'io.containerd.grpc.v1.cri']\n"
                          "  stream_server_address = \"127.0.0.1\"\n"
                          "  stream_server_port = \"0\"\n"));
  // containerd finds its shim on PATH.
  const char* path = std::getenv("PATH");
  StatusOr<Subprocess> p = Subprocess::Spawn({
      .argv = {options_.bin_dir + "/containerd", "--config", d + "containerd.toml"},
      .extra_env = {"PATH=" + options_.bin_dir + ":" + (path ? path : "/usr/sbin:/usr/bin:/sbin:/bin")},
      .output_file = d + "containerd.log",
  });
  if (!p.ok()) return p.status();
  containerd_.emplace(std::move(*p));
  for (int i = 0; i < 300; ++i) {
    if (!containerd_->running()) return InternalError("containerd exited: " + Tail(d + "containerd.log"));
    if (RunCommand({options_.bin_dir + "/ctr", "--address", d + "containerd.sock", "version"}).exit_code == 0) {
      return Status::Ok();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return DeadlineExceededError("containerd did not answer within 30s: " + Tail(d + "containerd.log"));
}

Status RealNode::ImportImages() {
  StatusOr<std::string> name = ReadFile(options_.images_dir + "/go.name", 4096);
  if (!name.ok()) return name.status().Annotate("the Go image's name (tests/realnode/images.sh)");
  go_image_ = name->substr(0, name->find_first_of(" \n"));
  for (const char* archive : {"pause.tar", "go.tar"}) {
    GTR_RETURN_IF_ERROR(MustRun({options_.bin_dir + "/ctr", "--address", dir_ + "/containerd.sock", "-n", "k8s.io",
                                 "images", "import", options_.images_dir + "/" + archive}));
  }
  return Status::Ok();
}

Status RealNode::StartKubelet(const ControlPlane& control_plane) {
  const std::string d = dir_ + "/";
  StatusOr<int> port = FreeLoopbackPort();
  if (!port.ok()) return port.status();
  StatusOr<int> healthz = FreeLoopbackPort();
  if (!healthz.ok()) return healthz.status();
  // Eviction thresholds at the floor: a test machine's disk and memory are shared,
  // and an eviction would end a test Pod for reasons the test is not about.
  GTR_RETURN_IF_ERROR(WriteFileAtomic(
      d + "kubelet.yaml",
      "apiVersion: kubelet.config.k8s.io/v1beta1\n"
      "kind: KubeletConfiguration\n"
      "failCgroupV1: false\n"
      "failSwapOn: false\n"
      "cgroupDriver: cgroupfs\n"
      "cgroupRoot: " +
          cgroup_root_ +
          "\n"
          "containerRuntimeEndpoint: unix://" +
          d +
          "containerd.sock\n"
          "address: 127.0.0.1\n"
          "port: " +
          std::to_string(*port) +
          "\n"
          "readOnlyPort: 0\n"
          "healthzBindAddress: 127.0.0.1\n"
          "healthzPort: " +
          std::to_string(*healthz) +
          "\n"
          "authentication:\n"
          "  anonymous: {enabled: false}\n"
          "  webhook: {enabled: false}\n"
          "  x509: {clientCAFile: " +
          control_plane.dir() +
          "/ca.crt}\n"
          "authorization: {mode: AlwaysAllow}\n"
          "resolvConf: \"\"\n"
          "podLogsDir: " +
          d +
          "pod-logs\n"
          "evictionHard: {memory.available: \"1Mi\", nodefs.available: \"1%\", imagefs.available: \"1%\"}\n"
          "imageGCHighThresholdPercent: 100\n"
          "imageGCLowThresholdPercent: 99\n"));
  StatusOr<Subprocess> p = Subprocess::Spawn({
      .argv = {options_.bin_dir + "/kubelet", "--config", d + "kubelet.yaml", "--kubeconfig",
               control_plane.kubeconfig_path(), "--root-dir", d + "kubelet", "--cert-dir", d + "kubelet-certs",
               "--hostname-override", options_.node_name, "--node-ip", kGateway, "--v=2"},
      .output_file = d + "kubelet.log",
  });
  if (!p.ok()) return p.status();
  kubelet_.emplace(std::move(*p));
  return Status::Ok();
}

Status RealNode::WaitNodeReady(const ControlPlane& control_plane) {
  auto client = kube::Client::Create(control_plane.AdminConfig());
  if (!client.ok()) return client.status();
  std::string last = "not registered";
  for (int i = 0; i < 600; ++i) {
    if (!kubelet_->running()) return InternalError("kubelet exited: " + Tail(dir_ + "/kubelet.log"));
    auto node = (*client)->Get(kube::ResourceType::Nodes(), "", options_.node_name);
    if (node.ok()) {
      for (const auto& c : (*node)["status"].value("conditions", kube::Json::array())) {
        if (c.value("type", "") != "Ready") continue;
        if (c.value("status", "") == "True") return Status::Ok();
        last = c.value("reason", "") + ": " + c.value("message", "");
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return DeadlineExceededError("node " + options_.node_name + " not Ready within 60s (" + last +
                               "): " + Tail(dir_ + "/kubelet.log"));
}

Status RealNode::StartServiceNetwork(const ControlPlane& control_plane) {
  const std::string d = dir_ + "/";
  // kube-proxy --cleanup removes every KUBE- chain: refuse to start one beside a
  // kube-proxy this node did not start.
  if (ChainExists("iptables", "nat", "KUBE-SERVICES")) {
    return FailedPreconditionError(
        "iptables' nat table already has KUBE-SERVICES: another kube-proxy runs on this machine");
  }
  GTR_RETURN_IF_ERROR(WriteFileAtomic(d + "kube-proxy-binary", options_.bin_dir + "/kube-proxy"));
  // The API server listens on 127.0.0.1, which is the Pod's own loopback inside its
  // network namespace: a forwarder on the bridge's address, at the API server's port,
  // is what the `kubernetes` Service's endpoint names.
  const int port = control_plane.apiserver_port();
  in_addr gateway{};
  ::inet_pton(AF_INET, kGateway, &gateway);
  auto forwarder = TcpProxy::Start(port, ntohl(gateway.s_addr), port);
  if (!forwarder.ok()) return forwarder.status().Annotate("the API server's forwarder on " + std::string(kGateway));
  api_forwarder_ = std::move(*forwarder);
  // The control plane runs with --endpoint-reconciler-type=none (its address is
  // loopback), so the `kubernetes` Service has no endpoints until they are written here.
  auto client = kube::Client::Create(control_plane.AdminConfig());
  if (!client.ok()) return client.status();
  kube::Json slice = {{"apiVersion", "discovery.k8s.io/v1"},
                      {"kind", "EndpointSlice"},
                      {"metadata",
                       {{"name", "kubernetes"},
                        {"namespace", "default"},
                        {"labels",
                         {{"kubernetes.io/service-name", "kubernetes"},
                          {"endpointslice.kubernetes.io/managed-by", "real-node.gotestrun.dev"}}}}},
                      {"addressType", "IPv4"},
                      {"endpoints", {{{"addresses", {kGateway}}, {"conditions", {{"ready", true}}}}}},
                      {"ports", {{{"name", "https"}, {"port", port}, {"protocol", "TCP"}}}}};
  auto created =
      (*client)->Create(kube::ResourceType{"discovery.k8s.io", "v1", "endpointslices", true}, "default", slice);
  if (!created.ok() && created.status().code() != StatusCode::kAlreadyExists) {
    return created.status().Annotate("the kubernetes Service's EndpointSlice");
  }
  StatusOr<int> healthz = FreeLoopbackPort();
  if (!healthz.ok()) return healthz.status();
  StatusOr<int> metrics = FreeLoopbackPort();
  if (!metrics.ok()) return metrics.status();
  // No conntrack or OOM-score changes: the machine's settings are not the test's to
  // change (and root here lacks CAP_SYS_RESOURCE for a negative score).
  GTR_RETURN_IF_ERROR(
      WriteFileAtomic(d + "kube-proxy.yaml",
                      "apiVersion: kubeproxy.config.k8s.io/v1alpha1\n"
                      "kind: KubeProxyConfiguration\n"
                      "clientConnection: {kubeconfig: " +
                          control_plane.kubeconfig_path() +
                          "}\n"
                          "hostnameOverride: " +
                          options_.node_name +
                          "\n"
                          "mode: iptables\n"
                          "clusterCIDR: " +
                          kSubnet +
                          "\n"
                          "detectLocalMode: ClusterCIDR\n"
                          "healthzBindAddress: 127.0.0.1:" +
                          std::to_string(*healthz) +
                          "\n"
                          "metricsBindAddress: 127.0.0.1:" +
                          std::to_string(*metrics) +
                          "\n"
                          "nodePortAddresses: [" +
                          kGateway +
                          "/32]\n"
                          "oomScoreAdj: 0\n"
                          "iptables: {localhostNodePorts: false}\n"
                          "conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}\n"));
  StatusOr<Subprocess> p = Subprocess::Spawn({
      .argv = {options_.bin_dir + "/kube-proxy", "--config", d + "kube-proxy.yaml", "--v=2"},
      .output_file = d + "kube-proxy.log",
  });
  if (!p.ok()) return p.status();
  kube_proxy_.emplace(std::move(*p));
  // Ready when the `kubernetes` Service's ClusterIP has its rule.
  for (int i = 0; i < 600; ++i) {
    if (!kube_proxy_->running()) return InternalError("kube-proxy exited: " + Tail(d + "kube-proxy.log"));
    CommandResult rules = RunCommand({"iptables", "-w", "-t", "nat", "-S", "KUBE-SERVICES"});
    if (rules.exit_code == 0 && rules.output.find("kubernetes:https") != std::string::npos &&
        rules.output.find("KUBE-SVC-") != std::string::npos) {
      return Status::Ok();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return DeadlineExceededError("kube-proxy wrote no rule for the kubernetes Service within 60s: " +
                               Tail(d + "kube-proxy.log"));
}

void RealNode::Cleanup() {
  if (dir_.empty()) return;
  stop_binding_ = true;
  if (binder_.joinable()) binder_.join();
  if (kube_proxy_) kube_proxy_->Stop(std::chrono::milliseconds(5000));
  api_forwarder_.reset();
  if (kubelet_) kubelet_->Stop(std::chrono::milliseconds(5000));
  // The Pods' containers first: containerd, stopping, would otherwise wait on them.
  if (!cgroup_root_.empty()) KillCgroupTree("/sys/fs/cgroup/memory" + cgroup_root_);
  if (containerd_) containerd_->Stop(std::chrono::milliseconds(5000));
  TearDown(dir_, cgroup_root_, chains_to_remove_);
  if (bridge_created_) RunCommand({"ip", "link", "del", kBridge});
  std::error_code ec;
  if (std::getenv("GOTESTRUN_KEEP_NODE") == nullptr) fs::remove_all(dir_, ec);
}

}  // namespace gotestrun::testing
