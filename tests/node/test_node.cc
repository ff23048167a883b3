#include "tests/node/test_node.h"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>

#include "base/files.h"
#include "base/timestamps.h"
#include "core/evidence/evidence.h"
#include "core/policy/quantity.h"

namespace gotestrun::testing {
namespace {

namespace fs = std::filesystem;
using kube::Json;
using kube::MetaString;
using sandbox::ExitInfo;

std::string Str(const Json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

const Json& Field(const Json& j, const char* key) {
  static const Json kNull;
  return j.is_object() && j.contains(key) ? j[key] : kNull;
}

// The API's exit code for a process that a signal ended: 128 + the signal.
int ExitCode(const ExitInfo& e) { return e.signal != 0 ? 128 + e.signal : e.exit_code; }

Json Terminated(const sandbox::RunResult& r, const std::string& started, const std::string& message) {
  int code = ExitCode(r.exit);
  std::string reason = r.oom_killed ? "OOMKilled" : code == 0 ? "Completed" : "Error";
  Json t = {{"exitCode", code}, {"reason", reason}, {"startedAt", started}, {"finishedAt", Rfc3339Now()}};
  if (r.exit.signal != 0) t["signal"] = r.exit.signal;
  if (!message.empty()) t["message"] = message;
  return t;
}

Json ContainerStatus(const Json& container, Json state) {
  bool running = state.contains("running");
  return {{"name", Str(container, "name")},
          {"image", Str(container, "image")},
          {"imageID", ""},
          {"ready", running},
          {"started", running},
          {"restartCount", 0},
          {"state", std::move(state)}};
}

}  // namespace

std::string RewritePaths(const std::string& value, const std::vector<PathRewrite>& rewrites) {
  // Longest mount path first, so /a/b wins over /a. A mount path counts only as a whole
  // path component: "/data" rewrites "/data" and "/data/x", not "/database".
  std::string out;
  size_t i = 0;
  while (i < value.size()) {
    bool replaced = false;
    if (i == 0 || value[i - 1] == '=' || value[i - 1] == ':' || value[i - 1] == ' ') {
      for (const PathRewrite& r : rewrites) {
        const std::string& m = r.mount_path;
        if (value.compare(i, m.size(), m) != 0) continue;
        size_t end = i + m.size();
        if (end < value.size() && value[end] != '/' && value[end] != ':' && value[end] != ' ') continue;
        out += r.host_path;
        i = end;
        replaced = true;
        break;
      }
    }
    if (!replaced) out += value[i++];
  }
  return out;
}

TestNode::TestNode(kube::Client& client, TestNodeOptions options) : client_(client), options_(std::move(options)) {}

TestNode::~TestNode() { Stop(); }

Status TestNode::RegisterNode() {
  const auto nodes = kube::ResourceType::Nodes();
  Json node = {{"apiVersion", "v1"},
               {"kind", "Node"},
               {"metadata",
                {{"name", options_.node_name},
                 {"labels", {{"kubernetes.io/hostname", options_.node_name}, {"gotestrun.dev/test-node", "true"}}}}}};
  auto created = client_.Create(nodes, "", node);
  if (!created.ok() && created.status().code() != StatusCode::kAlreadyExists) return created.status();
  std::string now = Rfc3339Now();
  Json resources = {{"cpu", options_.cpu_capacity}, {"memory", options_.memory_capacity}, {"pods", "110"}};
  Json status = {
      {"status",
       {{"capacity", resources},
        {"allocatable", resources},
        {"addresses",
         {{{"type", "InternalIP"}, {"address", "127.0.0.1"}}, {{"type", "Hostname"}, {"address", options_.node_name}}}},
        {"conditions",
         {{{"type", "Ready"},
           {"status", "True"},
           {"reason", "TestNodeReady"},
           {"message", "processes run on the host"},
           {"lastHeartbeatTime", now},
           {"lastTransitionTime", now}}}},
        {"nodeInfo",
         {{"kubeletVersion", "gotestrun-test-node"},
          {"containerRuntimeVersion", "host-processes"},
          {"operatingSystem", "linux"},
          {"architecture", "amd64"}}}}}};
  auto patched = client_.MergePatch(nodes, "", options_.node_name, status, kube::Subresource::kStatus);
  return patched.status();
}

Status TestNode::Start() {
  std::error_code ec;
  fs::create_directories(options_.work_dir + "/pods", ec);
  if (ec) return FailedPreconditionError("test node work dir " + options_.work_dir + ": " + ec.message());
  GTR_RETURN_IF_ERROR(RegisterNode());
  pods_ = std::make_unique<runtime::Informer>(client_, kube::ResourceType::Pods());
  controller_ = std::make_unique<runtime::Controller>("test-node", static_cast<runtime::Reconciler&>(*this), 4);
  controller_->For(*pods_);
  spdlog::info("test node {}: memory limits enforced by {}{}", options_.node_name,
               sandbox::MemoryEnforcementName(sandbox_.enforcement()),
               sandbox_.enforcement_note().empty() ? "" : " (" + sandbox_.enforcement_note() + ")");
  return controller_->Start();
}

void TestNode::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [uid, p] : running_) p->stop = true;
  }
  if (controller_) controller_->Stop();
  if (pods_) pods_->Stop();
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [uid, p] : running_) {
    if (p->thread.joinable()) p->thread.join();
  }
  running_.clear();
}

