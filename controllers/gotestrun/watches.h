// What the GoTestRun controller watches, and which run a change belongs to: the runs
// themselves, and the Pods they own (only Pods with the run label, so the operator's
// cache never holds the cluster's other Pods).
#pragma once

#include <optional>
#include <string>

#include "kube/runtime/controller.h"
#include "kube/runtime/informer.h"

namespace gotestrun::controllers {

// The watch options of the run Pods in `ns` (empty: every namespace); the cache keeps
// their metadata and status.
runtime::WatcherOptions RunPodWatch(const std::string& ns);

// The run a Pod belongs to: its controller owner, when that is a GoTestRun. A deleted
// Pod maps to nothing: the run re-creates what it needs on its next reconcile, and its
// own informer triggers that.
std::optional<std::string> RunOfPod(const runtime::Store& pods, const std::string& pod_key);

// Whether the Pod has ended (Succeeded or Failed): its run's next step (a retry after
// an OOM kill, the next shard, the end of the run) waits on the reconcile, so the run
// goes ahead of runs whose Pods merely moved on (scheduled, started, a status patch).
bool PodEnded(const runtime::Store& pods, const std::string& pod_key);

// Registers `runs` as the controller's primary kind and `pods` as owned by them (every
// informer of each: one per watched namespace). Ended Pods queue their run urgently.
void WatchRunsAndPods(runtime::Controller& controller, const runtime::Informers& runs, const runtime::Informers& pods);

}  // namespace gotestrun::controllers
