// The local runner: one GoTestRun on this machine, with the operator's engine.
//
// The loop is the reconciler's (controllers/gotestrun/reconciler.cc) with processes in
// place of Pods: plan (the agent's `list`, then policy::PlanShards), start every
// planned shard attempt at once (the policy keeps them within maxShards), and as
// attempts end read their evidence (engine::ReadAttemptEvidence), record it
// (engine::RecordEnd), let the retry policy decide (engine::Advance) and start what it
// decided, until the run settles. The status is kept exactly as the operator keeps it
// and status.yaml is rewritten after every change, so `gotestrun describe` and the
// report read a local run as they read a cluster's.
//
// At the end report.html and junit.xml are written from the folder (report/).
//
// Stopping (stop_requested, polled about every 100 ms; Ctrl-C in the binary): every
// process tree of the run is stopped through the executor, attempts that were running
// end Failed ("interrupted"), and the run ends Failed with the condition reason
// Interrupted (exit code 130).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "cli/executor.h"
#include "cli/progress.h"
#include "cli/run_spec.h"

namespace gotestrun::cli {

struct RunEnd {
  nlohmann::json run;                // the GoTestRun with its last status, as status.yaml holds it
  int exit_code = 1;                 // local/exit_code.h
  std::vector<std::string> reports;  // report.html, junit.xml, where written
};

// Runs `run` to its end in run.run_dir. Errors only when the run folder cannot be
// made or written (AlreadyExists when it already holds a run); how the run ended is in
// the result.
StatusOr<RunEnd> RunLocally(const LocalRun& run, AttemptExecutor& executor, Progress& progress,
                            const std::function<bool()>& stop_requested);

}  // namespace gotestrun::cli
