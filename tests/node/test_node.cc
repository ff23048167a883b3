#include "tests/node/test_node.h"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <thread>

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

// What a fieldRef names, for the fields Pods here use; nullopt for any other.
std::optional<std::string> FieldPathValue(const Json& pod, const std::string& path) {
  if (path == "metadata.name") return MetaString(pod, "name");
  if (path == "metadata.namespace") return MetaString(pod, "namespace");
  if (path == "metadata.uid") return MetaString(pod, "uid");
  if (path == "spec.nodeName") return Str(Field(pod, "spec"), "nodeName");
  if (path == "spec.serviceAccountName") {
    std::string sa = Str(Field(pod, "spec"), "serviceAccountName");
    return sa.empty() ? "default" : sa;
  }
  return std::nullopt;
}

// A projected file's path inside its volume: relative, and not climbing out of it.
bool SafeRelativePath(const std::string& path) {
  return !path.empty() && path[0] != '/' && path.find("..") == std::string::npos;
}

}  // namespace

std::string ExpandEnvReferences(const std::string& value, const std::vector<std::string>& env) {
  // The last definition wins, as in the container's environment.
  auto lookup = [&env](const std::string& name) -> std::optional<std::string> {
    for (auto e = env.rbegin(); e != env.rend(); ++e) {
      if (e->compare(0, name.size() + 1, name + "=") == 0) return e->substr(name.size() + 1);
    }
    return std::nullopt;
  };
  std::string out;
  for (size_t i = 0; i < value.size();) {
    if (value.compare(i, 2, "$$") == 0) {
      out += '$';
      i += 2;
      continue;
    }
    size_t close = value.compare(i, 2, "$(") == 0 ? value.find(')', i + 2) : std::string::npos;
    std::optional<std::string> v;
    if (close != std::string::npos) v = lookup(value.substr(i + 2, close - i - 2));
    if (v) {
      out += *v;
      i = close + 1;
    } else {
      out += value[i++];
    }
  }
  return out;
}

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
  if (options_.max_running_pods > 0) {
    const auto busy = std::count_if(running_.begin(), running_.end(), [](const auto& r) { return !r.second->done; });
    if (busy >= options_.max_running_pods) return runtime::ReconcileResult{std::chrono::milliseconds(200)};
  }
  auto running = std::make_unique<RunningPod>();
  RunningPod* raw = running.get();
  running->thread = std::thread([this, p = *pod, raw] { RunPod(p, raw); });
  running_[uid] = std::move(running);
  ++pods_started_;
  return runtime::ReconcileResult{};
}

void TestNode::PatchStatus(const Json& pod, const Json& status) {
  // A kubelet's status manager writes a Pod's status until the API server has it; a
  // write lost to an overloaded API server (a timeout, a 5xx) would leave the Pod
  // Running for ever. Retried with backoff for about a minute; a Pod that is gone is not.
  std::chrono::milliseconds wait{100};
  for (int i = 0;; ++i) {
    auto r = client_.MergePatch(kube::ResourceType::Pods(), MetaString(pod, "namespace"), MetaString(pod, "name"),
                                {{"status", status}}, kube::Subresource::kStatus);
    if (r.ok()) return;
    const StatusCode code = r.status().code();
    const bool transient = code == StatusCode::kUnavailable || code == StatusCode::kDeadlineExceeded ||
                           code == StatusCode::kInternal || code == StatusCode::kResourceExhausted ||
                           code == StatusCode::kUnknown;
    spdlog::warn("test node: status of pod {}: {}{}", kube::ObjectKey(pod), r.status().ToString(),
                 transient && i < 12 ? " (retrying)" : "");
    if (!transient || i >= 12) return;
    std::this_thread::sleep_for(wait);
    wait = std::min<std::chrono::milliseconds>(wait * 2, std::chrono::seconds(8));
  }
}

