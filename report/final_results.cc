#include "report/final_results.h"

#include <algorithm>
#include <set>

namespace gotestrun::report {
namespace {

constexpr int kSigKill = 9;

const gotest::PackageResult* EventsOf(const Attempt& a, const std::string& package) {
  return a.evidence.has_events ? a.evidence.events.FindPackage(package) : nullptr;
}

const evidence::PackageRecord* RecordOf(const Attempt& a, const std::string& package) {
  if (!a.evidence.result) return nullptr;
  for (const evidence::PackageRecord& r : a.evidence.result->packages) {
    if (r.package == package) return &r;
  }
  return nullptr;
}

const evidence::ExecRecord* ExecOf(const Attempt& a, const std::string& package) {
  const evidence::ExecRecord* last = nullptr;
  for (const evidence::ExecRecord& e : a.evidence.execs) {
    if (e.package == package) last = &e;
  }
  return last;
}

bool Passed(const gotest::PackageResult* events, const evidence::PackageRecord* record) {
  using O = gotest::PackageOutcome;
  if (record) return record->outcome == O::kPass || record->outcome == O::kSkip;
  return events && (events->outcome == O::kPass || events->outcome == O::kSkip);
}

std::string DerivedOutcome(const FinalResult& r) {
  using O = gotest::PackageOutcome;
  if (r.killed) return "OOMKilled";
  O outcome = r.record ? r.record->outcome : r.events ? r.events->outcome : O::kNoResult;
  switch (outcome) {
    case O::kPass:
    case O::kSkip: return "Succeeded";
    case O::kFail: return "TestsFailed";
    case O::kBuildFailed: return "BuildFailed";
    case O::kKilled: return "OOMKilled";
    case O::kRunning:
    case O::kNoResult: break;
  }
  if (r.attempt && (r.attempt->status.outcome == "Pending" || r.attempt->status.outcome == "Running")) {
    return r.attempt->status.outcome;
  }
  return "Failed";
}

}  // namespace

bool ContainerOomKilled(const Attempt& attempt) {
  const AttemptEvidence& ev = attempt.evidence;
  if (ev.result) return false;
  if (attempt.in_status) return attempt.status.outcome == "OOMKilled";
  if (!ev.exists || ev.memory.samples.empty()) return false;
  // The last second of samples (~5): the kill comes between two of them.
  const evidence::MemorySample& last = ev.memory.samples.back();
  std::uint64_t peak = 0;
  for (auto it = ev.memory.samples.rbegin(); it != ev.memory.samples.rend() && it->unix_ms >= last.unix_ms - 1000;
       ++it) {
    peak = std::max(peak, it->usage_bytes);
  }
  return last.limit_bytes && *last.limit_bytes > 0 && peak >= *last.limit_bytes / 10 * 9;
}

bool KilledIn(const Attempt& attempt, const std::string& package) {
  if (attempt.status.killed_package == package) return true;
  if (const evidence::PackageRecord* r = RecordOf(attempt, package)) {
    if (r->outcome == gotest::PackageOutcome::kKilled) return true;
    if (r->binary && r->binary->signal == kSigKill) return true;
  }
  if (const evidence::ExecRecord* e = ExecOf(attempt, package); e && e->end.signal == kSigKill) return true;
  if (const gotest::PackageResult* ev = EventsOf(attempt, package)) {
    if (ev->outcome == gotest::PackageOutcome::kKilled) return true;
    // The container died with go test: the package was still running in it.
    if (ContainerOomKilled(attempt) &&
        (ev->outcome == gotest::PackageOutcome::kNoResult || ev->outcome == gotest::PackageOutcome::kRunning)) {
      return true;
    }
  }
  return false;
}

std::vector<FinalResult> FinalResults(const LoadedRun& run) {
  std::vector<std::string> order;
  std::set<std::string> seen;
  auto add = [&](const std::string& p) {
    if (!p.empty() && seen.insert(p).second) order.push_back(p);
  };
  for (const PackageStatus& p : run.packages) add(p.package);
  for (const Shard& s : run.shards) {
    for (const std::string& p : s.packages) add(p);
  }
  std::set<std::string> extra;
  for (const Shard& s : run.shards) {
    for (const Attempt& a : s.attempts) {
      for (const gotest::PackageResult& p : a.evidence.events.packages) extra.insert(p.name);
      if (a.evidence.result) {
        for (const evidence::PackageRecord& r : a.evidence.result->packages) extra.insert(r.package);
      }
      for (const evidence::ExecRecord& e : a.evidence.execs) extra.insert(e.package);
    }
  }
  for (const std::string& p : extra) add(p);

  std::vector<const Attempt*> attempts = run.AttemptsInOrder();
  std::vector<FinalResult> out;
  out.reserve(order.size());
  for (const std::string& pkg : order) {
    FinalResult r;
    r.package = pkg;
    for (const Attempt* a : attempts) {
      const gotest::PackageResult* events = EventsOf(*a, pkg);
      const evidence::PackageRecord* record = RecordOf(*a, pkg);
      const evidence::ExecRecord* exec = ExecOf(*a, pkg);
      bool killed = a->status.killed_package == pkg;
      if (!events && !record && !exec && !killed) continue;
      r.attempt = a;
      r.events = events;
      r.record = record;
      r.exec = exec;
      r.killed = KilledIn(*a, pkg);
      r.passed_once = r.passed_once || Passed(events, record);
    }
    if (r.attempt && r.killed) {
      if (r.attempt->status.killed_package == pkg) r.running_test = r.attempt->status.running_test;
      if (r.running_test.empty() && r.record && !r.record->running_tests.empty()) {
        r.running_test = r.record->running_tests.back();
      }
      if (r.running_test.empty() && r.events && !r.events->running_at_end.empty()) {
        r.running_test = r.events->running_at_end.back();
      }
    }
    for (const PackageStatus& p : run.packages) {
      if (p.package == pkg) r.outcome = p.outcome;
    }
    if (r.outcome == "Succeeded") r.passed_once = true;
    if (r.outcome.empty()) r.outcome = DerivedOutcome(r);
    for (const Diagnosis& d : run.diagnoses) {
      if (d.package == pkg) r.diagnosis = &d;
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace gotestrun::report
