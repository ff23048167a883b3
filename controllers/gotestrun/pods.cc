#include "controllers/gotestrun/pods.h"

#include <algorithm>

#include "base/go_duration.h"
#include "core/engine/agent_command.h"
#include "core/evidence/evidence.h"
#include "core/policy/quantity.h"

namespace gotestrun::controllers {
namespace {

std::string Meta(const Json& run, const char* field) {
  return run.contains("metadata") && run["metadata"].contains(field) && run["metadata"][field].is_string()
             ? run["metadata"][field].get<std::string>()
             : std::string();
}

Json OwnerReference(const Json& run) {
  return {{"apiVersion", api::kApiVersion}, {"kind", api::kKind}, {"name", Meta(run, "name")},
          {"uid", Meta(run, "uid")},        {"controller", true}, {"blockOwnerDeletion", true}};
}

// Where the module is inside the test container.
std::string ModulePath(const api::GoTestRunSpec& spec) {
  std::string path = kSourceMount;
  if (!spec.volume_sub_path.empty()) path += "/" + spec.volume_sub_path;
  if (!spec.git_url.empty()) path += "/src";
  if (spec.module_dir != "." && !spec.module_dir.empty()) path += "/" + spec.module_dir;
  return path;
}

// The restricted Pod Security Standard, for every container: no privilege escalation,
// no capabilities, the runtime's seccomp profile, never root.
Json ContainerSecurity() {
  return {{"runAsNonRoot", true},
          {"allowPrivilegeEscalation", false},
          {"capabilities", {{"drop", {"ALL"}}}},
          {"seccompProfile", {{"type", "RuntimeDefault"}}}};
}

// The Pod's: golang:* images run as root unless told otherwise, and runAsNonRoot alone
// would then keep the container from starting, so a numeric user is given (the
// operator image's own). fsGroup makes the profiles volume (and a source claim)
// writable for it, as the operator's Pod has it.
Json PodSecurity() {
  return {{"runAsNonRoot", true},
          {"runAsUser", kRunAsUser},
          {"runAsGroup", kRunAsUser},
          {"fsGroup", kRunAsUser},
          {"seccompProfile", {{"type", "RuntimeDefault"}}}};
}

Json Volumes(const api::GoTestRunSpec& spec) {
  Json volumes = Json::array();
  volumes.push_back({{"name", "gotestrun-agent"}, {"emptyDir", Json::object()}});
  volumes.push_back({{"name", "gotestrun-home"}, {"emptyDir", Json::object()}});
  volumes.push_back({{"name", "gotestrun-profiles"}, {"persistentVolumeClaim", {{"claimName", spec.profiles_claim}}}});
  if (!spec.volume_claim.empty()) {
    volumes.push_back({{"name", "source"}, {"persistentVolumeClaim", {{"claimName", spec.volume_claim}}}});
  } else {
    volumes.push_back({{"name", "source"}, {"emptyDir", Json::object()}});
  }
  return volumes;
}

Json Mounts() {
  return Json::array({{{"name", "gotestrun-agent"}, {"mountPath", kAgentMount}},
                      {{"name", "gotestrun-home"}, {"mountPath", kHomeMount}},
                      {{"name", "gotestrun-profiles"}, {"mountPath", kProfilesMount}},
                      {{"name", "source"}, {"mountPath", kSourceMount}}});
}

// The init containers run under the test container's resources: the Pod's limit then
// bounds them explicitly (not a namespace LimitRange's default, which could be far
// smaller), and a clone OOM-killed there is retried with the shard's memory raised.
Json InitContainers(const api::GoTestRunSpec& spec, const PodOptions& options, const Json& resources) {
  Json inits = Json::array();
  inits.push_back({{"name", "install-agent"},
                   {"image", options.agent_image},
                   {"command", {options.agent_path, "install", std::string(kAgentMount) + "/gotestrun-agent"}},
                   {"securityContext", ContainerSecurity()},
                   {"resources", resources},
                   {"volumeMounts", {{{"name", "gotestrun-agent"}, {"mountPath", kAgentMount}}}}});
  if (!spec.git_url.empty()) {
    std::string dest = std::string(kSourceMount) + "/src";
    inits.push_back({{"name", "clone"},
                     {"image", spec.image},
                     {"command",
                      {"sh", "-c",
                       "git clone --quiet -- \"$GIT_URL\" " + dest + " && cd " + dest +
                           " && git checkout --quiet \"$GIT_REVISION\" --"}},
                     {"env",
                      {{{"name", "GIT_URL"}, {"value", spec.git_url}},
                       {{"name", "GIT_REVISION"}, {"value", spec.git_revision}},
                       {{"name", "HOME"}, {"value", kHomeMount}}}},
                     {"securityContext", ContainerSecurity()},
                     {"resources", resources},
                     {"volumeMounts",
                      {{{"name", "source"}, {"mountPath", kSourceMount}},
                       {{"name", "gotestrun-home"}, {"mountPath", kHomeMount}}}}});
  }
  return inits;
}

// The spec's variables, then HOME and GOCACHE in the home emptyDir unless the spec
// sets them. As user 65532 (no passwd entry) HOME would be "/", where the go command
// cannot create its build cache. GOPATH is left alone: golang:* images set it to /go,
// made world-writable for this, and elsewhere it defaults to $HOME/go, which is now
// writable too; pointing it away would hide a module cache baked into the image.
Json Env(const api::GoTestRunSpec& spec) {
  Json env = Json::array();
  bool home = false, gocache = false;
  for (const api::EnvVar& e : spec.env) {
    env.push_back({{"name", e.name}, {"value", e.value}});
    home = home || e.name == "HOME";
    gocache = gocache || e.name == "GOCACHE";
  }
  if (!home) env.push_back({{"name", "HOME"}, {"value", kHomeMount}});
  if (!gocache) env.push_back({{"name", "GOCACHE"}, {"value", std::string(kHomeMount) + "/.cache/go-build"}});
  return env;
}

Json Pod(const Json& run, const std::string& name, Json labels, Json container, const api::GoTestRunSpec& spec,
         const PodOptions& options, int64_t deadline_seconds) {
  labels[kRunLabel] = Meta(run, "name");
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata",
           {{"name", name},
            {"namespace", Meta(run, "namespace")},
            {"labels", std::move(labels)},
            {"ownerReferences", {OwnerReference(run)}}}},
          {"spec",
           {{"restartPolicy", "Never"},
            {"enableServiceLinks", false},
            {"automountServiceAccountToken", false},
            {"activeDeadlineSeconds", deadline_seconds},
            {"securityContext", PodSecurity()},
            {"initContainers", InitContainers(spec, options, container.value("resources", Json::object()))},
            {"containers", {std::move(container)}},
            {"volumes", Volumes(spec)}}}};
}

}  // namespace

