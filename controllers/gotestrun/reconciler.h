// The GoTestRun reconciler: reads a run and its Pods from the informers, asks the
// planner and the retry policy what should run, and writes the difference: Pods to
// create, status to record, Events to tell. Level-triggered and idempotent: it can be
// called any number of times for the same state of the world, and once a run is
// settled it writes nothing.
//
//   no finalizer            add it (so the run's evidence folder is removed on delete)
//   deleting                delete its Pods, remove its folder, drop the finalizer
//   invalid spec            phase Failed, condition Succeeded=False reason InvalidSpec
//   not planned             run the planning Pod (`gotestrun-agent list`); when it is
//                           done, plan shards and write them (phase Running)
//   planned                 create the Pod of each shard's latest attempt; read the
//                           evidence of each that finished; ask the retry policy;
//                           record outcomes, new attempts, verdicts, phase
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "core/api/gotestrun.h"
#include "controllers/gotestrun/pods.h"
#include "core/engine/history.h"
#include "core/engine/progress.h"
#include "kube/client/client.h"
#include "kube/runtime/controller.h"

namespace gotestrun::controllers {

struct ReconcilerOptions {
  std::string profiles_dir;  // where the operator sees the shared profiles volume
  PodOptions pods;
};

inline const kube::ResourceType kGoTestRuns{api::kGroup, api::kVersion, "gotestruns", true};

class GoTestRunReconciler : public runtime::Reconciler {
 public:
  GoTestRunReconciler(kube::Client& client, const runtime::Informer& runs, const runtime::Informer& pods,
                      ReconcilerOptions options);

  StatusOr<runtime::ReconcileResult> Reconcile(const std::string& key, uint64_t reconcile_id) override;

 private:
  Status Finalize(const Json& run);
  StatusOr<bool> Plan(const Json& run, const api::GoTestRunSpec& spec, engine::RunProgress& progress, Json& status);
  // Returns the outcomes of attempts whose Pods finished; creates missing Pods.
  StatusOr<std::vector<policy::AttemptOutcome>> Observe(const Json& run, const api::GoTestRunSpec& spec,
                                                        engine::RunProgress& progress, Json& status);
  Status WriteStatus(const Json& run, Json status);
  // Creates the Pod of a shard attempt (AlreadyExists is fine) and its evidence folder.
  Status CreateAttemptPod(const Json& run, const api::GoTestRunSpec& spec, const engine::AttemptRecord& a);
  // Records a finished run's peaks in the suite's memory history; the packages that grew.
  // Nullopt when no history was recorded (nothing measured, or an API error).
  std::optional<std::vector<engine::Growth>> RememberPeaks(const Json& run, const api::GoTestRunSpec& spec,
                                                           const engine::RunProgress& progress);
  void Event(const Json& run, const std::string& type, const std::string& reason, const std::string& message);
  runtime::ObjectPtr Pod(const std::string& ns, const std::string& name) const;

  kube::Client& client_;
  const runtime::Informer& runs_;
  const runtime::Informer& pods_;
  ReconcilerOptions options_;
  // When each OOM kill was first seen, by "<ns>/<run>/s<shard>", to log how long its
  // replacement Pod took (the operator's own reaction time, in its log).
  std::mutex kills_mu_;
  std::map<std::string, std::chrono::steady_clock::time_point> kills_seen_;
};

}  // namespace gotestrun::controllers
