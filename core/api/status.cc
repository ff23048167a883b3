#include "core/api/status.h"

#include <limits>

namespace gotestrun::api {
namespace {

using nlohmann::json;

const json& Field(const json& j, const char* key) {
  static const json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

std::string Str(const json& j, const char* key) {
  const json& v = Field(j, key);
  return v.is_string() ? v.get<std::string>() : std::string();
}

// A Kubernetes quantity may be written as a string or an integer.
std::string Quantity(const json& j, const char* key) {
  const json& v = Field(j, key);
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer() || v.is_number_unsigned()) return v.dump();
  return {};
}

std::optional<std::int64_t> Int64(const json& j, const char* key) {
  const json& v = Field(j, key);
  if (v.is_number_unsigned()) {
    std::uint64_t u = v.get<std::uint64_t>();
    if (u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return static_cast<std::int64_t>(u);
    return std::nullopt;
  }
  if (v.is_number_integer()) return v.get<std::int64_t>();
  return std::nullopt;
}

std::optional<int> Int(const json& j, const char* key) {
  auto v = Int64(j, key);
  if (!v || *v < std::numeric_limits<int>::min() || *v > std::numeric_limits<int>::max()) return std::nullopt;
  return static_cast<int>(*v);
}

std::optional<std::uint64_t> Bytes(const json& j, const char* key) {
  const json& v = Field(j, key);
  if (v.is_number_unsigned()) return v.get<std::uint64_t>();
  if (v.is_number_integer() && v.get<std::int64_t>() >= 0) return static_cast<std::uint64_t>(v.get<std::int64_t>());
  return std::nullopt;
}

bool Bool(const json& j, const char* key) {
  const json& v = Field(j, key);
  return v.is_boolean() && v.get<bool>();
}

std::vector<std::string> Strings(const json& j, const char* key) {
  std::vector<std::string> out;
  const json& v = Field(j, key);
  if (v.is_string()) out.push_back(v.get<std::string>());  // one line written by hand
  if (!v.is_array()) return out;
  for (const json& e : v) {
    if (e.is_string()) out.push_back(e.get<std::string>());
  }
  return out;
}

template <typename T, typename F>
std::vector<T> Objects(const json& j, const char* key, F decode) {
  std::vector<T> out;
  const json& v = Field(j, key);
  if (!v.is_array()) return out;
  for (const json& e : v) {
    if (e.is_object()) out.push_back(decode(e));
  }
  return out;
}

void Put(json& j, const char* key, const std::string& value) {
  if (!value.empty()) j[key] = value;
}
template <typename T>
void Put(json& j, const char* key, const std::optional<T>& value) {
  if (value) j[key] = *value;
}

Condition DecodeCondition(const json& c) {
  return {Str(c, "type"),
          Str(c, "status"),
          Str(c, "reason"),
          Str(c, "message"),
          Str(c, "lastTransitionTime"),
          Int64(c, "observedGeneration")};
}

AttemptStatus DecodeAttempt(const json& a, int position) {
  AttemptStatus s;
  s.attempt = Int(a, "attempt").value_or(position + 1);
  s.pod = Str(a, "pod");
  s.memory = Quantity(a, "memory");
  s.parallel = Int(a, "parallel");
  s.p = Int(a, "p");
  s.gomemlimit = Quantity(a, "gomemlimit");
  s.outcome = Str(a, "outcome");
  s.phase = Str(a, "phase");
  s.peak_bytes = Bytes(a, "peakBytes");
  s.build_peak_bytes = Bytes(a, "buildPeakBytes");
  s.killed_package = Str(a, "killedPackage");
  s.running_test = Str(a, "runningTest");
  s.start_time = Str(a, "startTime");
  s.finish_time = Str(a, "finishTime");
  s.message = Str(a, "message");
  return s;
}

RetryLogEntry DecodeRetryLogEntry(const json& e) {
  RetryLogEntry r;
  r.shard = Int(e, "shard").value_or(0);
  r.attempt = Int(e, "attempt").value_or(0);
  r.memory = Bytes(e, "memory").value_or(0);
  r.parallel = Int(e, "parallel");
  r.p = Int(e, "p");
  r.gomemlimit = Bytes(e, "gomemlimit");
  r.peak = Bytes(e, "peak");
  r.build_peak = Bytes(e, "buildPeak");
  r.result = Str(e, "result");
  r.phase = Str(e, "phase");
  r.cause = Str(e, "cause");
  r.counted = Bool(e, "counted");
  r.verdict = Str(e, "verdict");
  return r;
}

}  // namespace

const Condition* RunStatus::FindCondition(const std::string& type) const {
  for (const Condition& c : conditions) {
    if (c.type == type) return &c;
  }
  return nullptr;
}

RunStatus DecodeStatus(const json& j) {
  RunStatus s;
  if (!j.is_object()) return s;
  s.phase = Str(j, "phase");
  s.observed_generation = Int64(j, "observedGeneration");
  s.conditions = Objects<Condition>(j, "conditions", DecodeCondition);
  s.start_time = Str(j, "startTime");
  s.completion_time = Str(j, "completionTime");
  s.shard_count = Int(j, "shardCount");
  s.attempt_count = Int(j, "attemptCount");
  s.oom_kills = Int(j, "oomKills");
  s.packages = Objects<PackageStatus>(j, "packages", [](const json& p) {
    return PackageStatus{Str(p, "package"),  Str(p, "outcome"),     Int(p, "shard"),
                         Int(p, "attempts"), Bytes(p, "peakBytes"), Bytes(p, "buildPeakBytes")};
  });
  if (const json& shards = Field(j, "shards"); shards.is_array()) {
    for (const json& sh : shards) {
      if (!sh.is_object()) continue;
      ShardStatus shard;
      shard.index = Int(sh, "index").value_or(static_cast<int>(s.shards.size()));
      shard.packages = Strings(sh, "packages");
      if (const json& attempts = Field(sh, "attempts"); attempts.is_array()) {
        for (const json& a : attempts) {
          if (a.is_object()) shard.attempts.push_back(DecodeAttempt(a, static_cast<int>(shard.attempts.size())));
        }
      }
      s.shards.push_back(std::move(shard));
    }
  }
  s.diagnosis = Objects<DiagnosisEntry>(j, "diagnosis", [](const json& d) {
    return DiagnosisEntry{Str(d, "package"),      Str(d, "phase"),  Str(d, "cause"),   Str(d, "summary"),
                          Strings(d, "evidence"), Str(d, "action"), Str(d, "attempt"), Str(d, "verdict")};
  });
  s.warnings = Objects<RiskWarning>(j, "warnings", [](const json& w) {
    return RiskWarning{Str(w, "package"), Str(w, "kind"), Str(w, "message"), Str(w, "attempt")};
  });
  if (const json& log = Field(j, "retryLog"); log.is_object()) {
    for (const auto& [pkg, list] : log.items()) {
      if (!list.is_array()) continue;
      std::vector<RetryLogEntry>& entries = s.retry_log[pkg];
      for (const json& e : list) {
        if (e.is_object()) entries.push_back(DecodeRetryLogEntry(e));
      }
    }
  }
  s.message = Str(j, "message");
  return s;
}

json EncodeStatus(const RunStatus& s) {
  json j = json::object();
  Put(j, "phase", s.phase);
  Put(j, "observedGeneration", s.observed_generation);
  if (!s.conditions.empty()) {
    json conditions = json::array();
    for (const Condition& c : s.conditions) {
      json e = {{"type", c.type},
                {"status", c.status},
                {"reason", c.reason},
                {"message", c.message},
                {"lastTransitionTime", c.last_transition_time}};
      Put(e, "observedGeneration", c.observed_generation);
      conditions.push_back(std::move(e));
    }
    j["conditions"] = std::move(conditions);
  }
  Put(j, "startTime", s.start_time);
  Put(j, "completionTime", s.completion_time);
  Put(j, "shardCount", s.shard_count);
  Put(j, "attemptCount", s.attempt_count);
  Put(j, "oomKills", s.oom_kills);
  if (!s.packages.empty()) {
    json packages = json::array();
    for (const PackageStatus& p : s.packages) {
      json e = {{"package", p.package}};
      Put(e, "outcome", p.outcome);
      Put(e, "shard", p.shard);
      Put(e, "attempts", p.attempts);
      Put(e, "peakBytes", p.peak_bytes);
      Put(e, "buildPeakBytes", p.build_peak_bytes);
      packages.push_back(std::move(e));
    }
    j["packages"] = std::move(packages);
  }
  if (!s.shards.empty()) {
    json shards = json::array();
    for (const ShardStatus& sh : s.shards) {
      json attempts = json::array();
      for (const AttemptStatus& a : sh.attempts) {
        json e = {{"attempt", a.attempt}};
        Put(e, "pod", a.pod);
        Put(e, "memory", a.memory);
        Put(e, "parallel", a.parallel);
        Put(e, "p", a.p);
        Put(e, "gomemlimit", a.gomemlimit);
        Put(e, "outcome", a.outcome);
        Put(e, "phase", a.phase);
        Put(e, "peakBytes", a.peak_bytes);
        Put(e, "buildPeakBytes", a.build_peak_bytes);
        Put(e, "killedPackage", a.killed_package);
        Put(e, "runningTest", a.running_test);
        Put(e, "startTime", a.start_time);
        Put(e, "finishTime", a.finish_time);
        Put(e, "message", a.message);
        attempts.push_back(std::move(e));
      }
      shards.push_back({{"index", sh.index}, {"packages", sh.packages}, {"attempts", std::move(attempts)}});
    }
    j["shards"] = std::move(shards);
  }
  if (!s.diagnosis.empty()) {
    json diagnosis = json::array();
    for (const DiagnosisEntry& d : s.diagnosis) {
      json e = {{"package", d.package}, {"cause", d.cause}};
      Put(e, "phase", d.phase);
      Put(e, "summary", d.summary);
      if (!d.evidence.empty()) e["evidence"] = d.evidence;
      Put(e, "action", d.action);
      Put(e, "attempt", d.attempt);
      Put(e, "verdict", d.verdict);
      diagnosis.push_back(std::move(e));
    }
    j["diagnosis"] = std::move(diagnosis);
  }
  if (!s.warnings.empty()) {
    json warnings = json::array();
    for (const RiskWarning& w : s.warnings) {
      json e = {{"package", w.package}, {"kind", w.kind}};
      Put(e, "message", w.message);
      Put(e, "attempt", w.attempt);
      warnings.push_back(std::move(e));
    }
    j["warnings"] = std::move(warnings);
  }
  if (!s.retry_log.empty()) {
    json log = json::object();
    for (const auto& [pkg, entries] : s.retry_log) {
      json list = json::array();
      for (const RetryLogEntry& r : entries) {
        json e = {{"shard", r.shard}, {"attempt", r.attempt}, {"memory", r.memory},  {"result", r.result},
                  {"phase", r.phase}, {"cause", r.cause},     {"counted", r.counted}};
        Put(e, "parallel", r.parallel);
        Put(e, "p", r.p);
        Put(e, "gomemlimit", r.gomemlimit);
        Put(e, "peak", r.peak);
        Put(e, "buildPeak", r.build_peak);
        Put(e, "verdict", r.verdict);
        list.push_back(std::move(e));
      }
      log[pkg] = std::move(list);
    }
    j["retryLog"] = std::move(log);
  }
  Put(j, "message", s.message);
  return j;
}

void SetCondition(RunStatus& status, const std::string& type, const std::string& value, const std::string& reason,
                  const std::string& message, std::int64_t generation, const std::string& now) {
  for (Condition& c : status.conditions) {
    if (c.type != type) continue;
    if (c.status != value) c.last_transition_time = now;
    c.status = value;
    c.reason = reason;
    c.message = message;
    c.observed_generation = generation;
    return;
  }
  status.conditions.push_back({type, value, reason, message, now, generation});
}

}  // namespace gotestrun::api
