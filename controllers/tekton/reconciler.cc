#include "controllers/tekton/reconciler.h"

#include <spdlog/spdlog.h>

#include "core/api/gotestrun.h"

namespace gotestrun::controllers::tekton {
namespace {

const kube::ResourceType kGoTestRuns{api::kGroup, api::kVersion, "gotestruns", true};

}  // namespace

CustomRunReconciler::CustomRunReconciler(kube::Client& client, runtime::Informers custom_runs, runtime::Informers runs)
    : client_(client), custom_runs_(std::move(custom_runs)), runs_(std::move(runs)) {}

Status CustomRunReconciler::CreateRun(const Json& custom_run, const Json& status) {
  const std::string ns = kube::MetaString(custom_run, "namespace");
  std::optional<Json> template_run;
  if (std::optional<std::string> name = TemplateName(custom_run)) {
    StatusOr<Json> got = client_.Get(kGoTestRuns, ns, *name);
    if (!got.ok()) {
      if (got.status().code() == StatusCode::kNotFound) {
        return InvalidArgumentError("customRef.name: no GoTestRun " + *name + " in " + ns + " to use as the template");
      }
      return got.status();
    }
    template_run = *std::move(got);
  }
  StatusOr<Json> desired = DesiredGoTestRun(custom_run, template_run, CurrentRetry(status));
  if (!desired.ok()) return desired.status();
  // The same rules the CRD applies, in the same words, before the API server is asked.
  if (StatusOr<api::GoTestRunSpec> spec = api::ParseSpec((*desired)["spec"]); !spec.ok()) {
    return InvalidArgumentError("the GoTestRun spec: " + spec.status().message());
  }
  StatusOr<Json> created = client_.Create(kGoTestRuns, ns, *desired);
  if (created.ok() || created.status().code() == StatusCode::kAlreadyExists) return Status::Ok();
  return created.status();
}

StatusOr<runtime::ReconcileResult> CustomRunReconciler::Reconcile(const std::string& key, uint64_t reconcile_id) {
  runtime::ObjectPtr obj = custom_runs_.Get(key);
  if (obj == nullptr || !IsGoTestRunTask(*obj) || IsDone(*obj)) return runtime::ReconcileResult{};
  const Json& custom_run = *obj;
  const std::string ns = kube::MetaString(custom_run, "namespace");
  const Json status = custom_run.contains("status") ? custom_run["status"] : Json::object();

  auto current = [&](const Json& st) -> std::optional<Json> {
    runtime::ObjectPtr run = runs_.Get(ns + "/" + GoTestRunName(custom_run, CurrentRetry(st)));
    return run ? std::optional<Json>(*run) : std::nullopt;
  };
  const auto now = std::chrono::system_clock::now();
  Step step = Decide(custom_run, current(status), now);
  if (step.action == Step::Action::kCreateRun) {
    Status created = CreateRun(custom_run, step.status);
    // A bad param or template ends the CustomRun; anything else is retried.
    if (created.code() == StatusCode::kInvalidArgument) step = Decide(custom_run, std::nullopt, now, created);
    else if (!created.ok()) return created;
  } else if (step.action == Step::Action::kDeleteRun) {
    const std::string name = GoTestRunName(custom_run, CurrentRetry(status));
    Status s = client_.Delete(kGoTestRuns, ns, name, {.propagation_policy = "Background"});
    if (!s.ok() && s.code() != StatusCode::kNotFound) return s;
  }
  if (step.status != status) {
    Json updated = custom_run;
    updated["status"] = step.status;
    StatusOr<Json> written = client_.UpdateStatus(kCustomRuns, updated);
    if (!written.ok()) return written.status();
    spdlog::info("customrun={} reconcile={} {}", key, reconcile_id,
                 step.status["conditions"].is_array() && !step.status["conditions"].empty()
                     ? step.status["conditions"][0].value("reason", "")
                     : "");
  }
  runtime::ReconcileResult result;
  if (step.requeue_after) {
    result.requeue_after =
        std::chrono::duration_cast<std::chrono::milliseconds>(*step.requeue_after) + std::chrono::milliseconds(100);
  }
  return result;
}

StatusOr<bool> CustomRunsServed(kube::Client& client) { return client.Serves(kCustomRuns); }

void WatchCustomRuns(runtime::Controller& controller, const runtime::Informers& custom_runs,
                     const runtime::Informers& runs) {
  for (runtime::Informer* i : custom_runs.all()) controller.For(*i);
  for (runtime::Informer* i : runs.all())
    controller.Watches(*i, [](const runtime::Store& store, const std::string& key) -> std::optional<std::string> {
      runtime::ObjectPtr run = store.Get(key);
      if (run == nullptr) return std::nullopt;
      return runtime::ControllerOwnerKey(*run, kCustomRunKind);
    });
}

}  // namespace gotestrun::controllers::tekton
