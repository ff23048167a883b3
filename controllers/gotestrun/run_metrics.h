// The operator's product metrics, in the process's registry (base/metrics.h) and so on
// /metrics:
//
//   gotestrun_runs{phase}                        gauge: GoTestRuns by status.phase
//                                                (Pending before the first status),
//                                                counted from the informers' stores at
//                                                each scrape
//   gotestrun_attempts_total{outcome}            counter: shard attempts ended, by how:
//                                                passed, failed, oom_killed,
//                                                memory_stall, lost (no result, no kill)
//   gotestrun_oom_kills_total{cause}             counter: attempts OOM-killed, by the
//                                                diagnosis' cause of the kill
//                                                (LeakAcrossTests, ..., Unknown); their
//                                                sum follows status.oomKills
//   gotestrun_reserved_memory_seconds_total      counter: memory limit bytes x seconds
//                                                each attempt Pod ran, added at its end
//
// An attempt's end is counted when the status that records it is written: a reconcile
// whose write fails (a conflict, a stale cache) is repeated and sees the same end
// again, and only the one whose write lands counts it. Once written the attempt is
// finished in status and never read as ending again, by this process or the next.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "kube/runtime/store.h"

namespace gotestrun::controllers {

struct AttemptEndMetric {
  std::string outcome;  // the attempt's status outcome: Succeeded, TestsFailed, OOMKilled, ...
  std::string cause;    // of an OOM kill; empty: Unknown
  double reserved_byte_seconds = 0;
};

// The label of gotestrun_attempts_total for an attempt's status outcome.
std::string AttemptOutcomeLabel(const std::string& outcome);

void CountAttemptEnd(const AttemptEndMetric& end);

// Registers gotestrun_runs{phase}, counting the GoTestRuns `list` returns at each
// scrape (a second call replaces the first).
void ExportRunPhases(std::function<std::vector<runtime::ObjectPtr>()> list);

}  // namespace gotestrun::controllers
