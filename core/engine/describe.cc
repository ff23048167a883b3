#include "core/engine/describe.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <vector>

#include "base/terminal_text.h"
#include "base/timestamps.h"
#include "core/api/status.h"
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

std::string Bytes(const std::optional<std::uint64_t>& b) { return b ? policy::FormatMemoryApprox(*b) : std::string(); }

std::string Number(const std::optional<int>& n) { return n ? std::to_string(*n) : std::string(); }

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
std::string Knobs(const api::AttemptStatus& attempt) {
  std::vector<std::string> k;
  if (attempt.parallel) k.push_back("-parallel " + std::to_string(*attempt.parallel));
  if (attempt.p) k.push_back("-p " + std::to_string(*attempt.p));
  if (!attempt.gomemlimit.empty()) k.push_back("GOMEMLIMIT=" + attempt.gomemlimit);
  return Join(k, " ");
}

// "gotestrun.dev/fixtures/memory/leak (test-run, TestLedger)".
std::string Killed(const api::AttemptStatus& attempt) {
  const std::string& pkg = attempt.killed_package;
  std::string where = Join({attempt.phase, attempt.running_test}, ", ");
  if (pkg.empty()) return where.empty() ? std::string() : "(" + where + ")";
  return where.empty() ? pkg : pkg + " (" + where + ")";
}

// "s0/a1", as the attempt's evidence folder is named.
std::string AttemptFolder(const api::ShardStatus& shard, const api::AttemptStatus& attempt) {
  return "s" + std::to_string(shard.index) + "/a" + std::to_string(attempt.attempt);
}

std::string OutcomeOf(const api::AttemptStatus& attempt) {
  return attempt.outcome.empty() ? "Pending" : attempt.outcome;
}

// Packages of the run and how they stand: the verdicts in status.packages, then the
// packages of shards still running or pending.
struct PackageRow {
  std::string package, outcome, peak, attempts, shard;
};

