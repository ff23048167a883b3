#include "controllers/gotestrun/run_metrics.h"

#include <map>

#include "base/metrics.h"
#include "core/evidence/memory_stall.h"

namespace gotestrun::controllers {
namespace {

metrics::CounterFamily& Attempts() {
  static metrics::CounterFamily& f = metrics::Registry::Default().Counter(
      "gotestrun_attempts_total", "Shard attempts of GoTestRuns ended, by outcome.", {"outcome"});
  return f;
}

metrics::CounterFamily& OomKills() {
  static metrics::CounterFamily& f = metrics::Registry::Default().Counter(
      "gotestrun_oom_kills_total", "Shard attempts of GoTestRuns OOM-killed, by the diagnosed cause.", {"cause"});
  return f;
}

metrics::CounterFamily& ReservedMemory() {
  static metrics::CounterFamily& f = metrics::Registry::Default().Counter(
      "gotestrun_reserved_memory_seconds_total",
      "Memory limit of each test Pod times the seconds it ran, in byte-seconds, summed at each attempt's end.");
  return f;
}

// Registered at start, so a scrape before the first attempt ends shows the families.
const bool kRegistered = (Attempts(), OomKills(), ReservedMemory(), true);

}  // namespace

std::string AttemptOutcomeLabel(const std::string& outcome) {
  if (outcome == "Succeeded") return "passed";
  if (outcome == "TestsFailed") return "failed";
  if (outcome == "OOMKilled") return "oom_killed";
  if (outcome == evidence::kMemoryStallOutcome) return "memory_stall";
  // "Failed": the Pod ended without a result from the agent and without a kill.
  return "lost";
}

void CountAttemptEnd(const AttemptEndMetric& end) {
  (void)kRegistered;
  Attempts().With({AttemptOutcomeLabel(end.outcome)}).Inc();
  if (end.outcome == "OOMKilled") OomKills().With({end.cause.empty() ? "Unknown" : end.cause}).Inc();
  if (end.reserved_byte_seconds > 0) ReservedMemory().With({}).Inc(end.reserved_byte_seconds);
}

void ExportRunPhases(std::function<std::vector<runtime::ObjectPtr>()> list) {
  metrics::Registry::Default().GaugeFunc(
      "gotestrun_runs", "GoTestRuns by status.phase (Pending before the operator wrote a status).", {"phase"},
      [list = std::move(list)] {
        // Every phase the operator writes, so a series reads 0 rather than vanishing.
        std::map<std::string, double> by_phase = {
            {"Pending", 0}, {"Planning", 0}, {"Running", 0}, {"Succeeded", 0}, {"Failed", 0}};
        for (const runtime::ObjectPtr& run : list()) {
          std::string phase;
          if (run->is_object() && run->contains("status") && (*run)["status"].is_object()) {
            const kube::Json& p = (*run)["status"].contains("phase") ? (*run)["status"]["phase"] : kube::Json();
            if (p.is_string()) phase = p.get<std::string>();
          }
          by_phase[phase.empty() ? "Pending" : phase] += 1;
        }
        std::vector<std::pair<metrics::LabelValues, double>> out;
        for (const auto& [phase, n] : by_phase) out.push_back({{phase}, n});
        return out;
      });
}

}  // namespace gotestrun::controllers
