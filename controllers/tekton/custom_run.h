// GoTestRun as a Tekton custom task: what a tekton.dev/v1beta1 CustomRun asks for, and
// what its status says as the GoTestRun it owns runs. Pure functions of the objects and
// the time; the reconciler (reconciler.h) reads and writes them.
//
// A CustomRun is ours when its customRef or customSpec names apiVersion
// gotestrun.dev/v1alpha1, kind GoTestRun (a Pipeline's `taskRef: {apiVersion, kind}`
// becomes such a customRef). The spec comes from customSpec.spec, or from the GoTestRun
// named by customRef.name used as a template, then the params are applied on top:
//
//   packages (array, or words split on spaces and commas), image, claimName, subPath,
//   moduleDir, gitUrl, gitRevision, memory, maxMemory, cpu, parallel, p, timeout
//   (go test's), flags (array), tags (array or words), shards, maxShards, maxAttempts
//
// Status, as Tekton's PipelineRun reconciler reads it: condition Succeeded Unknown
// (reason Running) while the GoTestRun runs, True (Succeeded) or False (Failed,
// CustomRunTimedOut, CustomRunCancelled, InvalidParams) at the end; startTime and
// completionTime; results (strings): passed, failed, oomKills, diagnosis; extraFields:
// the GoTestRun's name, phase and status.diagnosis. spec.timeout is per attempt
// (default 60m, "0" none); spec.retries re-runs a failed GoTestRun, each failure kept
// in retriesStatus, and False is set only once retries are spent.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "base/status.h"
#include "kube/client/resource.h"

namespace gotestrun::controllers::tekton {

using kube::Json;

inline const kube::ResourceType kCustomRuns{"tekton.dev", "v1beta1", "customruns", true};
inline constexpr char kCustomRunKind[] = "CustomRun";

// Tekton's reasons; the PipelineRun reconciler matches CustomRunCancelled exactly.
inline constexpr char kReasonRunning[] = "Running";
inline constexpr char kReasonSucceeded[] = "Succeeded";
inline constexpr char kReasonFailed[] = "Failed";
inline constexpr char kReasonTimedOut[] = "CustomRunTimedOut";
inline constexpr char kReasonCancelled[] = "CustomRunCancelled";
inline constexpr char kReasonInvalidParams[] = "InvalidParams";

// Tekton's default per-attempt timeout.
inline constexpr std::chrono::minutes kDefaultTimeout{60};

bool IsGoTestRunTask(const Json& custom_run);

// The name of the GoTestRun of attempt `retry` (0 first): the CustomRun's own name,
// then "<name>-retry<N>", shortened with a hash to stay a valid object name.
std::string GoTestRunName(const Json& custom_run, int retry);

// The customRef.name template the spec starts from, when one is named.
std::optional<std::string> TemplateName(const Json& custom_run);

// The GoTestRun to create for attempt `retry`, owned by the CustomRun. InvalidArgument,
// naming the param, for an unknown param or a value of the wrong type.
StatusOr<Json> DesiredGoTestRun(const Json& custom_run, const std::optional<Json>& template_run, int retry);

// spec.timeout: nullopt for none ("0"), the default when unset; InvalidArgument for
// text that is not a Go duration.
StatusOr<std::optional<std::chrono::nanoseconds>> AttemptTimeout(const Json& custom_run);

// What the reconciler should do, and the status to write.
struct Step {
  enum class Action { kNone, kCreateRun, kDeleteRun };
  Action action = Action::kNone;
  Json status;                                            // the CustomRun's status after this step
  std::optional<std::chrono::nanoseconds> requeue_after;  // look again (the timeout)
};

// One level-triggered step. `run` is the current attempt's GoTestRun as the cache has
// it (nullopt: not created yet, or gone); `create_error` a refusal of an earlier try to
// create it (the API server's words end the CustomRun as InvalidParams).
Step Decide(const Json& custom_run, const std::optional<Json>& run, std::chrono::system_clock::time_point now,
            const Status& create_error = Status::Ok());

bool IsDone(const Json& custom_run);

// The attempt a status is at: how many failed GoTestRuns retriesStatus holds.
int CurrentRetry(const Json& status);

}  // namespace gotestrun::controllers::tekton
