#include "core/engine/describe.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <vector>

#include "base/timestamps.h"
#include "core/evidence/memory_stall.h"
#include "core/policy/quantity.h"

namespace gotestrun::engine {
namespace {

using nlohmann::json;

const json& At(const json& j, const char* key) {
  static const json kNull;
  return j.is_object() && j.contains(key) ? j[key] : kNull;
}

std::string Str(const json& j, const char* key) {
  const json& v = At(j, key);
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<long long>());
  return {};
}

std::optional<long long> Int(const json& j, const char* key) {
  const json& v = At(j, key);
  if (v.is_number_integer()) return v.get<long long>();
  return std::nullopt;
}

std::string Bytes(const json& j, const char* key) {
  const json& v = At(j, key);
  if (v.is_number_unsigned()) return policy::FormatMemoryApprox(v.get<std::uint64_t>());
  if (v.is_number_integer() && v.get<long long>() >= 0) return policy::FormatMemoryApprox(static_cast<std::uint64_t>(v.get<long long>()));
  return {};
}

std::vector<const json*> Items(const json& j, const char* key) {
  std::vector<const json*> out;
  const json& v = At(j, key);
  if (!v.is_array()) return out;
  for (const json& e : v) {
    if (e.is_object()) out.push_back(&e);
  }
  return out;
}

std::vector<std::string> Strings(const json& j, const char* key) {
  std::vector<std::string> out;
  const json& v = At(j, key);
  if (!v.is_array()) return out;
  for (const json& e : v) {
    if (e.is_string()) out.push_back(e.get<std::string>());
  }
  return out;
}

std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (const std::string& p : parts) {
    if (p.empty()) continue;
    if (!out.empty()) out += sep;
    out += p;
  }
  return out;
}

