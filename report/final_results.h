// How each package of a run ended, joined from the status and the attempts' evidence:
// what both the HTML report and the JUnit file say about a package.
#pragma once

#include <string>
#include <vector>

#include "report/run_folder.h"

namespace gotestrun::report {

struct FinalResult {
  std::string package;
  // The status's word (Succeeded, TestsFailed, BuildFailed, OOMKilled, Failed), or
  // derived from the last attempt that ran the package when the status has none.
  std::string outcome;
  // The last attempt whose evidence has the package (its events, result.json or an
  // exec record), and what that evidence says; null where there is none.
  const Attempt* attempt = nullptr;
  const gotest::PackageResult* events = nullptr;
  const evidence::PackageRecord* record = nullptr;
  const evidence::ExecRecord* exec = nullptr;
  bool passed_once = false;  // some attempt's evidence or the status says it passed
  bool killed = false;       // the last attempt that ran it ended on an OOM kill of it
  std::string running_test;  // the test running at that kill, when known
  const Diagnosis* diagnosis = nullptr;
};

// Every package the run knows of: the status's packages in its order, then those of
// the shards' plans, then any only the evidence shows, by name.
std::vector<FinalResult> FinalResults(const LoadedRun& run);

// Whether the package was OOM-killed in this attempt, by the status, result.json, its
// exec record or the event stream.
bool KilledIn(const Attempt& attempt, const std::string& package);

// Whether the attempt's whole container was OOM-killed (the agent with go test): the
// status says so, or, for an attempt the status does not list, the agent left no
// result.json and the container's memory was at its limit when the samples stop.
bool ContainerOomKilled(const Attempt& attempt);

}  // namespace gotestrun::report