Status TestNode::Bind(const Json& pod) {
  Json binding = {{"apiVersion", "v1"},
                  {"kind", "Binding"},
                  {"metadata", {{"name", MetaString(pod, "name")}, {"namespace", MetaString(pod, "namespace")}}},
                  {"target", {{"apiVersion", "v1"}, {"kind", "Node"}, {"name", options_.node_name}}}};
  auto r = client_.CreateSubresource(kube::ResourceType::Pods(), MetaString(pod, "namespace"), MetaString(pod, "name"),
                                     "binding", binding);
  // Someone bound it first (a Conflict): it is theirs.
  if (!r.ok() && r.status().code() != StatusCode::kAborted) return r.status();
  return Status::Ok();
}

StatusOr<runtime::ReconcileResult> TestNode::Reconcile(const std::string& key, uint64_t) {
  runtime::ObjectPtr pod = pods_->store().Get(key);
  if (pod == nullptr) return runtime::ReconcileResult{};  // deleted: handled when deletionTimestamp was set
  const Json& spec = Field(*pod, "spec");
  std::string node = Str(spec, "nodeName");
  if (node.empty()) {
    std::string scheduler = Str(spec, "schedulerName");
    if (!scheduler.empty() && scheduler != "default-scheduler") return runtime::ReconcileResult{};
    GTR_RETURN_IF_ERROR(Bind(*pod));
    return runtime::ReconcileResult{};
  }
  if (node != options_.node_name) return runtime::ReconcileResult{};

  std::string uid = MetaString(*pod, "uid");
  bool deleting = !MetaString(*pod, "deletionTimestamp").empty();
  std::string phase = Str(Field(*pod, "status"), "phase");
  std::lock_guard<std::mutex> lock(mu_);
  auto it = running_.find(uid);
  if (deleting) {
    if (it != running_.end() && !it->second->done) {
      it->second->stop = true;
      return runtime::ReconcileResult{std::chrono::milliseconds(200)};  // finalize once it has stopped
    }
    // As a kubelet does once the containers are gone: remove the object for good.
    kube::DeleteOptions now;
    now.grace_period_seconds = 0;
    now.preconditions.uid = uid;
    Status s = client_.Delete(kube::ResourceType::Pods(), MetaString(*pod, "namespace"), MetaString(*pod, "name"), now);
    if (!s.ok() && s.code() != StatusCode::kNotFound && s.code() != StatusCode::kAborted) return s;
    if (it != running_.end()) {
      if (it->second->thread.joinable()) it->second->thread.join();
      running_.erase(it);
    }
    return runtime::ReconcileResult{};
  }
  if (it != running_.end() || phase == "Succeeded" || phase == "Failed") return runtime::ReconcileResult{};
  auto running = std::make_unique<RunningPod>();
  RunningPod* raw = running.get();
  running->thread = std::thread([this, p = *pod, raw] { RunPod(p, raw); });
  running_[uid] = std::move(running);
  ++pods_started_;
  return runtime::ReconcileResult{};
}

void TestNode::PatchStatus(const Json& pod, const Json& status) {
  auto r = client_.MergePatch(kube::ResourceType::Pods(), MetaString(pod, "namespace"), MetaString(pod, "name"),
                              {{"status", status}}, kube::Subresource::kStatus);
  if (!r.ok()) spdlog::warn("test node: status of pod {}: {}", kube::ObjectKey(pod), r.status().ToString());
}