Status TestNode::WriteProjectedVolume(const Json& pod, const Json& projected, const std::string& dir,
                                      const std::atomic<bool>& stop) {
  const std::string ns = MetaString(pod, "namespace");
  auto write = [&](const std::string& path, const std::string& content) -> Status {
    if (!SafeRelativePath(path)) return InvalidArgumentError("projected file path '" + path + "'");
    std::error_code ec;
    fs::create_directories(fs::path(dir + "/" + path).parent_path(), ec);
    return WriteFileAtomic(dir + "/" + path, content);
  };
  if (!Field(projected, "sources").is_array()) return Status::Ok();
  for (const Json& source : projected["sources"]) {
    if (source.contains("serviceAccountToken")) {
      // As the kubelet asks for it: a token for the Pod's ServiceAccount, bound to the
      // Pod, so the API server refuses it once the Pod is gone.
      const Json& t = source["serviceAccountToken"];
      Json request = {
          {"apiVersion", "authentication.k8s.io/v1"},
          {"kind", "TokenRequest"},
          {"spec",
           {{"expirationSeconds", Field(t, "expirationSeconds").is_number() ? t["expirationSeconds"] : Json(3607)},
            {"boundObjectRef",
             {{"apiVersion", "v1"},
              {"kind", "Pod"},
              {"name", MetaString(pod, "name")},
              {"uid", MetaString(pod, "uid")}}}}}};
      if (!Str(t, "audience").empty()) request["spec"]["audiences"] = Json::array({Str(t, "audience")});
      const std::string sa = *FieldPathValue(pod, "spec.serviceAccountName");
      auto token =
          client_.CreateSubresource(kube::ResourceType{"", "v1", "serviceaccounts", true}, ns, sa, "token", request);
      if (!token.ok()) return token.status().Annotate("token for ServiceAccount " + ns + "/" + sa);
      GTR_RETURN_IF_ERROR(write(Str(t, "path"), Str(Field(*token, "status"), "token")));
    } else if (source.contains("configMap")) {
      const Json& c = source["configMap"];
      // The kubelet waits for a ConfigMap that is not there yet (kube-root-ca.crt is
      // published by the controller manager shortly after the namespace appears).
      StatusOr<Json> cm = NotFoundError("not looked up yet");
      for (int i = 0; i < 300 && !stop; ++i) {
        cm = client_.Get(kube::ResourceType::ConfigMaps(), ns, Str(c, "name"));
        if (cm.ok() || cm.status().code() != StatusCode::kNotFound) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      if (!cm.ok()) {
        if (Field(c, "optional").is_boolean() && c["optional"].get<bool>()) continue;
        return cm.status().Annotate("ConfigMap " + ns + "/" + Str(c, "name"));
      }
      const Json& data = Field(*cm, "data");
      if (Field(c, "items").is_array()) {
        for (const Json& item : c["items"]) {
          std::string key = Str(item, "key");
          if (!data.is_object() || !data.contains(key))
            return NotFoundError("ConfigMap " + ns + "/" + Str(c, "name") + " has no key " + key);
          GTR_RETURN_IF_ERROR(write(Str(item, "path"), data[key].get<std::string>()));
        }
      } else if (data.is_object()) {
        for (const auto& [key, value] : data.items()) GTR_RETURN_IF_ERROR(write(key, value.get<std::string>()));
      }
    } else if (source.contains("downwardAPI")) {
      const Json& d = source["downwardAPI"];
      if (!Field(d, "items").is_array()) continue;
      for (const Json& item : d["items"]) {
        std::string field = Str(Field(item, "fieldRef"), "fieldPath");
        std::optional<std::string> value = FieldPathValue(pod, field);
        if (!value)
          return FailedPreconditionError("downwardAPI field '" + field + "' is not supported on the test node");
        GTR_RETURN_IF_ERROR(write(Str(item, "path"), *value));
      }
    } else {
      return FailedPreconditionError("projected source " + source.dump() +
                                     ": the test node supports serviceAccountToken, configMap and downwardAPI");
    }
  }
  return Status::Ok();
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
      } else if (v.contains("projected")) {
        dir = pod_dir + "/volumes/" + name;
        std::error_code ec;
        fs::create_directories(dir, ec);
        if (Status s = WriteProjectedVolume(pod, v["projected"], dir, running->stop); !s.ok())
          return fail("FailedMount", "volume '" + name + "': " + s.ToString());
      } else {
        return fail("UnsupportedVolume", "volume '" + name +
                                             "': the test node supports emptyDir, persistentVolumeClaim, hostPath and "
                                             "projected");
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
    std::string tmp_dir;  // the container's TMPDIR
  };
  auto prepare = [&](const Json& c) {
    Prepared p;
    std::vector<PathRewrite> rewrites;
    std::string service_account_folder;  // the host folder mounted at kServiceAccountDir
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
        if (Str(m, "mountPath") == kServiceAccountDir) service_account_folder = host;
      }
    }
    std::sort(rewrites.begin(), rewrites.end(),
              [](const PathRewrite& a, const PathRewrite& b) { return a.mount_path.size() > b.mount_path.size(); });
    auto image = options_.images.find(Str(c, "image"));
    const TestNodeImage* mapped = image == options_.images.end() ? nullptr : &image->second;

    // The environment first: $(VAR) in the command and arguments refers to it.
    // A container's /tmp is its own and goes with it: here a folder of the Pod's,
    // emptied when the container ends, so that what a killed test left there
    // (t.TempDir, go's work folders) does not pile up on the host.
    p.tmp_dir = pod_dir + "/tmp/" + Str(c, "name");
    fs::create_directories(p.tmp_dir, ec);
    std::vector<std::string> env = {"TMPDIR=" + p.tmp_dir};
    if (!options_.api_server_host.empty()) {
      env.push_back("KUBERNETES_SERVICE_HOST=" + options_.api_server_host);
      env.push_back("KUBERNETES_SERVICE_PORT=" + std::to_string(options_.api_server_port));
    }
    if (Field(c, "env").is_array()) {
      for (const Json& e : c["env"]) {
        std::string value = RewritePaths(ExpandEnvReferences(Str(e, "value"), env), rewrites);
        if (e.contains("valueFrom")) {
          std::string field = Str(Field(Field(e, "valueFrom"), "fieldRef"), "fieldPath");
          std::optional<std::string> v = FieldPathValue(pod, field);
          if (!v) {
            p.error = "env '" + Str(e, "name") +
                      "': only valueFrom.fieldRef of metadata.name, metadata.namespace, "
                      "metadata.uid, spec.nodeName and spec.serviceAccountName is supported on the test node";
            return p;
          }
          value = *v;
        }
        env.push_back(Str(e, "name") + "=" + value);
      }
    }

    std::vector<std::string> argv;
    bool has_command = Field(c, "command").is_array() && !c["command"].empty();
    if (!has_command && mapped != nullptr) argv = mapped->entrypoint;
    for (const char* list : {"command", "args"}) {
      if (!Field(c, list).is_array()) continue;
      for (const Json& a : c[list]) {
        if (a.is_string()) argv.push_back(RewritePaths(ExpandEnvReferences(a.get<std::string>(), env), rewrites));
      }
    }
    if (argv.empty()) {
      p.error = "container '" + Str(c, "name") + "' has no command and its image '" + Str(c, "image") +
                "' is not one this test node knows; it pulls no images";
      return p;
    }
    if (mapped != nullptr) {
      argv[0] = RewritePaths(argv[0], mapped->folders);
      // As in a container: the Pod's environment only, nothing from the test's
      // (its KUBECONFIG or HOME would send a client elsewhere than in-cluster).
      std::vector<std::string> clean = {"/usr/bin/env", "-i",
                                        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                                        "HOSTNAME=" + MetaString(pod, "name")};
      clean.insert(clean.end(), env.begin(), env.end());
      argv.insert(argv.begin(), clean.begin(), clean.end());
    } else {
      p.run.env = env;
    }
    if (!service_account_folder.empty()) {
      // The token, CA and namespace where in-cluster clients open them by name: a mount
      // namespace of the container's own, with the Pod's folder bound there.
      fs::create_directories(kServiceAccountDir, ec);
      if (ec) {
        p.error = std::string("cannot make the mount point ") + kServiceAccountDir + ": " + ec.message();
        return p;
      }
      std::vector<std::string> ns = {"unshare",
                                     "--mount",
                                     "--propagation",
                                     "private",
                                     "--",
                                     "/bin/sh",
                                     "-c",
                                     "mount --bind \"$1\" \"$2\" && shift 2 && exec \"$@\"",
                                     "sh",
                                     service_account_folder,
                                     kServiceAccountDir};
      argv.insert(argv.begin(), ns.begin(), ns.end());
    }
    p.run.argv = std::move(argv);
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

  // One container, to its end; its TMPDIR goes with it.
  auto run = [&](const Prepared& p) {
    auto r = options_.canned ? StatusOr<sandbox::RunResult>(Replay(p.run)) : sandbox_.Run(p.run);
    fs::remove_all(p.tmp_dir, ec);
    return r;
  };

  PatchStatus(pod, {{"phase", "Pending"}, {"hostIP", "127.0.0.1"}, {"podIP", "127.0.0.1"}, {"startTime", start_time}});

  Json init_statuses = Json::array();
  if (Field(spec, "initContainers").is_array()) {
    for (const Json& c : spec["initContainers"]) {
      Prepared p = prepare(c);
      if (!p.error.empty()) return fail("CreateContainerConfigError", p.error);
      std::string started = Rfc3339Now();
      auto r = run(p);
      if (!r.ok()) return fail("StartError", "init container '" + Str(c, "name") + "': " + r.status().message());
      init_statuses.push_back(ContainerStatus(c, {{"terminated", Terminated(*r, started, "")}}));
      if (r->stopped || ExitCode(r->exit) != 0) {
        // As a real kubelet reports it: the containers that never started wait with
        // PodInitializing (seen on the real node, tests/e2e/real_node_oom_test.cc).
        Json waiting = Json::array();
        for (const Json& app : Field(spec, "containers").is_array() ? spec["containers"] : Json::array()) {
          waiting.push_back(ContainerStatus(app, {{"waiting", {{"reason", "PodInitializing"}}}}));
        }
        PatchStatus(pod,
                    {{"phase", "Failed"}, {"initContainerStatuses", init_statuses}, {"containerStatuses", waiting}});
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
  auto r = run(p);
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