int64_t PodDeadlineSeconds(const api::GoTestRunSpec& spec, std::size_t packages) {
  // go test's -timeout bounds each test binary, not the whole go test: its default is
  // 10 minutes, and in the worst case the binaries of a shard run one after another.
  std::chrono::nanoseconds per_binary = std::chrono::minutes(10);
  if (!spec.timeout.empty()) {
    if (StatusOr<std::chrono::nanoseconds> t = ParseGoDuration(spec.timeout); t.ok() && t->count() > 0) {
      per_binary = *t;
    }
  }
  const int64_t binary_seconds = std::max<int64_t>(1, std::chrono::ceil<std::chrono::seconds>(per_binary).count());
  // Nothing bounds the rest: installing the agent, cloning, compiling and linking the
  // test binaries (outside -timeout) and writing the evidence to the profiles volume
  // after go test ends. A margin generous enough for a cold build cache of a large
  // module; the deadline is there to free a node from a hung Pod, not to time tests.
  constexpr int64_t kMarginSeconds = 30 * 60;
  return binary_seconds * static_cast<int64_t>(packages) + kMarginSeconds;
}

std::string PlanningPodName(const std::string& run) { return run + "-plan"; }

Json PlanningPod(const Json& run, const api::GoTestRunSpec& spec, const PodOptions& options) {
  const std::string ns = Meta(run, "namespace"), name = Meta(run, "name");
  Json command = engine::AgentListArgv(std::string(kAgentMount) + "/gotestrun-agent", ModulePath(spec),
                                       evidence::VolumeRunLayout(kProfilesMount, ns, name).packages(), spec);
  Json container = {{"name", "plan"},
                    {"image", spec.image},
                    {"command", std::move(command)},
                    {"workingDir", ModulePath(spec)},
                    {"env", Env(spec)},
                    // Listing packages is light; a fixed modest limit keeps it from
                    // competing with the tests for the node.
                    {"resources", {{"limits", {{"memory", "512Mi"}}}, {"requests", {{"memory", "512Mi"}}}}},
                    {"securityContext", ContainerSecurity()},
                    {"volumeMounts", Mounts()}};
  return Pod(run, PlanningPodName(name), {{kRoleLabel, "plan"}}, std::move(container), spec, options,
             PodDeadlineSeconds(spec, 0));
}

