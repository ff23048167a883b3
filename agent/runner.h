// `gotestrun-agent run`: one attempt of a shard, inside its Pod (or under the local
// runner), leaving the evidence of evidence.h in the attempt folder.
//
// In order: memory.tsv starts (one sample every ~200 ms until the end); go list
// writes packages.json; the heap snapshot overlay is written; go test starts (see
// go_test_command.h) with its output going straight into events.jsonl, so that
// nothing it printed is lost if the agent dies; the agent follows that file to report
// each package as it ends on its own stdout; when go test ends, result.json is
// written from the stream (diagnosis/gotest TestStreamReader), the exec records,
// the GC traces and the cgroup counters. The exit code is go test's (128 + signal
// when a signal ended it).
//
// SIGTERM, SIGINT or SIGHUP to the agent are passed to go test's process group;
// 10 s later the group is killed. result.json is still written.
//
// Failures of the agent itself are in result.json's "error": bad flags (exit code
// 2, go test not started), go list failing (go test still runs, without heap
// snapshots, so that its own report of the problem is in events.jsonl), go not found.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "agent/command_line.h"
#include "core/evidence/evidence.h"
#include "core/diagnosis/gotest/run_summary.h"

namespace gotestrun::agent {

// The per-package part of result.json: the packages go list named, in its order,
// then any others the stream or the exec records name. The stream decides the
// outcome; an exec record that shows a signal makes it killed even where go test
// printed no "signal: killed"; a package the stream never finished is no-result.
std::vector<evidence::PackageRecord> PackageRecords(const std::vector<evidence::PackageListing>& listed,
                                                    const gotest::RunSummary& stream,
                                                    const std::map<std::string, evidence::ExecRecord>& exec_records,
                                                    const std::map<std::string, std::uint64_t>& gc_peak_heap_bytes);

// Runs the attempt and returns the process's exit code. `agent_path` is this
// executable, for go test -exec.
int RunAttempt(const RunOptions& options, const std::string& agent_path);

}  // namespace gotestrun::agent
