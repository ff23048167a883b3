// The CustomRun reconciler: GoTestRun as a Tekton custom task. For each CustomRun
// that names GoTestRun (custom_run.h), it creates the GoTestRun it asks for, owned by
// the CustomRun, and mirrors how it runs and ends into the CustomRun's status; on
// cancellation or timeout it deletes the GoTestRun (whose Pods go with it) first and
// writes the end after. Level-triggered: every step is decided by Decide from the
// CustomRun and the GoTestRun as the caches hold them.
#pragma once

#include "controllers/tekton/custom_run.h"
#include "kube/client/client.h"
#include "kube/runtime/controller.h"
#include "kube/runtime/informer.h"

namespace gotestrun::controllers::tekton {

class CustomRunReconciler : public runtime::Reconciler {
 public:
  // `runs` is a GoTestRun informer; it may be shared with the GoTestRun controller.
  CustomRunReconciler(kube::Client& client, runtime::Informers custom_runs, runtime::Informers runs);

  StatusOr<runtime::ReconcileResult> Reconcile(const std::string& key, uint64_t reconcile_id) override;

 private:
  // Creates the GoTestRun of the attempt `status` is at (AlreadyExists is fine).
  // InvalidArgument is a refusal that retrying cannot fix (a bad param, a missing
  // template, the API server's validation): it ends the CustomRun.
  Status CreateRun(const Json& custom_run, const Json& status);

  kube::Client& client_;
  const runtime::Informers custom_runs_;
  const runtime::Informers runs_;
};

// Whether the API server serves tekton.dev/v1beta1 CustomRuns (Tekton is installed).
StatusOr<bool> CustomRunsServed(kube::Client& client);

// Registers `custom_runs` as the controller's primary kind and the GoTestRuns they own.
void WatchCustomRuns(runtime::Controller& controller, const runtime::Informers& custom_runs,
                     const runtime::Informers& runs);

}  // namespace gotestrun::controllers::tekton