std::vector<PackageRow> PackageRows(const api::RunStatus& status) {
  std::vector<PackageRow> rows;
  std::set<std::string> seen;
  for (const api::PackageStatus& p : status.packages) {
    PackageRow r{p.package, p.outcome, Bytes(p.peak_bytes), Number(p.attempts), Number(p.shard)};
    if (r.package.empty() || !seen.insert(r.package).second) continue;
    rows.push_back(std::move(r));
  }
  // Packages without a verdict stand where their latest attempt does: a package moved
  // on to a new shard is listed by its old shard too, so a running or pending attempt
  // wins over a finished one (which, in a run that has ended, was stopped).
  auto rank = [](const std::string& outcome) { return outcome == "Running" ? 2 : outcome == "Pending" ? 1 : 0; };
  std::map<std::string, PackageRow> open;
  for (const api::ShardStatus& s : status.shards) {
    std::string outcome = s.attempts.empty() ? "Pending" : OutcomeOf(s.attempts.back());
    for (const std::string& pkg : s.packages) {
      if (seen.contains(pkg)) continue;
      auto it = open.find(pkg);
      if (it == open.end() || rank(outcome) >= rank(it->second.outcome)) {
        open[pkg] = {pkg, outcome, "", "", std::to_string(s.index)};
      }
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
void AppendDiagnosis(std::string& out, const api::DiagnosisEntry& d, std::string_view indent) {
  std::string head = d.package + ": " + (d.cause.empty() ? "Unknown" : d.cause);
  if (!d.phase.empty()) head += " (" + d.phase + ")";
  if (!d.attempt.empty()) head += ", seen in " + d.attempt;
  out += std::string(indent) + head + "\n";
  std::string more(indent);
  more += "    ";
  if (!d.summary.empty()) out += more + d.summary + "\n";
  for (const std::string& e : d.evidence) out += more + "evidence: " + e + "\n";
  if (!d.action.empty()) out += more + "action: " + d.action + "\n";
  // The verdict's words are in the action when there is one.
  if (!d.verdict.empty() && d.action.find(d.verdict) == std::string::npos) out += more + "verdict: " + d.verdict + "\n";
}

const api::DiagnosisEntry* DiagnosisOf(const api::RunStatus& status, const std::string& package) {
  const api::DiagnosisEntry* found = nullptr;
  for (const api::DiagnosisEntry& d : status.diagnosis) {
    if (d.package == package) found = &d;
  }
  return found;
}

// Packages that passed but are at risk of an OOM kill next time.
void AppendWarnings(std::string& out, const api::RunStatus& status) {
  if (status.warnings.empty()) return;
  out += "\nAt risk (passed):\n";
  for (const api::RiskWarning& w : status.warnings) {
    out += "  " + w.package + "  " + w.kind + (w.message.empty() ? "" : ": " + w.message) + "\n";
  }
}

}  // namespace

std::string DescribeRun(const json& run) {
  const json& meta = At(run, "metadata");
  const json& spec = At(run, "spec");
  const api::RunStatus status = api::DecodeStatus(At(run, "status"));
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
    field("Memory",
          Str(res, "memory") + " to start, at most " + (Str(res, "maxMemory").empty() ? "?" : Str(res, "maxMemory")));
  }
  field("Phase", status.phase.empty() ? "Pending" : status.phase);
  field("Message", status.message);
  if (!status.start_time.empty()) {
    std::string took = Duration(status.start_time, status.completion_time);
    field("Started",
          status.start_time + (status.completion_time.empty()
                                   ? ""
                                   : ", ended " + status.completion_time + (took.empty() ? "" : " (" + took + ")")));
  }
  if (status.attempt_count) {
    field("Attempts", Number(status.attempt_count) + " in " + Number(status.shard_count) + " shards, " +
                          (status.oom_kills ? Number(status.oom_kills) : "0") + " OOM-killed");
  }

  if (!status.shards.empty()) {
    out += "\nShards:\n";
    for (const api::ShardStatus& s : status.shards) {
      const std::vector<std::string>& pkgs = s.packages;
      out += "  s" + std::to_string(s.index) + "  " + std::to_string(pkgs.size()) +
             (pkgs.size() == 1 ? " package" : " packages");
      if (pkgs.size() <= 3) out += ": " + Join(pkgs, " ");
      out += "\n";
      for (const api::AttemptStatus& a : s.attempts) {
        std::vector<std::string> cols = {"a" + std::to_string(a.attempt), a.memory, Knobs(a), OutcomeOf(a)};
        if (std::string peak = Bytes(a.peak_bytes); !peak.empty()) cols.push_back("peak " + peak);
        if (std::string took = Duration(a.start_time, a.finish_time); !took.empty()) cols.push_back(took);
        out += "    " + Join(cols, "  ") + "\n";
        if ((a.outcome == "OOMKilled" || a.outcome == evidence::kMemoryStallOutcome) && !a.killed_package.empty()) {
          out += "        killed: " + Killed(a) + "\n";
        }
        if (!a.message.empty()) out += "        " + a.message + "\n";
      }
    }
  }

  std::vector<PackageRow> rows = PackageRows(status);
  if (!rows.empty()) {
    out += "\nPackages:\n";
    AppendPackageTable(out, rows, "  ");
  }

  if (!status.diagnosis.empty()) {
    out += "\nDiagnosis:\n";
    for (const api::DiagnosisEntry& d : status.diagnosis) AppendDiagnosis(out, d, "  ");
  }

  AppendWarnings(out, status);

  if (!status.conditions.empty()) {
    out += "\nConditions:\n";
    for (const api::Condition& c : status.conditions) {
      out += "  " + Join({c.type + "=" + c.status, c.reason, c.last_transition_time}, "  ") + "\n";
    }
  }
  // Every word above may come from the status, which is outside input.
  return TerminalText(out);
}

std::string SummarizeRun(const json& run) {
  const api::RunStatus status = api::DecodeStatus(At(run, "status"));
  std::string out;
  std::vector<PackageRow> rows = PackageRows(status);
  if (!rows.empty()) AppendPackageTable(out, rows, "");

  // Each OOM kill, in the order the attempts ran, with the diagnosis of its package.
  std::set<std::string> diagnosed;
  std::string kill_text;
  for (const api::ShardStatus& s : status.shards) {
    for (const api::AttemptStatus& a : s.attempts) {
      if (a.outcome != "OOMKilled" && a.outcome != evidence::kMemoryStallOutcome) continue;
      std::string what = Killed(a);
      const bool stalled = a.outcome == evidence::kMemoryStallOutcome;
      kill_text += "  " + AttemptFolder(s, a) + " at " + a.memory + ": " +
                   (stalled ? "stalled at the limit, ended: " : "") +
                   (what.empty() || what.front() == '(' ? a.message : what) + "\n";
      const std::string& pkg = a.killed_package;
      if (const api::DiagnosisEntry* d = pkg.empty() ? nullptr : DiagnosisOf(status, pkg);
          d != nullptr && diagnosed.insert(pkg).second) {
        AppendDiagnosis(kill_text, *d, "      ");
      }
    }
  }
  if (!kill_text.empty()) out += "\nOOM kills:\n" + kill_text;
  // Diagnoses of packages no attempt named as killed (a kill split across a shard).
  std::string rest;
  for (const api::DiagnosisEntry& d : status.diagnosis) {
    if (!diagnosed.contains(d.package)) AppendDiagnosis(rest, d, "  ");
  }
  if (!rest.empty()) out += "\nDiagnosis:\n" + rest;
  AppendWarnings(out, status);
  if (!status.phase.empty()) out += "\n" + status.phase + (status.message.empty() ? "" : ": " + status.message) + "\n";
  return TerminalText(out);
}

}  // namespace gotestrun::engine