std::string Pad(std::string s, size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

// "1m05s" between two RFC 3339 times; empty when either is missing.
std::string Duration(const std::string& from, const std::string& to) {
  auto a = ParseRfc3339(from), b = ParseRfc3339(to);
  if (!a || !b || *b < *a) return {};
  long long s = std::chrono::duration_cast<std::chrono::seconds>(*b - *a).count();
  if (s < 60) return std::to_string(s) + "s";
  std::string sec = std::to_string(s % 60);
  if (sec.size() < 2) sec = "0" + sec;
  if (s < 3600) return std::to_string(s / 60) + "m" + sec + "s";
  std::string min = std::to_string(s / 60 % 60);
  if (min.size() < 2) min = "0" + min;
  return std::to_string(s / 3600) + "h" + min + "m";
}

// "-parallel 2 -p 1 GOMEMLIMIT=460MiB": the knobs an attempt ran with beyond its limit.
std::string Knobs(const json& attempt) {
  std::vector<std::string> k;
  if (auto n = Int(attempt, "parallel")) k.push_back("-parallel " + std::to_string(*n));
  if (auto n = Int(attempt, "p")) k.push_back("-p " + std::to_string(*n));
  if (std::string g = Str(attempt, "gomemlimit"); !g.empty()) k.push_back("GOMEMLIMIT=" + g);
  return Join(k, " ");
}

// "gotestrun.dev/fixtures/memory/leak (test-run, TestLedger)".
std::string Killed(const json& attempt) {
  std::string pkg = Str(attempt, "killedPackage");
  std::string where = Join({Str(attempt, "phase"), Str(attempt, "runningTest")}, ", ");
  if (pkg.empty()) return where.empty() ? std::string() : "(" + where + ")";
  return where.empty() ? pkg : pkg + " (" + where + ")";
}

// "s0/a1", as the attempt's evidence folder is named.
std::string AttemptFolder(const json& shard, const json& attempt) {
  return "s" + Str(shard, "index") + "/a" + Str(attempt, "attempt");
}

// Packages of the run and how they stand: the verdicts in status.packages, then the
// packages of shards still running or pending.
struct PackageRow {
  std::string package, outcome, peak, attempts, shard;
};

std::vector<PackageRow> PackageRows(const json& status) {
  std::vector<PackageRow> rows;
  std::set<std::string> seen;
  for (const json* p : Items(status, "packages")) {
    PackageRow r{Str(*p, "package"), Str(*p, "outcome"), Bytes(*p, "peakBytes"), Str(*p, "attempts"), Str(*p, "shard")};
    if (r.package.empty() || !seen.insert(r.package).second) continue;
    rows.push_back(std::move(r));
  }
  // Packages without a verdict stand where their latest attempt does: a package moved
  // on to a new shard is listed by its old shard too, so a running or pending attempt
  // wins over a finished one (which, in a run that has ended, was stopped).
  auto rank = [](const std::string& outcome) { return outcome == "Running" ? 2 : outcome == "Pending" ? 1 : 0; };
  std::map<std::string, PackageRow> open;
  for (const json* s : Items(status, "shards")) {
    std::vector<const json*> attempts = Items(*s, "attempts");
    std::string outcome = attempts.empty() ? "Pending" : Str(*attempts.back(), "outcome");
    if (outcome.empty()) outcome = "Pending";
    for (const std::string& pkg : Strings(*s, "packages")) {
      if (seen.contains(pkg)) continue;
      auto it = open.find(pkg);
      if (it == open.end() || rank(outcome) >= rank(it->second.outcome)) open[pkg] = {pkg, outcome, "", "", Str(*s, "index")};
    }
  }
  for (auto& [pkg, row] : open) rows.push_back(std::move(row));
  std::sort(rows.begin(), rows.end(), [](const PackageRow& a, const PackageRow& b) { return a.package < b.package; });
  return rows;
}

void AppendPackageTable(std::string& out, const std::vector<PackageRow>& rows, std::string_view indent) {
  size_t w = 7;
  for (const PackageRow& r : rows) w = std::max(w, r.package.size());
  out += std::string(indent) + Pad("PACKAGE", w) + "  " + Pad("OUTCOME", 11) + "  " + Pad("PEAK", 9) + "  ATTEMPTS\n";
  for (const PackageRow& r : rows) {
    out += std::string(indent) + Pad(r.package, w) + "  " + Pad(r.outcome.empty() ? "-" : r.outcome, 11) + "  " +
           Pad(r.peak.empty() ? "-" : r.peak, 9) + "  " + (r.attempts.empty() ? "-" : r.attempts) + "\n";
  }
}

// "pkg: LeakAcrossTests (test-run), seen in run-s0-a1", then its summary, evidence,
// and what was done about it.
void AppendDiagnosis(std::string& out, const json& d, std::string_view indent) {
  std::string head = Str(d, "package") + ": " + (Str(d, "cause").empty() ? "Unknown" : Str(d, "cause"));
  if (std::string phase = Str(d, "phase"); !phase.empty()) head += " (" + phase + ")";
  if (std::string attempt = Str(d, "attempt"); !attempt.empty()) head += ", seen in " + attempt;
  out += std::string(indent) + head + "\n";
  std::string more(indent);
  more += "    ";
  if (std::string s = Str(d, "summary"); !s.empty()) out += more + s + "\n";
  for (const std::string& e : Strings(d, "evidence")) out += more + "evidence: " + e + "\n";
  std::string action = Str(d, "action");
  if (!action.empty()) out += more + "action: " + action + "\n";
  // The verdict's words are in the action when there is one.
  if (std::string v = Str(d, "verdict"); !v.empty() && action.find(v) == std::string::npos) out += more + "verdict: " + v + "\n";
}

const json* DiagnosisOf(const json& status, const std::string& package) {
  const json* found = nullptr;
  for (const json* d : Items(status, "diagnosis")) {
    if (Str(*d, "package") == package) found = d;
  }
  return found;
}

}  // namespace