Json AttemptPod(const Json& run, const api::GoTestRunSpec& spec, const policy::ShardPlan& plan,
                const PodOptions& options) {
  const std::string ns = Meta(run, "namespace"), name = Meta(run, "name");
  Json command =
      engine::AgentRunArgv(std::string(kAgentMount) + "/gotestrun-agent",
                           evidence::VolumeRunLayout(kProfilesMount, ns, name).attempt_dir(plan.index, plan.attempt),
                           ModulePath(spec), spec, plan);

  std::string memory = policy::FormatMemoryQuantity(plan.memory);
  Json resources = {{"limits", {{"memory", memory}}}, {"requests", {{"memory", memory}}}};
  if (spec.cpu) {
    resources["limits"]["cpu"] = *spec.cpu;
    resources["requests"]["cpu"] = *spec.cpu;
  }
  Json container = {{"name", "go-test"},
                    {"image", spec.image},
                    {"command", std::move(command)},
                    {"workingDir", ModulePath(spec)},
                    {"env", Env(spec)},
                    {"resources", std::move(resources)},
                    {"securityContext", ContainerSecurity()},
                    {"volumeMounts", Mounts()}};
  return Pod(
      run, policy::AttemptName(name, plan.index, plan.attempt),
      {{kRoleLabel, "test"}, {kShardLabel, std::to_string(plan.index)}, {kAttemptLabel, std::to_string(plan.attempt)}},
      std::move(container), spec, options, PodDeadlineSeconds(spec, plan.packages.size()));
}

bool PodFinished(const Json& pod) {
  if (!pod.is_object() || !pod.contains("status") || !pod["status"].is_object()) return false;
  std::string phase = pod["status"].value("phase", "");
  return phase == "Succeeded" || phase == "Failed";
}

namespace {
// A string member of a status object, "" when absent or of another type: a status the
// API server returns is well-formed, but the operator does not crash if one is not.
std::string StringField(const Json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}
}  // namespace

engine::ContainerEnd ContainerEndOf(const Json& pod) {
  engine::ContainerEnd end;
  if (!pod.is_object() || !pod.contains("status") || !pod["status"].is_object()) return end;
  const Json& status = pod["status"];
  // The kubelet ended the Pod at its activeDeadlineSeconds (pods.h): a timeout.
  end.deadline_exceeded = StringField(status, "reason") == "DeadlineExceeded";
  // An init container that ended with an error ended the Pod before the test container
  // started (restartPolicy Never); the test container is then left waiting.
  if (status.contains("initContainerStatuses") && status["initContainerStatuses"].is_array()) {
    for (const Json& cs : status["initContainerStatuses"]) {
      if (!cs.is_object() || !cs.contains("state") || !cs["state"].is_object()) continue;
      auto t = cs["state"].find("terminated");
      if (t == cs["state"].end() || !t->is_object()) continue;
      const int code =
          t->contains("exitCode") && (*t)["exitCode"].is_number_integer() ? (*t)["exitCode"].get<int>() : 0;
      const std::string reason = StringField(*t, "reason");
      if (code == 0 && reason != "OOMKilled") continue;
      end.init_failure = engine::ContainerEnd::InitFailure{.container = StringField(cs, "name"),
                                                           .reason = reason,
                                                           .exit_code = code,
                                                           .oom_killed = reason == "OOMKilled"};
      break;
    }
  }
  if (!status.contains("containerStatuses") || !status["containerStatuses"].is_array()) return end;
  for (const Json& cs : status["containerStatuses"]) {
    if (!cs.is_object() || !cs.contains("state") || !cs["state"].is_object() || !cs["state"].contains("terminated"))
      continue;
    const Json& t = cs["state"]["terminated"];
    if (!t.is_object()) continue;
    end.oom_killed = StringField(t, "reason") == "OOMKilled";
    if (t.contains("exitCode") && t["exitCode"].is_number_integer()) end.exit_code = t["exitCode"].get<int>();
    break;
  }
  return end;
}

}  // namespace gotestrun::controllers
