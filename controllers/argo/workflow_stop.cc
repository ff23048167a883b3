#include "controllers/argo/workflow_stop.h"

#include <spdlog/spdlog.h>

#include "core/api/gotestrun.h"

namespace gotestrun::controllers::argo {
namespace {

const kube::ResourceType kGoTestRuns{api::kGroup, api::kVersion, "gotestruns", true};

bool OwnedBy(const Json& run, const std::string& uid) {
  const Json& meta = run.is_object() && run.contains("metadata") ? run["metadata"] : Json();
  if (!meta.is_object() || !meta.contains("ownerReferences") || !meta["ownerReferences"].is_array()) return false;
  for (const Json& ref : meta["ownerReferences"]) {
    if (ref.is_object() && ref.value("controller", false) == true && ref.value("kind", "") == kWorkflowKind &&
        ref.value("uid", "") == uid) {
      return true;
    }
  }
  return false;
}

}  // namespace

bool ShutdownRequested(const Json& workflow) {
  if (!workflow.is_object() || !workflow.contains("spec") || !workflow["spec"].is_object()) return false;
  const std::string shutdown = workflow["spec"].value("shutdown", "");
  return shutdown == "Stop" || shutdown == "Terminate";
}

std::vector<std::string> RunsToEnd(const Json& workflow, const std::vector<runtime::ObjectPtr>& runs) {
  std::vector<std::string> out;
  if (!ShutdownRequested(workflow)) return out;
  const std::string uid = kube::MetaString(workflow, "uid"), ns = kube::MetaString(workflow, "namespace");
  if (uid.empty()) return out;
  for (const runtime::ObjectPtr& run : runs) {
    if (run == nullptr || kube::MetaString(*run, "namespace") != ns || !OwnedBy(*run, uid)) continue;
    if (!kube::MetaString(*run, "deletionTimestamp").empty()) continue;
    out.push_back(kube::MetaString(*run, "name"));
  }
  return out;
}

WorkflowStopReconciler::WorkflowStopReconciler(kube::Client& client, runtime::Informers workflows,
                                               runtime::Informers runs)
    : client_(client), workflows_(std::move(workflows)), runs_(std::move(runs)) {}

StatusOr<runtime::ReconcileResult> WorkflowStopReconciler::Reconcile(const std::string& key, uint64_t reconcile_id) {
  runtime::ObjectPtr workflow = workflows_.Get(key);
  if (workflow == nullptr) return runtime::ReconcileResult{};
  const std::string ns = kube::MetaString(*workflow, "namespace");
  for (const std::string& name : RunsToEnd(*workflow, runs_.List())) {
    Status s = client_.Delete(kGoTestRuns, ns, name, {.propagation_policy = "Background"});
    if (!s.ok() && s.code() != StatusCode::kNotFound) return s;
    spdlog::info("workflow={} reconcile={} shutdown {}: deleted GoTestRun {}", key, reconcile_id,
                 (*workflow)["spec"].value("shutdown", ""), name);
  }
  return runtime::ReconcileResult{};
}

StatusOr<bool> WorkflowsServed(kube::Client& client) { return client.Serves(kWorkflows); }

void WatchWorkflows(runtime::Controller& controller, const runtime::Informers& workflows,
                    const runtime::Informers& runs) {
  for (runtime::Informer* i : workflows.all()) controller.For(*i);
  for (runtime::Informer* i : runs.all())
    controller.Watches(*i, [](const runtime::Store& store, const std::string& key) -> std::optional<std::string> {
      runtime::ObjectPtr run = store.Get(key);
      if (run == nullptr) return std::nullopt;
      return runtime::ControllerOwnerKey(*run, kWorkflowKind);
    });
}

}  // namespace gotestrun::controllers::argo
