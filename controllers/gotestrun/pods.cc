#include "controllers/gotestrun/pods.h"

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

Json Volumes(const api::GoTestRunSpec& spec) {
  Json volumes = Json::array();
  volumes.push_back({{"name", "gotestrun-agent"}, {"emptyDir", Json::object()}});
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
                      {{"name", "gotestrun-profiles"}, {"mountPath", kProfilesMount}},
                      {{"name", "source"}, {"mountPath", kSourceMount}}});
}

Json InitContainers(const api::GoTestRunSpec& spec, const PodOptions& options) {
  Json inits = Json::array();
  inits.push_back({{"name", "install-agent"},
                   {"image", options.agent_image},
                   {"command", {options.agent_path, "install", std::string(kAgentMount) + "/gotestrun-agent"}},
                   {"volumeMounts", {{{"name", "gotestrun-agent"}, {"mountPath", kAgentMount}}}}});
  if (!spec.git_url.empty()) {
    std::string dest = std::string(kSourceMount) + "/src";
    inits.push_back(
        {{"name", "clone"},
         {"image", spec.image},
         {"command",
          {"sh", "-c",
           "git clone --quiet -- \"$GIT_URL\" " + dest + " && cd " + dest +
               " && git checkout --quiet \"$GIT_REVISION\" --"}},
         {"env",
          {{{"name", "GIT_URL"}, {"value", spec.git_url}}, {{"name", "GIT_REVISION"}, {"value", spec.git_revision}}}},
         {"volumeMounts", {{{"name", "source"}, {"mountPath", kSourceMount}}}}});
  }
  return inits;
}

Json Env(const api::GoTestRunSpec& spec) {
  Json env = Json::array();
  for (const api::EnvVar& e : spec.env) env.push_back({{"name", e.name}, {"value", e.value}});
  return env;
}

Json Pod(const Json& run, const std::string& name, Json labels, Json container, const api::GoTestRunSpec& spec,
         const PodOptions& options) {
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
            {"initContainers", InitContainers(spec, options)},
            {"containers", {std::move(container)}},
            {"volumes", Volumes(spec)}}}};
}

}  // namespace

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
                    {"volumeMounts", Mounts()}};
  return Pod(run, PlanningPodName(name), {{kRoleLabel, "plan"}}, std::move(container), spec, options);
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
                    {"volumeMounts", Mounts()}};
  return Pod(
      run, policy::AttemptName(name, plan.index, plan.attempt),
      {{kRoleLabel, "test"}, {kShardLabel, std::to_string(plan.index)}, {kAttemptLabel, std::to_string(plan.attempt)}},
      std::move(container), spec, options);
}

bool PodFinished(const Json& pod) {
  if (!pod.is_object() || !pod.contains("status") || !pod["status"].is_object()) return false;
  std::string phase = pod["status"].value("phase", "");
  return phase == "Succeeded" || phase == "Failed";
}

engine::ContainerEnd ContainerEndOf(const Json& pod) {
  engine::ContainerEnd end;
  if (!pod.is_object() || !pod.contains("status") || !pod["status"].is_object()) return end;
  const Json& status = pod["status"];
  if (!status.contains("containerStatuses") || !status["containerStatuses"].is_array()) return end;
  for (const Json& cs : status["containerStatuses"]) {
    if (!cs.is_object() || !cs.contains("state") || !cs["state"].is_object() || !cs["state"].contains("terminated"))
      continue;
    const Json& t = cs["state"]["terminated"];
    if (!t.is_object()) continue;
    end.oom_killed = t.value("reason", "") == "OOMKilled";
    if (t.contains("exitCode") && t["exitCode"].is_number_integer()) end.exit_code = t["exitCode"].get<int>();
    break;
  }
  return end;
}

}  // namespace gotestrun::controllers
