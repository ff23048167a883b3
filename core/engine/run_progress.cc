#include "core/engine/run_progress.h"

#include <map>
#include <set>

#include "core/policy/quantity.h"

namespace gotestrun::engine {
namespace {

template <typename E>
E FromName(const std::string& name, std::string_view (*namer)(E), E fallback, std::initializer_list<E> all) {
  if (name.empty()) return fallback;
  for (E e : all) {
    if (namer(e) == name) return e;
  }
  return fallback;
}

policy::PackageResult ResultFromName(const std::string& n) {
  using R = policy::PackageResult;
  return FromName<R>(n, policy::PackageResultName, R::kNotRun,
                     {R::kNotRun, R::kPassed, R::kTestsFailed, R::kBuildFailed, R::kKilled, R::kBuildKilled});
}
policy::Phase PhaseFromName(const std::string& n) {
  using P = policy::Phase;
  return FromName<P>(n, policy::PhaseName, P::kUnknown, {P::kUnknown, P::kCompile, P::kLink, P::kInit, P::kTestRun});
}
policy::Cause CauseFromName(const std::string& n) {
  using C = policy::Cause;
  return FromName<C>(n, policy::CauseName, C::kUnknown,
                     {C::kUnknown, C::kLeakAcrossTests, C::kParallelSpike, C::kGoroutineLeak, C::kNativeMemory,
                      C::kGcHeadroom, C::kLargeTest, C::kInitMemory, C::kBuildMemory});
}
std::optional<policy::Verdict> VerdictFromName(const std::string& n) {
  using V = policy::Verdict;
  if (n.empty()) return std::nullopt;
  for (V v : {V::kPassed, V::kTestsFailed, V::kBuildFailed, V::kDoesNotFit, V::kAttemptsSpent}) {
    if (policy::VerdictName(v) == n) return v;
  }
  return std::nullopt;
}

api::AttemptStatus PlanStatus(const policy::ShardPlan& p) {
  api::AttemptStatus a;
  a.attempt = p.attempt;
  a.memory = policy::FormatMemoryQuantity(p.memory);
  a.parallel = p.parallel;
  a.p = p.p;
  if (p.gomemlimit) a.gomemlimit = policy::FormatGoMemLimit(*p.gomemlimit);
  return a;
}

std::map<std::string, std::vector<api::RetryLogEntry>> RetryLogOf(const policy::AttemptLog& log) {
  std::map<std::string, std::vector<api::RetryLogEntry>> out;
  for (const auto& [pkg, attempts] : log) {
    std::vector<api::RetryLogEntry>& list = out[pkg];
    for (const policy::PackageAttempt& a : attempts) {
      api::RetryLogEntry e;
      e.shard = a.shard;
      e.attempt = a.attempt;
      e.memory = a.memory;
      e.parallel = a.parallel;
      e.p = a.p;
      e.gomemlimit = a.gomemlimit;
      e.peak = a.peak;
      e.build_peak = a.build_peak;
      e.result = policy::PackageResultName(a.result);
      e.phase = policy::PhaseName(a.phase);
      e.cause = policy::CauseName(a.cause);
      e.counted = a.counted;
      if (a.verdict) e.verdict = policy::VerdictName(*a.verdict);
      list.push_back(std::move(e));
    }
  }
  return out;
}

policy::AttemptLog AttemptLogOf(const std::map<std::string, std::vector<api::RetryLogEntry>>& log) {
  policy::AttemptLog out;
  for (const auto& [pkg, entries] : log) {
    for (const api::RetryLogEntry& e : entries) {
      policy::PackageAttempt a;
      a.shard = e.shard;
      a.attempt = e.attempt;
      a.memory = e.memory;
      a.parallel = e.parallel;
      a.p = e.p;
      a.gomemlimit = e.gomemlimit;
      a.peak = e.peak;
      a.build_peak = e.build_peak;
      a.result = ResultFromName(e.result);
      a.phase = PhaseFromName(e.phase);
      a.cause = CauseFromName(e.cause);
      a.counted = e.counted;
      a.verdict = VerdictFromName(e.verdict);
      out[pkg].push_back(a);
    }
  }
  return out;
}

// status.packages[].outcome in the CRD's words.
std::string PackageOutcomeName(const policy::PackageVerdict& v, const policy::AttemptLog& log) {
  switch (v.verdict) {
    case policy::Verdict::kPassed: return "Succeeded";
    case policy::Verdict::kTestsFailed: return "TestsFailed";
    case policy::Verdict::kBuildFailed: return "BuildFailed";
    case policy::Verdict::kDoesNotFit: return "OOMKilled";
    case policy::Verdict::kAttemptsSpent: {
      auto it = log.find(v.package);
      bool killed = it != log.end() && !it->second.empty() &&
                    (it->second.back().result == policy::PackageResult::kKilled ||
                     it->second.back().result == policy::PackageResult::kBuildKilled);
      return killed ? "OOMKilled" : "Failed";
    }
  }
  return "Failed";
}

}  // namespace

RunProgress ReadProgress(const api::RunStatus& status) {
  RunProgress p;
  p.planned = !status.shards.empty();
  for (const api::ShardStatus& s : status.shards) {
    ShardRecord shard;
    shard.index = s.index;
    for (const api::AttemptStatus& a : s.attempts) {
      AttemptRecord r;
      r.plan.index = shard.index;
      r.plan.attempt = a.attempt;
      // The shard's package list is that of its latest attempt; earlier attempts keep
      // theirs in the retry log.
      r.plan.packages = s.packages;
      if (auto m = policy::ParseMemoryQuantity(a.memory); m.ok()) r.plan.memory = *m;
      r.plan.parallel = a.parallel;
      r.plan.p = a.p;
      if (!a.gomemlimit.empty()) {
        // Go's form ("460MiB") is a quantity with a trailing B.
        std::string q = a.gomemlimit.back() == 'B' ? a.gomemlimit.substr(0, a.gomemlimit.size() - 1) : a.gomemlimit;
        if (auto b = policy::ParseMemoryQuantity(q); b.ok()) r.plan.gomemlimit = *b;
      }
      r.pod = a.pod;
      r.outcome = a.outcome.empty() ? "Pending" : a.outcome;
      r.phase = a.phase;
      r.peak_bytes = a.peak_bytes;
      r.build_peak_bytes = a.build_peak_bytes;
      r.killed_package = a.killed_package;
      r.running_test = a.running_test;
      r.start_time = a.start_time;
      r.finish_time = a.finish_time;
      r.message = a.message;
      shard.attempts.push_back(std::move(r));
    }
    p.shards.push_back(std::move(shard));
  }
  p.log = AttemptLogOf(status.retry_log);
  // Diagnoses: an entry with an attempt came from the diagnosis of an attempt; the
  // others only say why a package ended (its verdict's words are the summary).
  std::map<std::string, std::string> verdict_words;
  for (const api::DiagnosisEntry& d : status.diagnosis) {
    if (d.package.empty()) continue;
    verdict_words[d.package] = d.verdict.empty() ? d.summary : d.verdict;
    if (d.attempt.empty()) continue;
    DiagnosisRecord r;
    r.diagnosis.package = d.package;
    r.diagnosis.phase = PhaseFromName(d.phase);
    r.diagnosis.cause = CauseFromName(d.cause);
    r.diagnosis.summary = d.summary;
    r.diagnosis.evidence = d.evidence;
    r.attempt = d.attempt;
    r.action = d.action;
    p.diagnoses.push_back(std::move(r));
  }
  // Verdicts are in the log: the attempt that ended a package carries one.
  for (const auto& [pkg, attempts] : p.log) {
    if (attempts.empty() || !attempts.back().verdict) continue;
    auto w = verdict_words.find(pkg);
    p.verdicts.push_back({pkg, *attempts.back().verdict, w == verdict_words.end() ? "" : w->second});
  }
  return p;
}

void WriteProgress(const RunProgress& progress, api::RunStatus& status) {
  status.shards.clear();
  for (const ShardRecord& s : progress.shards) {
    api::ShardStatus shard;
    shard.index = s.index;
    for (const AttemptRecord& r : s.attempts) {
      api::AttemptStatus a = PlanStatus(r.plan);
      a.pod = r.pod;
      a.outcome = r.outcome;
      a.phase = r.phase;
      a.peak_bytes = r.peak_bytes;
      a.build_peak_bytes = r.build_peak_bytes;
      a.killed_package = r.killed_package;
      a.running_test = r.running_test;
      a.start_time = r.start_time;
      a.finish_time = r.finish_time;
      a.message = r.message;
      shard.attempts.push_back(std::move(a));
    }
    if (!s.attempts.empty()) shard.packages = s.attempts.back().plan.packages;
    status.shards.push_back(std::move(shard));
  }
  status.retry_log = RetryLogOf(progress.log);
  status.packages.clear();
  for (const policy::PackageVerdict& v : progress.verdicts) {
    api::PackageStatus e{v.package, PackageOutcomeName(v, progress.log)};
    auto it = progress.log.find(v.package);
    if (it != progress.log.end() && !it->second.empty()) {
      e.attempts = static_cast<int>(it->second.size());
      e.shard = it->second.back().shard;
      for (const policy::PackageAttempt& a : it->second) {
        if (a.peak) e.peak_bytes = std::max(e.peak_bytes.value_or(0), *a.peak);
      }
    }
    status.packages.push_back(std::move(e));
  }
  // One entry per diagnosed package, then one per package that ended without fitting
  // and was never diagnosed.
  status.diagnosis.clear();
  std::set<std::string> diagnosed;
  auto ending = [&](const std::string& pkg) -> const policy::PackageVerdict* {
    for (const policy::PackageVerdict& v : progress.verdicts) {
      if (v.package == pkg &&
          (v.verdict == policy::Verdict::kDoesNotFit || v.verdict == policy::Verdict::kAttemptsSpent))
        return &v;
    }
    return nullptr;
  };
  for (const DiagnosisRecord& r : progress.diagnoses) {
    const PackageDiagnosis& dg = r.diagnosis;
    if (!diagnosed.insert(dg.package).second) continue;
    api::DiagnosisEntry d;
    d.package = dg.package;
    d.phase = policy::PhaseName(dg.phase);
    d.cause = policy::CauseName(dg.cause);
    d.summary = dg.summary.substr(0, 1024);
    for (const std::string& line : dg.evidence) {
      if (d.evidence.size() == 32) break;
      d.evidence.push_back(line.substr(0, 1024));
    }
    d.attempt = r.attempt;
    std::string action = r.action;
    if (const policy::PackageVerdict* v = ending(dg.package)) {
      action = std::string(policy::VerdictName(v->verdict)) + ": " + v->diagnosis;
      d.verdict = v->diagnosis.substr(0, 1024);
    }
    d.action = action.substr(0, 1024);
    status.diagnosis.push_back(std::move(d));
  }
  for (const policy::PackageVerdict& v : progress.verdicts) {
    if (diagnosed.contains(v.package) || ending(v.package) != &v) continue;
    auto it = progress.log.find(v.package);
    const policy::PackageAttempt* last = it != progress.log.end() && !it->second.empty() ? &it->second.back() : nullptr;
    api::DiagnosisEntry d;
    d.package = v.package;
    d.cause = policy::CauseName(last ? last->cause : policy::Cause::kUnknown);
    d.summary = v.diagnosis.substr(0, 1024);
    d.action = policy::VerdictName(v.verdict);
    if (last) d.phase = policy::PhaseName(last->phase);
    status.diagnosis.push_back(std::move(d));
  }
}

}  // namespace gotestrun::engine
