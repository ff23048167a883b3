#include "report/junit.h"

#include <optional>
#include <string_view>
#include <vector>

#include "core/evidence/evidence.h"
#include "report/escape.h"
#include "report/final_results.h"
#include "report/format.h"

namespace gotestrun::report {
namespace {

// What a <testcase> says beyond passing.
struct Problem {
  enum Kind { kNone, kFailure, kError, kSkipped } kind = kNone;
  std::string type;
  std::string message;
  std::string text;
};

struct Case {
  std::string name;
  std::optional<double> seconds;
  Problem problem;
};

std::string Attr(std::string_view name, std::string_view value) {
  return " " + std::string(name) + "=\"" + XmlEscape(value, true) + "\"";
}

// The lines a test printed, without go test's own framing.
std::string SkipReason(const gotest::TestResult& t) {
  std::string reason;
  for (const std::string& line : t.output.lines()) {
    std::string_view l = line;
    while (!l.empty() && (l.front() == ' ' || l.front() == '\t')) l.remove_prefix(1);
    if (l.empty() || l.starts_with("=== ") || l.starts_with("--- ")) continue;
    if (!reason.empty()) reason += " ";
    reason += l;
    if (reason.size() > 300) break;
  }
  return reason.substr(0, 300);
}

std::string OomText(const FinalResult& r) {
  std::string text;
  if (const Diagnosis* d = r.diagnosis) {
    text += "cause: " + (d->cause.empty() ? std::string("Unknown") : d->cause);
    if (!d->phase.empty()) text += " (phase " + d->phase + ")";
    if (!d->action.empty()) text += ", " + d->action;
    text += "\n" + d->summary + "\n";
    for (const std::string& e : d->evidence) text += "- " + e + "\n";
    if (d->heap && !d->heap->sites.empty()) {
      text += "top in-use allocation sites (" + d->heap->profile + ", " + FormatBytes(d->heap->total_inuse_bytes) +
              " in use):\n";
      for (const AllocationSite& s : d->heap->sites) {
        text += "  " + FormatBytes(s.flat_bytes) + "  " + s.function;
        if (!s.filename.empty()) text += "  " + s.filename + ":" + std::to_string(s.line);
        text += "\n";
      }
    }
  } else if (r.attempt && !r.attempt->status.message.empty()) {
    text += r.attempt->status.message + "\n";
  }
  return text;
}

// The kill was the agent's, of a test binary stalled at its memory limit.
bool Stalled(const FinalResult& r) {
  if (r.attempt == nullptr) return false;
  if (r.attempt->in_status) return r.attempt->status.outcome == evidence::kMemoryStallOutcome;
  const std::optional<evidence::AttemptResult>& result = r.attempt->evidence.result;
  return result && result->memory_stall && result->memory_stall->package == r.package;
}

std::string KillType(const FinalResult& r) {
  return Stalled(r) ? std::string(evidence::kMemoryStallOutcome) : "OOMKilled";
}

std::string OomMessage(const FinalResult& r) {
  if (r.diagnosis && !r.diagnosis->summary.empty()) {
    return Stalled(r) ? "stalled at the limit: " + r.diagnosis->summary : r.diagnosis->summary;
  }
  std::string m = r.package + (Stalled(r) ? " stalled at the limit and was ended" : " was OOM-killed");
  if (r.attempt) {
    m += " in shard " + std::to_string(r.attempt->shard) + " attempt " + std::to_string(r.attempt->attempt);
    if (!r.attempt->status.memory.empty()) m += " at " + r.attempt->status.memory;
  }
  if (!r.running_test.empty()) m += " while " + r.running_test + " ran";
  return m;
}

std::vector<Case> CasesOf(const FinalResult& r, const LoadedRun& run) {
  std::vector<Case> cases;
  const bool oom = r.killed && !r.passed_once;
  if (r.events) {
    for (const gotest::TestResult& t : r.events->tests) {
      Case c{t.name, t.elapsed_seconds, {}};
      switch (t.outcome) {
        case gotest::TestOutcome::kPass:
        case gotest::TestOutcome::kBench: break;
        case gotest::TestOutcome::kFail:
          c.problem = {Problem::kFailure, "TestFailed", t.name + " failed", t.output.Text()};
          break;
        case gotest::TestOutcome::kSkip: c.problem = {Problem::kSkipped, "", SkipReason(t), ""}; break;
        case gotest::TestOutcome::kRunning:
        case gotest::TestOutcome::kPaused:
        case gotest::TestOutcome::kNoResult:
          if (oom) {
            c.problem = {Problem::kFailure, KillType(r), OomMessage(r), OomText(r) + "\n" + t.output.Text()};
          } else {
            c.problem = {Problem::kError, "NoResult", t.name + " has no result: the test binary ended while it ran",
                         t.output.Text()};
          }
          break;
      }
      cases.push_back(std::move(c));
    }
  }
  bool has_failure = false;
  bool has_oom = false;
  for (const Case& c : cases) {
    has_failure = has_failure || c.problem.kind == Problem::kFailure || c.problem.kind == Problem::kError;
    has_oom = has_oom || c.problem.type == KillType(r);
  }
  if (oom && !has_oom) {
    std::string output = r.events ? r.events->output.Text() : "";
    cases.push_back({Stalled(r) ? "[stalled at the limit]" : "[OOM killed]",
                     std::nullopt,
                     {Problem::kFailure, KillType(r), OomMessage(r), OomText(r) + output}});
    return cases;
  }
  const bool passed = r.outcome == "Succeeded" || (r.outcome.empty() && r.passed_once);
  if (!passed && !has_failure && r.outcome != "Pending" && r.outcome != "Running") {
    // The package did not pass, and no test says why: say it on the package.
    if (r.outcome == "BuildFailed" || (r.events && r.events->outcome == gotest::PackageOutcome::kBuildFailed)) {
      std::string text;
      if (r.attempt && r.events) {
        const gotest::BuildFailure* b = r.attempt->evidence.events.FindBuildFailure(r.events->failed_build);
        if (b) text = b->output.Text();
      }
      if (text.empty() && r.events) text = r.events->output.Text();
      cases.push_back(
          {"[build failed]", std::nullopt, {Problem::kFailure, "BuildFailed", r.package + " did not build", text}});
    } else {
      std::string type = r.outcome.empty() ? "Failed" : r.outcome;
      std::string message = r.package + ": " + type;
      if (r.events && !r.events->panic.empty()) message += ": " + r.events->panic;
      if (r.events && r.events->timed_out) message += ": the go test timeout fired";
      std::string text = r.events ? r.events->output.Text() : "";
      if (text.empty() && r.attempt) text = r.attempt->status.message;
      if (text.empty()) text = run.message;
      cases.push_back({"[" + type + "]", std::nullopt, {Problem::kFailure, type, message, text}});
    }
  }
  return cases;
}

std::optional<double> SuiteSeconds(const FinalResult& r) {
  if (r.events && r.events->elapsed_seconds) return r.events->elapsed_seconds;
  if (r.record && r.record->elapsed_seconds) return r.record->elapsed_seconds;
  if (r.exec && r.exec->end_unix_ms >= r.exec->start_unix_ms) {
    return static_cast<double>(r.exec->end_unix_ms - r.exec->start_unix_ms) / 1000.0;
  }
  return std::nullopt;
}

// The run as its status tells it: attempt folders the status does not list (left by an
// earlier run in the same folder, or written after the status's last word) are no part
// of the result a CI system reads, or a run that ended "all passed" could show failures.
LoadedRun OnlyListedAttempts(const LoadedRun& run) {
  LoadedRun listed = run;
  for (Shard& s : listed.shards) std::erase_if(s.attempts, [](const Attempt& a) { return !a.in_status; });
  std::erase_if(listed.shards, [](const Shard& s) { return s.attempts.empty() && s.packages.empty(); });
  return listed;
}

}  // namespace

std::string RenderJUnit(const LoadedRun& loaded) {
  // Without a status (a run folder whose status.yaml is lost) the evidence is all there is.
  const LoadedRun run = loaded.has_status ? OnlyListedAttempts(loaded) : loaded;
  std::vector<FinalResult> results = FinalResults(run);
  std::string body;
  int total = 0, failures = 0, errors = 0, skipped = 0;
  double total_seconds = 0;
  int id = 0;
  for (const FinalResult& r : results) {
    std::vector<Case> cases = CasesOf(r, run);
    int f = 0, e = 0, s = 0;
    for (const Case& c : cases) {
      f += c.problem.kind == Problem::kFailure;
      e += c.problem.kind == Problem::kError;
      s += c.problem.kind == Problem::kSkipped;
    }
    std::optional<double> seconds = SuiteSeconds(r);
    if (!seconds) {
      // A killed binary has no elapsed time of its own: its tests' add up to a lower bound.
      double sum = 0;
      for (const Case& c : cases) sum += c.seconds.value_or(0);
      seconds = sum;
    }
    total += static_cast<int>(cases.size());
    failures += f;
    errors += e;
    skipped += s;
    total_seconds += seconds.value_or(0);

    body += "  <testsuite" + Attr("name", r.package) + Attr("tests", std::to_string(cases.size())) +
            Attr("failures", std::to_string(f)) + Attr("errors", std::to_string(e)) +
            Attr("skipped", std::to_string(s)) + Attr("time", FormatSeconds(seconds.value_or(0)));
    std::optional<std::int64_t> started;
    if (r.exec) started = r.exec->start_unix_ms;
    if (!started && r.attempt) started = AttemptStartUnixMs(*r.attempt);
    if (started) body += Attr("timestamp", FormatUnixMs(*started, true));
    body += Attr("id", std::to_string(id++)) + Attr("package", r.package) + ">\n";

    body += "    <properties>\n";
    body += "      <property" + Attr("name", "gotestrun.outcome") + Attr("value", r.outcome) + "/>\n";
    if (r.attempt) {
      std::string where = evidence::AttemptName(r.attempt->shard, r.attempt->attempt);
      body += "      <property" + Attr("name", "gotestrun.attempt") + Attr("value", where) + "/>\n";
      if (!r.attempt->status.memory.empty()) {
        body += "      <property" + Attr("name", "gotestrun.memory") + Attr("value", r.attempt->status.memory) + "/>\n";
      }
    }
    if (r.diagnosis && !r.diagnosis->cause.empty()) {
      body += "      <property" + Attr("name", "gotestrun.cause") + Attr("value", r.diagnosis->cause) + "/>\n";
    }
    body += "    </properties>\n";

    for (const Case& c : cases) {
      body += "    <testcase" + Attr("classname", r.package) + Attr("name", c.name) +
              Attr("time", FormatSeconds(c.seconds.value_or(0)));
      switch (c.problem.kind) {
        case Problem::kNone: body += "/>\n"; continue;
        case Problem::kSkipped:
          body += ">\n      <skipped" +
                  (c.problem.message.empty() ? std::string() : Attr("message", c.problem.message)) + "/>\n";
          break;
        case Problem::kFailure:
        case Problem::kError: {
          const char* tag = c.problem.kind == Problem::kFailure ? "failure" : "error";
          body += ">\n      <" + std::string(tag) + Attr("message", c.problem.message) + Attr("type", c.problem.type) +
                  ">" + XmlEscape(c.problem.text) + "</" + tag + ">\n";
          break;
        }
      }
      body += "    </testcase>\n";
    }
    if (r.events && !r.events->output.lines().empty()) {
      body += "    <system-out>" + XmlEscape(r.events->output.Text()) + "</system-out>\n";
    }
    body += "  </testsuite>\n";
  }
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += "<testsuites" + Attr("name", run.name) + Attr("tests", std::to_string(total)) +
         Attr("failures", std::to_string(failures)) + Attr("errors", std::to_string(errors)) +
         Attr("skipped", std::to_string(skipped)) + Attr("time", FormatSeconds(total_seconds)) + ">\n";
  out += body;
  out += "</testsuites>\n";
  return out;
}

}  // namespace gotestrun::report
