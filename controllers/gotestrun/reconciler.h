// The GoTestRun reconciler: the operator's adapter of the run loop (engine/run_loop.h).
// It reads a run and its Pods, lets the run loop move the status on, and writes the
// difference: the status, Events, and the Pods of the attempts the loop decided.
// Level-triggered and idempotent: it can be called any number of times for the same
// state of the world, and once a run is settled it writes nothing.
//
//   no finalizer            add it (so the run's evidence folder is removed on delete)
//   deleting                delete its Pods, remove its folder, drop the finalizer
//   invalid spec            phase Failed, condition Succeeded=False reason InvalidSpec
//   otherwise               one step of the run loop, the planning Pod and shard
//                           attempt Pods standing for its listing and attempts, the
//                           profiles volume holding their evidence, a ConfigMap the
//                           suite's memory history; status written when it changed,
//                           then the Pods of new attempts created
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "controllers/gotestrun/event_queue.h"
#include "controllers/gotestrun/objects.h"
#include "controllers/gotestrun/pods.h"
#include "core/api/gotestrun.h"
#include "kube/runtime/controller.h"

namespace gotestrun::controllers {

struct ReconcilerOptions {
  std::string profiles_dir;  // where the operator sees the shared profiles volume
  PodOptions pods;
  std::function<std::string()> now;  // RFC 3339; the system clock when unset
};

inline const kube::ResourceType kGoTestRuns{api::kGroup, api::kVersion, "gotestruns", true};

class GoTestRunReconciler : public runtime::Reconciler {
 public:
  GoTestRunReconciler(ObjectReader& reader, ObjectWriter& writer, StatusWriter& status_writer,
                      ReconcilerOptions options);

  StatusOr<runtime::ReconcileResult> Reconcile(const std::string& key, uint64_t reconcile_id) override;
  // Returns once the Events of every reconcile so far are written (event_queue.h).
  void FlushEvents() { events_.Flush(); }

 private:
  class Driver;

  Status Finalize(const Json& run);
  // Writes `status` as the run's when it differs from what the run has.
  Status WriteStatus(const Json& run, const Json& status);
  // Creates the Pod of a shard attempt (AlreadyExists is fine) and its evidence folder.
  Status CreateAttemptPod(const Json& run, const api::GoTestRunSpec& spec, const policy::ShardPlan& plan);
  void Event(const Json& run, const std::string& type, const std::string& reason, const std::string& message);
  runtime::ObjectPtr Pod(const std::string& ns, const std::string& name);
  std::string Now() const;

  ObjectReader& reader_;
  ObjectWriter& writer_;
  StatusWriter& status_writer_;
  ReconcilerOptions options_;
  // When each OOM kill was first seen, by "<ns>/<run>/s<shard>", to log how long its
  // replacement Pod took (the operator's own reaction time, in its log).
  std::mutex kills_mu_;
  std::map<std::string, std::chrono::steady_clock::time_point> kills_seen_;
  EventQueue events_{writer_};
};

}  // namespace gotestrun::controllers
