// A GoTestRun in words, for `gotestrun describe` and the end of `gotestrun run`.
//
// One input for both sources: the GoTestRun object (metadata, spec, status) as the API
// server returns it, or as a local run folder holds it (run.yaml with status.yaml as
// its .status). Pure: no files, clocks or terminals; anything missing or malformed in
// the object is left out, never a crash, because the status is input from outside;
// for the same reason control characters in it are escaped (TerminalText).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace gotestrun::engine {

// The annotation a local run writes on its GoTestRun: the module folder it tested.
inline constexpr char kModuleDirAnnotation[] = "gotestrun.dev/module-dir";

// Everything the status says: the run (name, module, packages, limits), phase and
// message, per shard every attempt (limit, knobs, outcome, peak, killed package,
// phase and test, what happened), per package how it ended and its peak, and the
// diagnosis entries (cause, summary, evidence, action).
std::string DescribeRun(const nlohmann::json& run);

// The end of a run in a few lines: per package its outcome and peak, each OOM kill
// (attempt, limit, package, phase, test) and the diagnosis of the package where there
// is one, then the run's message.
std::string SummarizeRun(const nlohmann::json& run);

}  // namespace gotestrun::engine