void TestNode::RunPod(Json pod, RunningPod* running) {
  const std::string key = kube::ObjectKey(pod);
  const std::string uid = MetaString(pod, "uid");
  const std::string pod_dir = options_.work_dir + "/pods/" + uid;
  const std::string start_time = Rfc3339Now();
  const Json& spec = Field(pod, "spec");
  auto fail = [&](const std::string& reason, const std::string& message) {
    spdlog::warn("test node: pod {} failed: {}: {}", key, reason, message);
    PatchStatus(pod, {{"phase", "Failed"}, {"reason", reason}, {"message", message}, {"startTime", start_time}});
    running->done = true;
  };

  // Volumes -> host folders.
  std::map<std::string, std::string> volume_dirs;
  if (Field(spec, "volumes").is_array()) {
    for (const Json& v : spec["volumes"]) {
      std::string name = Str(v, "name");
      std::string dir;
      if (v.contains("emptyDir")) {
        dir = pod_dir + "/volumes/" + name;
      } else if (v.contains("persistentVolumeClaim")) {
        std::string claim = Str(v["persistentVolumeClaim"], "claimName");
        auto c = options_.claim_folders.find(claim);
        if (c == options_.claim_folders.end())
          return fail("UnknownClaim", "no folder for claim '" + claim + "' on this test node");
        dir = c->second;
      } else if (v.contains("hostPath")) {
        dir = Str(v["hostPath"], "path");
      } else {
        return fail("UnsupportedVolume",
                    "volume '" + name + "': the test node supports emptyDir, persistentVolumeClaim and hostPath");
      }
      std::error_code ec;
      fs::create_directories(dir, ec);
      volume_dirs[name] = dir;
    }
  }
  std::error_code ec;
  fs::create_directories(pod_dir, ec);

  struct Prepared {
    sandbox::RunOptions run;
    std::string error;
  };
  auto prepare = [&](const Json& c) {
    Prepared p;
    std::vector<PathRewrite> rewrites;
    if (Field(c, "volumeMounts").is_array()) {
      for (const Json& m : c["volumeMounts"]) {
        auto d = volume_dirs.find(Str(m, "name"));
        if (d == volume_dirs.end()) {
          p.error = "volumeMount '" + Str(m, "name") + "' names no volume";
          return p;
        }
        std::string host = d->second;
        if (!Str(m, "subPath").empty()) host += "/" + Str(m, "subPath");
        fs::create_directories(host, ec);
        rewrites.push_back({Str(m, "mountPath"), host});
      }
    }
    std::sort(rewrites.begin(), rewrites.end(),
              [](const PathRewrite& a, const PathRewrite& b) { return a.mount_path.size() > b.mount_path.size(); });
    for (const char* list : {"command", "args"}) {
      if (!Field(c, list).is_array()) continue;
      for (const Json& a : c[list]) {
        if (a.is_string()) p.run.argv.push_back(RewritePaths(a.get<std::string>(), rewrites));
      }
    }
    if (!Field(c, "command").is_array() || c["command"].empty()) {
      p.error = "container '" + Str(c, "name") + "' has no command; the test node pulls no images and needs one";
      return p;
    }
    if (Field(c, "env").is_array()) {
      for (const Json& e : c["env"]) {
        if (e.contains("valueFrom")) {
          p.error = "env '" + Str(e, "name") + "': valueFrom is not supported on the test node";
          return p;
        }
        p.run.env.push_back(Str(e, "name") + "=" + RewritePaths(Str(e, "value"), rewrites));
      }
    }
    p.run.working_dir = RewritePaths(Str(c, "workingDir"), rewrites);
    if (p.run.working_dir.empty()) p.run.working_dir = pod_dir;
    p.run.output_file = pod_dir + "/" + Str(c, "name") + ".log";
    std::string memory = Str(Field(Field(c, "resources"), "limits"), "memory");
    if (!memory.empty()) {
      auto bytes = policy::ParseMemoryQuantity(memory);
      if (!bytes.ok()) {
        p.error = "memory limit: " + bytes.status().message();
        return p;
      }
      p.run.memory_limit_bytes = *bytes;
    }
    p.run.stop_requested = [running] { return running->stop.load(); };
    p.run.stop_grace = std::chrono::milliseconds(2000);
    // As on cgroup v2 with memory.oom.group: an OOM kill takes the whole container.
    p.run.kill_tree_on_oom = true;
    return p;
  };

  PatchStatus(pod, {{"phase", "Pending"}, {"hostIP", "127.0.0.1"}, {"podIP", "127.0.0.1"}, {"startTime", start_time}});

  Json init_statuses = Json::array();
  if (Field(spec, "initContainers").is_array()) {
    for (const Json& c : spec["initContainers"]) {
      Prepared p = prepare(c);
      if (!p.error.empty()) return fail("CreateContainerConfigError", p.error);
      std::string started = Rfc3339Now();
      auto r = options_.canned ? StatusOr<sandbox::RunResult>(Replay(p.run)) : sandbox_.Run(p.run);
      if (!r.ok()) return fail("StartError", "init container '" + Str(c, "name") + "': " + r.status().message());
      init_statuses.push_back(ContainerStatus(c, {{"terminated", Terminated(*r, started, "")}}));
      if (r->stopped || ExitCode(r->exit) != 0) {
        PatchStatus(pod, {{"phase", "Failed"}, {"initContainerStatuses", init_statuses}});
        running->done = true;
        return;
      }
    }
  }

  if (!Field(spec, "containers").is_array() || spec["containers"].size() != 1) {
    return fail("UnsupportedPod", "the test node runs pods with exactly one container");
  }
  const Json& c = spec["containers"][0];
  Prepared p = prepare(c);
  if (!p.error.empty()) return fail("CreateContainerConfigError", p.error);
  std::string started = Rfc3339Now();
  PatchStatus(pod, {{"phase", "Running"},
                    {"initContainerStatuses", init_statuses},
                    {"containerStatuses", {ContainerStatus(c, {{"running", {{"startedAt", started}}}})}}});
  auto r = options_.canned ? StatusOr<sandbox::RunResult>(Replay(p.run)) : sandbox_.Run(p.run);
  if (!r.ok()) return fail("StartError", "container '" + Str(c, "name") + "': " + r.status().message());
  if (!options_.canned) spdlog::info("test node: pod {} container {} ended: {}", key, Str(c, "name"), r->ToString());
  std::string message = r->killed_at_limit ? "killed at the memory limit by the RSS watch (no cgroup)" : "";
  Json terminated = Terminated(*r, started, message);
  PatchStatus(pod, {{"phase", ExitCode(r->exit) == 0 && !r->oom_killed ? "Succeeded" : "Failed"},
                    {"initContainerStatuses", init_statuses},
                    {"containerStatuses", {ContainerStatus(c, {{"terminated", terminated}})}}});
  running->done = true;
}

