#include "core/engine/progress.h"

#include <map>
#include <set>

#include "core/policy/quantity.h"

namespace gotestrun::engine {
namespace {

using nlohmann::json;

template <typename T>
std::optional<T> Opt(const json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || j[key].is_null()) return std::nullopt;
  if constexpr (std::is_same_v<T, std::string>) {
    return j[key].is_string() ? std::optional<T>(j[key].get<std::string>()) : std::nullopt;
  } else if constexpr (std::is_same_v<T, bool>) {
    return j[key].is_boolean() ? std::optional<T>(j[key].get<bool>()) : std::nullopt;
  } else {
    return j[key].is_number_integer() ? std::optional<T>(j[key].get<T>()) : std::nullopt;
  }
}

template <typename E>
E FromName(const std::optional<std::string>& name, std::string_view (*namer)(E), E fallback, std::initializer_list<E> all) {
  if (!name) return fallback;
  for (E e : all) {
    if (namer(e) == *name) return e;
  }
  return fallback;
}

policy::PackageResult ResultFromName(const std::optional<std::string>& n) {
  using R = policy::PackageResult;
  return FromName<R>(n, policy::PackageResultName, R::kNotRun,
                     {R::kNotRun, R::kPassed, R::kTestsFailed, R::kBuildFailed, R::kKilled, R::kBuildKilled});
}
policy::Phase PhaseFromName(const std::optional<std::string>& n) {
  using P = policy::Phase;
  return FromName<P>(n, policy::PhaseName, P::kUnknown, {P::kUnknown, P::kCompile, P::kLink, P::kInit, P::kTestRun});
}
policy::Cause CauseFromName(const std::optional<std::string>& n) {
  using C = policy::Cause;
  return FromName<C>(n, policy::CauseName, C::kUnknown,
                     {C::kUnknown, C::kLeakAcrossTests, C::kParallelSpike, C::kGoroutineLeak, C::kNativeMemory,
                      C::kGcHeadroom, C::kLargeTest, C::kInitMemory, C::kBuildMemory});
}
std::optional<policy::Verdict> VerdictFromName(const std::optional<std::string>& n) {
  using V = policy::Verdict;
  if (!n) return std::nullopt;
  for (V v : {V::kPassed, V::kTestsFailed, V::kBuildFailed, V::kDoesNotFit, V::kAttemptsSpent}) {
    if (policy::VerdictName(v) == *n) return v;
  }
  return std::nullopt;
}

json EncodePlan(const policy::ShardPlan& p, json& a) {
  a["attempt"] = p.attempt;
  a["memory"] = policy::FormatMemoryQuantity(p.memory);
  if (p.parallel) a["parallel"] = *p.parallel;
  if (p.p) a["p"] = *p.p;
  if (p.gomemlimit) a["gomemlimit"] = policy::FormatGoMemLimit(*p.gomemlimit);
  return a;
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

json EncodeAttemptLog(const policy::AttemptLog& log) {
  json out = json::object();
  for (const auto& [pkg, attempts] : log) {
    json list = json::array();
    for (const policy::PackageAttempt& a : attempts) {
      json e = {{"shard", a.shard},
                {"attempt", a.attempt},
                {"memory", a.memory},
                {"result", policy::PackageResultName(a.result)},
                {"phase", policy::PhaseName(a.phase)},
                {"cause", policy::CauseName(a.cause)},
                {"counted", a.counted}};
      if (a.parallel) e["parallel"] = *a.parallel;
      if (a.p) e["p"] = *a.p;
      if (a.gomemlimit) e["gomemlimit"] = *a.gomemlimit;
      if (a.peak) e["peak"] = *a.peak;
      if (a.verdict) e["verdict"] = policy::VerdictName(*a.verdict);
      list.push_back(std::move(e));
    }
    out[pkg] = std::move(list);
  }
  return out;
}

policy::AttemptLog DecodeAttemptLog(const json& j) {
  policy::AttemptLog log;
  if (!j.is_object()) return log;
  for (const auto& [pkg, list] : j.items()) {
    if (!list.is_array()) continue;
    for (const json& e : list) {
      policy::PackageAttempt a;
      a.shard = Opt<int>(e, "shard").value_or(0);
      a.attempt = Opt<int>(e, "attempt").value_or(0);
      a.memory = Opt<uint64_t>(e, "memory").value_or(0);
      a.parallel = Opt<int>(e, "parallel");
      a.p = Opt<int>(e, "p");
      a.gomemlimit = Opt<uint64_t>(e, "gomemlimit");
      a.peak = Opt<uint64_t>(e, "peak");
      a.result = ResultFromName(Opt<std::string>(e, "result"));
      a.phase = PhaseFromName(Opt<std::string>(e, "phase"));
      a.cause = CauseFromName(Opt<std::string>(e, "cause"));
      a.counted = Opt<bool>(e, "counted").value_or(false);
      a.verdict = VerdictFromName(Opt<std::string>(e, "verdict"));
      log[pkg].push_back(a);
    }
  }
  return log;
}

RunProgress DecodeProgress(const json& status) {
  RunProgress p;
  if (!status.is_object()) return p;
  p.planned = status.contains("shards") && status["shards"].is_array() && !status["shards"].empty();
  if (p.planned) {
    for (const json& s : status["shards"]) {
      ShardRecord shard;
      shard.index = Opt<int>(s, "index").value_or(0);
      if (s.contains("attempts") && s["attempts"].is_array()) {
        for (const json& a : s["attempts"]) {
          AttemptRecord r;
          r.plan.index = shard.index;
          r.plan.attempt = Opt<int>(a, "attempt").value_or(1);
          // The shard's package list is that of its latest attempt; earlier attempts
          // keep theirs in the retry log.
          if (s.contains("packages") && s["packages"].is_array()) {
            for (const json& pkg : s["packages"]) {
              if (pkg.is_string()) r.plan.packages.push_back(pkg.get<std::string>());
            }
          }
          if (auto m = Opt<std::string>(a, "memory")) r.plan.memory = policy::ParseMemoryQuantity(*m).ok() ? *policy::ParseMemoryQuantity(*m) : 0;
          r.plan.parallel = Opt<int>(a, "parallel");
          r.plan.p = Opt<int>(a, "p");
          if (auto g = Opt<std::string>(a, "gomemlimit")) {
            // Go's form ("460MiB") is a quantity with a trailing B.
            std::string q = !g->empty() && g->back() == 'B' ? g->substr(0, g->size() - 1) : *g;
            if (auto b = policy::ParseMemoryQuantity(q); b.ok()) r.plan.gomemlimit = *b;
          }
          r.pod = Opt<std::string>(a, "pod").value_or("");
          r.outcome = Opt<std::string>(a, "outcome").value_or("Pending");
          r.phase = Opt<std::string>(a, "phase").value_or("");
          r.peak_bytes = Opt<uint64_t>(a, "peakBytes");
          r.killed_package = Opt<std::string>(a, "killedPackage").value_or("");
          r.running_test = Opt<std::string>(a, "runningTest").value_or("");
          r.start_time = Opt<std::string>(a, "startTime").value_or("");
          r.finish_time = Opt<std::string>(a, "finishTime").value_or("");
          r.message = Opt<std::string>(a, "message").value_or("");
          shard.attempts.push_back(std::move(r));
        }
      }
      p.shards.push_back(std::move(shard));
    }
  }
  if (status.contains("retryLog")) p.log = DecodeAttemptLog(status["retryLog"]);
  // Diagnoses: an entry with an "attempt" came from the diagnosis of an attempt; the
  // others only say why a package ended (its verdict's words are the summary).
  std::map<std::string, std::string> verdict_words;
  if (status.contains("diagnosis") && status["diagnosis"].is_array()) {
    for (const json& d : status["diagnosis"]) {
      std::string pkg = Opt<std::string>(d, "package").value_or("");
      if (pkg.empty()) continue;
      std::string words = Opt<std::string>(d, "verdict").value_or(Opt<std::string>(d, "summary").value_or(""));
      verdict_words[pkg] = words;
      auto attempt = Opt<std::string>(d, "attempt");
      if (!attempt) continue;
      DiagnosisRecord r;
      r.diagnosis.package = pkg;
      r.diagnosis.phase = PhaseFromName(Opt<std::string>(d, "phase"));
      r.diagnosis.cause = CauseFromName(Opt<std::string>(d, "cause"));
      r.diagnosis.summary = Opt<std::string>(d, "summary").value_or("");
      if (d.contains("evidence") && d["evidence"].is_array()) {
        for (const json& e : d["evidence"]) {
          if (e.is_string()) r.diagnosis.evidence.push_back(e.get<std::string>());
        }
      }
      r.attempt = *attempt;
      r.action = Opt<std::string>(d, "action").value_or("");
      p.diagnoses.push_back(std::move(r));
    }
  }
  // Verdicts are in the log: the attempt that ended a package carries one.
  for (const auto& [pkg, attempts] : p.log) {
    if (attempts.empty() || !attempts.back().verdict) continue;
    auto w = verdict_words.find(pkg);
    p.verdicts.push_back({pkg, *attempts.back().verdict, w == verdict_words.end() ? "" : w->second});
  }
  return p;
}

void EncodeProgress(const RunProgress& progress, json& status) {
  json shards = json::array();
  for (const ShardRecord& s : progress.shards) {
    json attempts = json::array();
    for (const AttemptRecord& r : s.attempts) {
      json a = json::object();
      EncodePlan(r.plan, a);
      a["pod"] = r.pod;
      a["outcome"] = r.outcome;
      if (!r.phase.empty()) a["phase"] = r.phase;
      if (r.peak_bytes) a["peakBytes"] = *r.peak_bytes;
      if (!r.killed_package.empty()) a["killedPackage"] = r.killed_package;
      if (!r.running_test.empty()) a["runningTest"] = r.running_test;
      if (!r.start_time.empty()) a["startTime"] = r.start_time;
      if (!r.finish_time.empty()) a["finishTime"] = r.finish_time;
      if (!r.message.empty()) a["message"] = r.message;
      attempts.push_back(std::move(a));
    }
    json packages = s.attempts.empty() ? json::array() : json(s.attempts.back().plan.packages);
    shards.push_back({{"index", s.index}, {"packages", std::move(packages)}, {"attempts", std::move(attempts)}});
  }
  status["shards"] = std::move(shards);
  status["retryLog"] = EncodeAttemptLog(progress.log);
  json packages = json::array();
  json diagnosis = json::array();
  for (const policy::PackageVerdict& v : progress.verdicts) {
    json e = {{"package", v.package}, {"outcome", PackageOutcomeName(v, progress.log)}};
    auto it = progress.log.find(v.package);
    const policy::PackageAttempt* last = nullptr;
    if (it != progress.log.end() && !it->second.empty()) {
      last = &it->second.back();
      e["attempts"] = static_cast<int>(it->second.size());
      e["shard"] = last->shard;
      std::optional<uint64_t> peak;
      for (const policy::PackageAttempt& a : it->second) {
        if (a.peak) peak = std::max(peak.value_or(0), *a.peak);
      }
      if (peak) e["peakBytes"] = *peak;
    }
    packages.push_back(std::move(e));
  }
  // One entry per diagnosed package, then one per package that ended without fitting
  // and was never diagnosed.
  std::set<std::string> diagnosed;
  auto ending = [&](const std::string& pkg) -> const policy::PackageVerdict* {
    for (const policy::PackageVerdict& v : progress.verdicts) {
      if (v.package == pkg && (v.verdict == policy::Verdict::kDoesNotFit || v.verdict == policy::Verdict::kAttemptsSpent)) return &v;
    }
    return nullptr;
  };
  for (const DiagnosisRecord& r : progress.diagnoses) {
    const PackageDiagnosis& dg = r.diagnosis;
    if (!diagnosed.insert(dg.package).second) continue;
    json ev = json::array();
    for (const std::string& line : dg.evidence) {
      if (ev.size() == 32) break;
      ev.push_back(line.substr(0, 1024));
    }
    json d = {{"package", dg.package},
              {"phase", policy::PhaseName(dg.phase)},
              {"cause", policy::CauseName(dg.cause)},
              {"summary", dg.summary.substr(0, 1024)},
              {"evidence", std::move(ev)},
              {"attempt", r.attempt}};
    std::string action = r.action;
    if (const policy::PackageVerdict* v = ending(dg.package)) {
      action = std::string(policy::VerdictName(v->verdict)) + ": " + v->diagnosis;
      d["verdict"] = v->diagnosis.substr(0, 1024);
    }
    if (!action.empty()) d["action"] = action.substr(0, 1024);
    diagnosis.push_back(std::move(d));
  }
  for (const policy::PackageVerdict& v : progress.verdicts) {
    if (diagnosed.contains(v.package) || ending(v.package) != &v) continue;
    auto it = progress.log.find(v.package);
    const policy::PackageAttempt* last = it != progress.log.end() && !it->second.empty() ? &it->second.back() : nullptr;
    json d = {{"package", v.package},
              {"cause", policy::CauseName(last ? last->cause : policy::Cause::kUnknown)},
              {"summary", v.diagnosis.substr(0, 1024)},
              {"action", std::string(policy::VerdictName(v.verdict))}};
    if (last) d["phase"] = policy::PhaseName(last->phase);
    diagnosis.push_back(std::move(d));
  }
  status["diagnosis"] = std::move(diagnosis);
  status["packages"] = std::move(packages);
}

}  // namespace gotestrun::engine
