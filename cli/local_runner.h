// The local runner: one GoTestRun on this machine, with the operator's run loop
// (engine/run_loop.h) and processes in place of Pods: the agent's `list` for the
// planning step and one process tree per shard attempt (the policy keeps them within
// maxShards), a history file in place of the ConfigMap, lines on the terminal in
// place of Events. The loop is stepped whenever something ended, and status.yaml is
// rewritten after every change, exactly as the operator keeps the status, so
// `gotestrun describe` and the report read a local run as they read a cluster's.
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