sandbox::RunResult TestNode::Replay(const sandbox::RunOptions& run) {
  sandbox::RunResult r;
  r.exit.exit_code = 0;
  const std::vector<std::string>& argv = run.argv;
  auto value = [&](const std::string& flag) {
    auto it = std::find(argv.begin(), argv.end(), flag);
    return it != argv.end() && it + 1 != argv.end() ? *(it + 1) : std::string();
  };
  auto write_log = [&](const std::string& text) {
    if (auto s = WriteFileAtomic(run.output_file, text + "\n"); !s.ok()) spdlog::warn("test node: {}", s.ToString());
  };
  const std::string verb = argv.size() > 1 ? argv[1] : std::string();
  if (verb == "list") {
    const std::string out = value("--out");
    std::error_code ec;
    fs::create_directories(fs::path(out).parent_path(), ec);
    if (Status s = WriteFileAtomic(out, options_.canned->plan_packages()); !s.ok()) {
      write_log(s.ToString());
      r.exit.exit_code = 1;
    }
    return r;
  }
  if (verb != "run") return r;  // installing the agent: nothing to copy

  const std::string dir = value("--dir");
  std::vector<std::string> packages;
  if (auto dash = std::find(argv.begin(), argv.end(), "--"); dash != argv.end()) packages.assign(dash + 1, argv.end());
  const int attempt = evidence::AttemptOfFolderName(fs::path(dir).filename().string()).value_or(0);
  std::optional<CannedAttempt> canned = options_.canned->For(packages, attempt, run.memory_limit_bytes);
  if (!canned) {
    write_log("no canned evidence for these packages");
    r.exit.exit_code = 1;
    return r;
  }
  const auto until = std::chrono::steady_clock::now() + options_.canned_run_time;
  while (std::chrono::steady_clock::now() < until) {
    if (run.stop_requested && run.stop_requested()) {
      r.stopped = true;
      r.exit = {.exit_code = -1, .signal = SIGTERM};
      return r;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (Status s = CopyEvidence(canned->evidence_dir, dir); !s.ok()) {
    write_log(s.ToString());
    r.exit.exit_code = 1;
    return r;
  }
  if (canned->oom_killed) {
    // As the kernel ends a container over its limit: SIGKILL, counted by the cgroup.
    r.exit = {.exit_code = -1, .signal = SIGKILL};
    r.oom_killed = true;
    r.oom_kill_count = 1;
  }
  return r;
}

}  // namespace gotestrun::testing
