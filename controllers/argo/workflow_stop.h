// Honours an Argo Workflow's stop for the GoTestRuns it created. A Workflow's resource
// template with `setOwnerReference: true` makes the Workflow the GoTestRun's controller
// owner; when the Workflow's spec.shutdown becomes Stop or Terminate (`argo stop`,
// `argo terminate`), Argo stops polling the GoTestRun but nothing ends it. This
// controller deletes it, and the GoTestRun's finalizer deletes its Pods.
#pragma once

#include <string>
#include <vector>

#include "kube/client/client.h"
#include "kube/runtime/controller.h"
#include "kube/runtime/informer.h"

namespace gotestrun::controllers::argo {

using kube::Json;

inline const kube::ResourceType kWorkflows{"argoproj.io", "v1alpha1", "workflows", true};
inline constexpr char kWorkflowKind[] = "Workflow";

// spec.shutdown is Stop or Terminate.
bool ShutdownRequested(const Json& workflow);

// The names of the GoTestRuns among `runs` that `workflow` owns as their controller
// (matched by uid, so a new Workflow of the same name owns nothing old) and that are not
// being deleted already.
std::vector<std::string> RunsToEnd(const Json& workflow, const std::vector<runtime::ObjectPtr>& runs);

class WorkflowStopReconciler : public runtime::Reconciler {
 public:
  WorkflowStopReconciler(kube::Client& client, runtime::Informers workflows, runtime::Informers runs);
  StatusOr<runtime::ReconcileResult> Reconcile(const std::string& key, uint64_t reconcile_id) override;

 private:
  kube::Client& client_;
  const runtime::Informers workflows_;
  const runtime::Informers runs_;
};

// Whether the API server serves argoproj.io/v1alpha1 Workflows (Argo is installed).
StatusOr<bool> WorkflowsServed(kube::Client& client);

// Registers `workflows` as the controller's primary kind and the GoTestRuns they own.
void WatchWorkflows(runtime::Controller& controller, const runtime::Informers& workflows,
                    const runtime::Informers& runs);

}  // namespace gotestrun::controllers::argo