std::string DescribeRun(const json& run) {
  const json& meta = At(run, "metadata");
  const json& spec = At(run, "spec");
  const json& status = At(run, "status");
  std::string out;
  auto field = [&](std::string_view name, const std::string& value) {
    if (value.empty()) return;
    out += Pad(std::string(name) + ":", 12) + value + "\n";
  };
  field("Name", Str(meta, "name"));
  field("Namespace", Str(meta, "namespace"));
  field("Module", Str(At(meta, "annotations"), kModuleDirAnnotation));
  field("Packages", Join(Strings(spec, "packages"), " "));
  const json& res = At(spec, "resources");
  if (!Str(res, "memory").empty()) {
    field("Memory", Str(res, "memory") + " to start, at most " + (Str(res, "maxMemory").empty() ? "?" : Str(res, "maxMemory")));
  }
  field("Phase", Str(status, "phase").empty() ? "Pending" : Str(status, "phase"));
  field("Message", Str(status, "message"));
  std::string started = Str(status, "startTime"), ended = Str(status, "completionTime");
  if (!started.empty()) {
    std::string took = Duration(started, ended);
    field("Started", started + (ended.empty() ? "" : ", ended " + ended + (took.empty() ? "" : " (" + took + ")")));
  }
  if (Int(status, "attemptCount")) {
    field("Attempts", Str(status, "attemptCount") + " in " + Str(status, "shardCount") + " shards, " +
                          (Str(status, "oomKills").empty() ? "0" : Str(status, "oomKills")) + " OOM-killed");
  }

  std::vector<const json*> shards = Items(status, "shards");
  if (!shards.empty()) {
    out += "\nShards:\n";
    for (const json* s : shards) {
      std::vector<std::string> pkgs = Strings(*s, "packages");
      out += "  s" + Str(*s, "index") + "  " + std::to_string(pkgs.size()) + (pkgs.size() == 1 ? " package" : " packages");
      if (pkgs.size() <= 3) out += ": " + Join(pkgs, " ");
      out += "\n";
      for (const json* a : Items(*s, "attempts")) {
        std::vector<std::string> cols = {"a" + Str(*a, "attempt"), Str(*a, "memory"), Knobs(*a),
                                         Str(*a, "outcome").empty() ? "Pending" : Str(*a, "outcome")};
        if (std::string peak = Bytes(*a, "peakBytes"); !peak.empty()) cols.push_back("peak " + peak);
        if (std::string took = Duration(Str(*a, "startTime"), Str(*a, "finishTime")); !took.empty()) cols.push_back(took);
        out += "    " + Join(cols, "  ") + "\n";
        if ((Str(*a, "outcome") == "OOMKilled" || Str(*a, "outcome") == agent::kMemoryStallOutcome) &&
            !Str(*a, "killedPackage").empty()) {
          out += "        killed: " + Killed(*a) + "\n";
        }
        if (std::string m = Str(*a, "message"); !m.empty()) out += "        " + m + "\n";
      }
    }
  }

  std::vector<PackageRow> rows = PackageRows(status);
  if (!rows.empty()) {
    out += "\nPackages:\n";
    AppendPackageTable(out, rows, "  ");
  }

  std::vector<const json*> diagnosis = Items(status, "diagnosis");
  if (!diagnosis.empty()) {
    out += "\nDiagnosis:\n";
    for (const json* d : diagnosis) AppendDiagnosis(out, *d, "  ");
  }

  std::vector<const json*> conditions = Items(status, "conditions");
  if (!conditions.empty()) {
    out += "\nConditions:\n";
    for (const json* c : conditions) {
      out += "  " + Join({Str(*c, "type") + "=" + Str(*c, "status"), Str(*c, "reason"), Str(*c, "lastTransitionTime")}, "  ") +
             "\n";
    }
  }
  return out;
}

std::string SummarizeRun(const json& run) {
  const json& status = At(run, "status");
  std::string out;
  std::vector<PackageRow> rows = PackageRows(status);
  if (!rows.empty()) AppendPackageTable(out, rows, "");

  // Each OOM kill, in the order the attempts ran, with the diagnosis of its package.
  std::set<std::string> diagnosed;
  std::string kill_text;
  for (const json* s : Items(status, "shards")) {
    for (const json* a : Items(*s, "attempts")) {
      if (Str(*a, "outcome") != "OOMKilled" && Str(*a, "outcome") != agent::kMemoryStallOutcome) continue;
      std::string what = Killed(*a);
      const bool stalled = Str(*a, "outcome") == agent::kMemoryStallOutcome;
      kill_text += "  " + AttemptFolder(*s, *a) + " at " + Str(*a, "memory") + ": " +
                   (stalled ? "stalled at the limit, ended: " : "") + (what.empty() || what.front() == '(' ? Str(*a, "message") : what) + "\n";
      std::string pkg = Str(*a, "killedPackage");
      if (const json* d = pkg.empty() ? nullptr : DiagnosisOf(status, pkg); d != nullptr && diagnosed.insert(pkg).second) {
        AppendDiagnosis(kill_text, *d, "      ");
      }
    }
  }
  if (!kill_text.empty()) out += "\nOOM kills:\n" + kill_text;
  // Diagnoses of packages no attempt named as killed (a kill split across a shard).
  std::string rest;
  for (const json* d : Items(status, "diagnosis")) {
    if (!diagnosed.contains(Str(*d, "package"))) AppendDiagnosis(rest, *d, "  ");
  }
  if (!rest.empty()) out += "\nDiagnosis:\n" + rest;
  std::string phase = Str(status, "phase");
  if (!phase.empty()) out += "\n" + phase + (Str(status, "message").empty() ? "" : ": " + Str(status, "message")) + "\n";
  return out;
}

}  // namespace gotestrun::engine
