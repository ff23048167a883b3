#include "report/html.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <vector>

#include "base/timestamps.h"
#include "report/escape.h"
#include "report/final_results.h"
#include "report/format.h"
#include "report/html_assets.h"
#include "core/policy/quantity.h"

namespace gotestrun::report {
namespace {

using nlohmann::json;

constexpr int kSigKill = 9;
// Charts get at most this many points per attempt: beyond it samples are merged
// into buckets, keeping each bucket's lowest and highest (a peak is never lost).
constexpr std::size_t kMaxChartPoints = 1600;

// ---- words and colours ----

// One colour per word of every vocabulary the report shows: status outcomes, go test
// package outcomes (core/evidence/evidence.h) and retry log results (policy/retry.h).
std::string_view ColorOf(std::string_view word) {
  static const std::map<std::string_view, std::string_view> kColors = {
      {"Succeeded", "#1f883d"},     {"pass", "#1f883d"},        {"passed", "#1f883d"},
      {"Passed", "#1f883d"},        {"TestsFailed", "#bc4c00"}, {"fail", "#bc4c00"},
      {"tests failed", "#bc4c00"},  {"BuildFailed", "#8250df"}, {"build-failed", "#8250df"},
      {"build failed", "#8250df"},  {"OOMKilled", "#cf222e"},   {"killed", "#cf222e"},
      {"build killed", "#cf222e"},  {"DoesNotFit", "#cf222e"},  {"MemoryStall", "#cf222e"},
      {"AttemptsSpent", "#cf222e"}, {"Running", "#0969da"},     {"running", "#0969da"},
      {"Planning", "#0969da"},      {"Pending", "#8c959f"},     {"skip", "#8c959f"},
  };
  auto it = kColors.find(word);
  return it == kColors.end() ? std::string_view("#57606a") : it->second;
}

std::string H(std::string_view s) { return HtmlEscape(s); }

std::string Badge(std::string_view word, bool big = false, std::string_view color = {}) {
  std::string shown = word.empty() ? "Unknown" : std::string(word);
  if (color.empty()) color = ColorOf(shown);
  return "<span class=\"badge" + std::string(big ? " big" : "") + "\" style=\"--c:" + std::string(color) + "\">" +
         H(shown) + "</span>";
}

// The run's phase: a failed run is red, whatever failed in it.
std::string_view PhaseColor(std::string_view phase) {
  return phase == "Failed" ? ColorOf("OOMKilled") : ColorOf(phase);
}

// The end of a source path, which says which file it is; the whole path is in the title.
std::string ShortPath(std::string_view path) {
  std::size_t cut = path.size();
  for (int parts = 0; parts < 2 && cut != std::string_view::npos && cut > 0; ++parts) cut = path.rfind('/', cut - 1);
  if (cut == std::string_view::npos || cut == 0) return std::string(path);
  return "\xE2\x80\xA6" + std::string(path.substr(cut));
}

std::string Dot(std::string_view word) {
  return "<span class=\"dot\" style=\"--c:" + std::string(ColorOf(word)) + "\"></span>" + H(word);
}

std::string_view CauseExplanation(std::string_view cause) {
  static const std::map<std::string_view, std::string_view> kText = {
      {"LeakAcrossTests",
       "The live heap grows test after test: memory a test allocates stays reachable after it ends (a package-level "
       "map, cache or slice that is never cleared), so the package needs more the more tests it runs."},
      {"ParallelSpike",
       "Many t.Parallel tests hold their working sets at the same time; the peak scales with -parallel, and a lower "
       "-parallel brings it down."},
      {"GoroutineLeak",
       "Goroutines started by the tests never exit and keep what they reference alive: the goroutine count and the "
       "heap grow together."},
      {"NativeMemory",
       "The memory is outside the Go heap (cgo, mmap): the process grows while the Go heap stays small, so neither "
       "the garbage collector nor GOMEMLIMIT can give it back."},
      {"GCHeadroom",
       "The live heap fits, but the garbage collector let the heap grow well past it before collecting (GOGC); a "
       "GOMEMLIMIT under the limit makes it collect sooner."},
      {"LargeTest", "One test needs this much memory by itself; nothing is carried over to the tests after it."},
      {"InitMemory", "The memory is taken by package init or TestMain, before the first test starts."},
      {"BuildMemory", "The compiler or the linker needed the memory, not the tests."},
  };
  auto it = kText.find(cause);
  return it == kText.end() ? std::string_view("The evidence did not point at one cause.") : it->second;
}

// ---- names ----

// The longest prefix ending in '/' that all packages share and none equals.
std::string ModulePrefix(const std::vector<std::string>& packages) {
  if (packages.empty()) return {};
  std::string prefix = packages.front();
  for (const std::string& p : packages) {
    std::size_t n = 0;
    while (n < prefix.size() && n < p.size() && prefix[n] == p[n]) ++n;
    prefix.resize(n);
  }
  std::size_t slash = prefix.rfind('/');
  if (slash == std::string::npos) return {};
  prefix.resize(slash + 1);
  return prefix;
}

std::string Pkg(std::string_view package, std::string_view prefix) {
  if (!prefix.empty() && package.size() > prefix.size() && package.starts_with(prefix)) {
    return "<span class=\"pkg\"><span class=\"dim\">" + H(prefix) + "</span>" + H(package.substr(prefix.size())) +
           "</span>";
  }
  return "<span class=\"pkg\">" + H(package) + "</span>";
}

// An RFC 3339 time from the status as people read it; as written when it does not parse.
std::string WhenText(const std::string& rfc3339) {
  auto t = ParseRfc3339(rfc3339);
  if (!t) return rfc3339;
  return FormatUnixMs(std::chrono::duration_cast<std::chrono::milliseconds>(t->time_since_epoch()).count());
}

std::string AttemptId(const Attempt& a) { return "s" + std::to_string(a.shard) + "a" + std::to_string(a.attempt); }
std::string AttemptName(const Attempt& a) {
  return "Shard " + std::to_string(a.shard) + " \xC2\xB7 attempt " + std::to_string(a.attempt);
}

// ---- what an attempt amounted to ----

std::string OutcomeOf(const Attempt& a) {
  if (!a.status.outcome.empty()) return a.status.outcome;
  const AttemptEvidence& ev = a.evidence;
  if (ContainerOomKilled(a)) return "OOMKilled";
  if (!ev.result) return "Unknown";
  if (ev.result->memory_stall) return std::string(evidence::kMemoryStallOutcome);
  bool failed = false, build = false, all = !ev.result->packages.empty();
  for (const evidence::PackageRecord& p : ev.result->packages) {
    using O = gotest::PackageOutcome;
    if (p.outcome == O::kKilled || (p.binary && p.binary->signal == kSigKill)) return "OOMKilled";
    failed = failed || p.outcome == O::kFail;
    build = build || p.outcome == O::kBuildFailed;
    all = all && (p.outcome == O::kPass || p.outcome == O::kSkip);
  }
  if (failed) return "TestsFailed";
  if (build) return "BuildFailed";
  return all ? "Succeeded" : "Failed";
}

std::optional<std::uint64_t> PeakOf(const Attempt& a) {
  if (a.status.peak_bytes) return a.status.peak_bytes;
  if (a.evidence.result && a.evidence.result->peak_bytes) return a.evidence.result->peak_bytes;
  std::optional<std::uint64_t> peak;
  for (const evidence::MemorySample& s : a.evidence.memory.samples) peak = std::max(peak.value_or(0), s.usage_bytes);
  return peak;
}

std::optional<std::uint64_t> LimitOf(const Attempt& a) {
  if (a.status.memory_bytes) return a.status.memory_bytes;
  if (a.evidence.result && a.evidence.result->limit_bytes) return a.evidence.result->limit_bytes;
  for (const evidence::MemorySample& s : a.evidence.memory.samples) {
    if (s.limit_bytes) return s.limit_bytes;
  }
  return std::nullopt;
}

std::optional<std::uint64_t> GoMemLimitOf(const Attempt& a) {
  std::string g = a.status.gomemlimit;
  if (!g.empty()) {
    if (g.back() == 'B') g.pop_back();  // Go's "345MiB" is a quantity with a B
    if (auto b = policy::ParseMemoryQuantity(g); b.ok()) return *b;
  }
  for (const evidence::ExecRecord& e : a.evidence.execs) {
    if (e.gomemlimit) return e.gomemlimit;
  }
  return std::nullopt;
}

// The package's outcome in this attempt, in go test's words.
std::string PackageWord(const Attempt& a, const std::string& package) {
  if (a.evidence.result) {
    for (const evidence::PackageRecord& r : a.evidence.result->packages) {
      if (r.package == package) {
        if (r.binary && r.binary->signal == kSigKill) return "killed";
        return std::string(evidence::PackageOutcomeJsonName(r.outcome));
      }
    }
  }
  if (KilledIn(a, package)) return "killed";
  if (const gotest::PackageResult* p = a.evidence.has_events ? a.evidence.events.FindPackage(package) : nullptr) {
    return std::string(gotest::PackageOutcomeName(p->outcome));
  }
  return "no-result";
}

struct Kill {
  std::int64_t unix_ms = 0;
  std::string package;
  std::string test;
};

// Where the chart marks the kill: the killed binary's end, or for a container kill
// the last sample before it.
std::optional<Kill> KillOf(const Attempt& a) {
  const AttemptEvidence& ev = a.evidence;
  const evidence::ExecRecord* killed = nullptr;
  for (const evidence::ExecRecord& e : ev.execs) {
    if (e.end.signal != kSigKill) continue;
    if (!killed || e.package == a.status.killed_package) killed = &e;
  }
  bool oom =
      a.status.outcome == "OOMKilled" || a.status.outcome == evidence::kMemoryStallOutcome ||
      (!a.in_status && (killed || ContainerOomKilled(a) || (ev.result && ev.result->oom_kills_seen.value_or(0) > 0)));
  if (!oom) return std::nullopt;
  Kill k;
  k.package = a.status.killed_package;
  k.test = a.status.running_test;
  if (killed && killed->end_unix_ms > 0) {
    k.unix_ms = killed->end_unix_ms;
    if (k.package.empty()) k.package = killed->package;
  } else if (!ev.memory.samples.empty()) {
    k.unix_ms = ev.memory.samples.back().unix_ms;
  } else if (auto end = AttemptEndUnixMs(a)) {
    k.unix_ms = *end;
  } else {
    return std::nullopt;
  }
  if (k.test.empty() && !k.package.empty()) {
    const gotest::PackageResult* p = ev.has_events ? ev.events.FindPackage(k.package) : nullptr;
    if (p && !p->running_at_end.empty()) k.test = p->running_at_end.back();
  }
  return k;
}

// ---- the data the charts are drawn from ----

json Samples(const std::vector<evidence::MemorySample>& samples, std::int64_t t0) {
  json out = json::array();
  auto point = [&](const evidence::MemorySample& s) { out.push_back(json::array({s.unix_ms - t0, s.usage_bytes})); };
  if (samples.size() <= kMaxChartPoints) {
    for (const evidence::MemorySample& s : samples) point(s);
    return out;
  }
  const std::size_t buckets = kMaxChartPoints / 2;
  for (std::size_t b = 0; b < buckets; ++b) {
    std::size_t begin = samples.size() * b / buckets, end = samples.size() * (b + 1) / buckets;
    if (begin >= end) continue;
    std::size_t lo = begin, hi = begin;
    for (std::size_t i = begin; i < end; ++i) {
      if (samples[i].usage_bytes < samples[lo].usage_bytes) lo = i;
      if (samples[i].usage_bytes > samples[hi].usage_bytes) hi = i;
    }
    point(samples[std::min(lo, hi)]);
    if (lo != hi) point(samples[std::max(lo, hi)]);
  }
  return out;
}

json AttemptData(const Attempt& a) {
  const AttemptEvidence& ev = a.evidence;
  std::optional<std::int64_t> start = AttemptStartUnixMs(a);
  std::int64_t t0 = !ev.memory.samples.empty() ? ev.memory.samples.front().unix_ms : start.value_or(0);
  if (!ev.execs.empty() && ev.execs.front().start_unix_ms > 0 && ev.execs.front().start_unix_ms < t0) {
    t0 = ev.execs.front().start_unix_ms;
  }
  json d = {{"id", AttemptId(a)}, {"shard", a.shard}, {"attempt", a.attempt}, {"outcome", OutcomeOf(a)}};
  d["samples"] = Samples(ev.memory.samples, t0);
  json limits = json::array();
  std::optional<std::uint64_t> last;
  for (const evidence::MemorySample& s : ev.memory.samples) {
    if (s.limit_bytes && s.limit_bytes != last) {
      limits.push_back(json::array({s.unix_ms - t0, *s.limit_bytes}));
      last = s.limit_bytes;
    }
  }
  if (limits.empty()) {
    if (auto limit = LimitOf(a)) limits.push_back(json::array({0, *limit}));
  }
  d["limits"] = std::move(limits);
  d["gomemlimit"] = GoMemLimitOf(a) ? json(*GoMemLimitOf(a)) : json(nullptr);
  std::optional<std::int64_t> end = AttemptEndUnixMs(a);
  d["duration"] = end && *end >= t0 ? json(*end - t0) : json(nullptr);
  if (auto kill = KillOf(a)) {
    std::uint64_t usage = 0;
    // The highest usage in the second before the kill: samples are ~200 ms apart.
    for (const evidence::MemorySample& s : ev.memory.samples) {
      if (s.unix_ms <= kill->unix_ms && s.unix_ms >= kill->unix_ms - 1000) usage = std::max(usage, s.usage_bytes);
    }
    if (usage == 0 && !ev.memory.samples.empty()) usage = ev.memory.samples.back().usage_bytes;
    d["kill"] = {{"t", std::max<std::int64_t>(0, kill->unix_ms - t0)},
                 {"usage", usage},
                 {"package", kill->package},
                 {"test", kill->test}};
  } else {
    d["kill"] = nullptr;
  }
  json binaries = json::array();
  for (const evidence::ExecRecord& e : ev.execs) {
    std::string word = e.end.signal == kSigKill ? "killed" : PackageWord(a, e.package);
    binaries.push_back({{"package", e.package},
                        {"start", e.start_unix_ms - t0},
                        {"end", e.end_unix_ms > 0 ? json(e.end_unix_ms - t0) : json(nullptr)},
                        {"outcome", word},
                        {"color", ColorOf(word)},
                        {"maxRss", e.end.max_rss_bytes}});
  }
  d["binaries"] = std::move(binaries);
  return d;
}

const Attempt* FindAttempt(const LoadedRun& run, int shard, int attempt) {
  for (const Shard& s : run.shards) {
    for (const Attempt& a : s.attempts) {
      if (a.shard == shard && a.attempt == attempt) return &a;
    }
  }
  return nullptr;
}

std::optional<std::uint64_t> ExecRss(const Attempt* a, const std::string& package) {
  if (!a) return std::nullopt;
  std::optional<std::uint64_t> rss;
  for (const evidence::ExecRecord& e : a->evidence.execs) {
    if (e.package == package && e.end.max_rss_bytes > 0) rss = std::max(rss.value_or(0), e.end.max_rss_bytes);
  }
  return rss;
}

json PeakData(const LoadedRun& run, const std::vector<FinalResult>& results) {
  json out = json::array();
  std::vector<const Attempt*> attempts = run.AttemptsInOrder();
  for (const FinalResult& r : results) {
    json runs = json::array();
    for (const RetryLogEntry& e : run.retry_log) {
      if (e.package != r.package) continue;
      const Attempt* a = FindAttempt(run, e.shard, e.attempt);
      std::optional<std::uint64_t> peak = e.peak_bytes ? e.peak_bytes : ExecRss(a, r.package);
      runs.push_back({{"id", "s" + std::to_string(e.shard) + "a" + std::to_string(e.attempt)},
                      {"shard", e.shard},
                      {"attempt", e.attempt},
                      {"limit", e.memory_bytes > 0 ? json(e.memory_bytes) : json(nullptr)},
                      {"peak", peak ? json(*peak) : json(nullptr)},
                      {"result", e.result},
                      {"color", ColorOf(e.result)}});
    }
    if (runs.empty()) {
      // No retry log: the attempts whose evidence has the package.
      for (const Attempt* a : attempts) {
        std::optional<std::uint64_t> peak = ExecRss(a, r.package);
        if (!peak) continue;
        std::string word = PackageWord(*a, r.package);
        std::optional<std::uint64_t> limit = LimitOf(*a);
        runs.push_back({{"id", AttemptId(*a)},
                        {"shard", a->shard},
                        {"attempt", a->attempt},
                        {"limit", limit ? json(*limit) : json(nullptr)},
                        {"peak", *peak},
                        {"result", word},
                        {"color", ColorOf(word)}});
      }
    }
    if (!runs.empty()) out.push_back({{"package", r.package}, {"runs", std::move(runs)}});
  }
  return out;
}

json TimelineData(const LoadedRun& run) {
  std::optional<std::int64_t> t0;
  for (const Shard& s : run.shards) {
    for (const Attempt& a : s.attempts) {
      if (auto start = AttemptStartUnixMs(a)) t0 = std::min(t0.value_or(*start), *start);
    }
  }
  json out = json::array();
  for (const Shard& s : run.shards) {
    json attempts = json::array();
    for (const Attempt& a : s.attempts) {
      std::optional<std::int64_t> start = AttemptStartUnixMs(a), end = AttemptEndUnixMs(a);
      std::string outcome = OutcomeOf(a);
      attempts.push_back({{"id", AttemptId(a)},
                          {"attempt", a.attempt},
                          {"start", start ? json(*start - *t0) : json(nullptr)},
                          {"end", start && end && *end >= *start ? json(*end - *t0) : json(nullptr)},
                          {"outcome", outcome},
                          {"color", ColorOf(outcome)},
                          {"memory", a.status.memory}});
    }
    out.push_back({{"shard", s.index}, {"attempts", std::move(attempts)}});
  }
  return out;
}

// ---- the page ----

class Page {
 public:
  explicit Page(const LoadedRun& run) : run_(run), results_(FinalResults(run)) {
    std::vector<std::string> names;
    for (const FinalResult& r : results_) names.push_back(r.package);
    prefix_ = ModulePrefix(names);
  }

  std::string Render() {
    Head();
    Header();
    out_ +=
        "<nav class=\"toc\"><div class=\"inner\"><a href=\"#diagnosis\">Diagnosis</a><a href=\"#attempts\">Attempts</a>"
        "<a href=\"#peaks\">Peaks</a><a href=\"#memory\">Memory over time</a><a href=\"#packages\">Packages</a>";
    if (!run_.warnings.empty()) out_ += "<a href=\"#warnings\">At risk</a>";
    if (!run_.retry_log.empty()) out_ += "<a href=\"#retry-log\">Retry log</a>";
    if (!run_.skipped.empty()) out_ += "<a href=\"#skipped\">Files left out</a>";
    out_ += "</div></nav>\n<main>\n";
    out_ +=
        "<noscript><div class=\"notice\">The charts of this report are drawn by a script inside the page; with "
        "JavaScript off only the tables and text are shown.</div></noscript>\n";
    Diagnoses();
    Warnings();
    Attempts();
    Peaks();
    MemoryCharts();
    Packages();
    RetryLog();
    Skipped();
    out_ += "<footer>Written by gotestrun from the run folder <span class=\"mono\">" + H(run_.dir) +
            "</span>. The page is self-contained: it loads nothing from the network.</footer>\n</main>\n";
    Data();
    out_ += "<script>" + std::string(kReportJs) + "</script>\n</body>\n</html>\n";
    return std::move(out_);
  }

 private:
  void Head() {
    std::string phase = run_.phase.empty() ? std::string() : " \xE2\x80\x94 " + run_.phase;
    out_ +=
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<meta name=\"generator\" content=\"gotestrun\">\n"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        "script-src 'unsafe-inline'; img-src data:\">\n";
    out_ += "<title>" + H(run_.name + phase) + " \xC2\xB7 gotestrun report</title>\n";
    out_ += "<style>" + std::string(kReportCss) + "</style>\n</head>\n<body>\n";
  }

  // Shard by shard, each shard's attempts in order: how retries read best.
  std::vector<const Attempt*> ByShard() const {
    std::vector<const Attempt*> out;
    for (const Shard& s : run_.shards) {
      for (const Attempt& a : s.attempts) out.push_back(&a);
    }
    return out;
  }

  void Stat(const std::string& value, const std::string& key, const std::string& sub = {}, bool alert = false) {
    out_ += "<div class=\"stat" + std::string(alert ? " alert" : "") + "\"><div class=\"v\">" + H(value) +
            "</div><div class=\"k\">" + H(key) + "</div>";
    if (!sub.empty()) out_ += "<div class=\"sub\">" + H(sub) + "</div>";
    out_ += "</div>";
  }

  void Fact(const std::string& key, const std::string& html_value) {
    out_ += "<div><dt>" + H(key) + "</dt><dd>" + html_value + "</dd></div>";
  }

  void Header() {
    int passed = 0, failed = 0, oom = 0, other = 0;
    for (const FinalResult& r : results_) {
      if (r.outcome == "Succeeded") {
        ++passed;
      } else if (r.outcome == "OOMKilled") {
        ++oom;
      } else if (r.outcome == "Pending" || r.outcome == "Running") {
        ++other;
      } else {
        ++failed;
      }
    }
    int attempts = 0, kills = 0;
    std::optional<std::uint64_t> peak;
    std::optional<std::int64_t> first, last;
    for (const Shard& s : run_.shards) {
      for (const Attempt& a : s.attempts) {
        ++attempts;
        kills += OutcomeOf(a) == "OOMKilled" || OutcomeOf(a) == evidence::kMemoryStallOutcome;
        if (auto p = PeakOf(a)) peak = std::max(peak.value_or(0), *p);
        if (auto t = AttemptStartUnixMs(a)) first = std::min(first.value_or(*t), *t);
        if (auto t = AttemptEndUnixMs(a)) last = std::max(last.value_or(*t), *t);
      }
    }
    if (run_.oom_kills) kills = *run_.oom_kills;

    out_ += "<header class=\"top\"><div class=\"inner\">\n<div class=\"kicker\">GoTestRun report";
    if (!run_.ns.empty()) out_ += " \xC2\xB7 " + H(run_.ns);
    out_ += "</div>\n<div class=\"title-row\"><h1>" + H(run_.name) + "</h1>" +
            Badge(run_.phase.empty() ? "Unknown" : run_.phase, true, PhaseColor(run_.phase)) + "</div>\n";
    if (!run_.message.empty()) {
      out_ += "<p class=\"message\" id=\"run-message\">" + H(run_.message) + "</p>\n";
    } else if (!run_.has_status) {
      out_ +=
          "<p class=\"message\" id=\"run-message\">No status.yaml: the report is built from the attempt folders "
          "alone.</p>\n";
    }
    out_ += "<div class=\"stats\">";
    std::string breakdown = std::to_string(passed) + " passed";
    if (failed) breakdown += " \xC2\xB7 " + std::to_string(failed) + " failed";
    if (oom) breakdown += " \xC2\xB7 " + std::to_string(oom) + " OOM-killed";
    if (other) breakdown += " \xC2\xB7 " + std::to_string(other) + " running";
    Stat(std::to_string(results_.size()), "packages", breakdown, failed + oom > 0);
    Stat(std::to_string(run_.shards.size()), "shards");
    Stat(std::to_string(attempts), "attempts",
         attempts > static_cast<int>(run_.shards.size())
             ? std::to_string(attempts - static_cast<int>(run_.shards.size())) + " retries"
             : "");
    Stat(std::to_string(kills), "OOM kills", "", kills > 0);
    Stat(peak ? FormatBytes(*peak) : "\xE2\x80\x94", "peak memory",
         run_.max_memory.empty() ? "" : "maxMemory " + run_.max_memory);
    std::optional<double> seconds;
    if (first && last && *last >= *first) seconds = static_cast<double>(*last - *first) / 1000.0;
    Stat(seconds ? FormatDuration(*seconds) : "\xE2\x80\x94", "attempt time",
         first ? "from " + FormatUnixMs(*first) : "");
    out_ += "</div>\n<dl class=\"facts\">";
    if (!run_.image.empty()) Fact("Image", "<span class=\"mono\">" + H(run_.image) + "</span>");
    if (!run_.patterns.empty()) {
      std::string p;
      for (const std::string& s : run_.patterns) p += (p.empty() ? "" : " ") + H(s);
      Fact("Packages", "<span class=\"mono\">" + p + "</span>");
    }
    if (!run_.memory.empty() || !run_.max_memory.empty()) {
      Fact("Memory", H(run_.memory.empty() ? "?" : run_.memory) + " \xE2\x86\x92 at most " +
                         H(run_.max_memory.empty() ? "?" : run_.max_memory));
    }
    if (!run_.start_time.empty()) Fact("Started", H(WhenText(run_.start_time)));
    if (!run_.completion_time.empty()) Fact("Completed", H(WhenText(run_.completion_time)));
    for (const Condition& c : run_.conditions) {
      Fact("Condition", H(c.type + "=" + c.status) + (c.reason.empty() ? "" : " (" + H(c.reason) + ")"));
    }
    out_ += "</dl>\n</div></header>\n";
  }

  // The packages that passed but are at risk, as the terminal summary and describe
  // list them: a pass near the limit or a growth pattern is a kill waiting to happen.
  void Warnings() {
    if (run_.warnings.empty()) return;
    out_ += "<section id=\"warnings\"><h2>At risk (passed)</h2>\n";
    out_ +=
        "<p class=\"lead\">Packages that passed but whose evidence says a later run may be OOM-killed: within "
        "10% of their limit, or memory or goroutines growing test after test.</p>\n";
    for (const Warning& w : run_.warnings) {
      out_ += "<article class=\"card warning\">\n<div class=\"card-head\"><h3>" + Pkg(w.package, prefix_) +
              "</h3></div>\n<div class=\"cause-row\"><span class=\"cause-name\">" + H(w.kind) + "</span>";
      if (!w.attempt.empty()) out_ += "<span class=\"chip\">" + H(w.attempt) + "</span>";
      out_ += "</div>\n<p class=\"summary\">" + H(w.message) + "</p>\n</article>\n";
    }
    out_ += "</section>\n";
  }

  void Diagnoses() {
    out_ += "<section id=\"diagnosis\"><h2>Why the memory ran out</h2>\n";
    if (run_.diagnoses.empty()) {
      int kills = 0;
      for (const Shard& s : run_.shards) {
        for (const Attempt& a : s.attempts)
          kills += OutcomeOf(a) == "OOMKilled" || OutcomeOf(a) == evidence::kMemoryStallOutcome;
      }
      out_ += "<div class=\"card ok\"><p>No package ended on a kill, so none needed a diagnosis.";
      if (kills > 0) {
        out_ += " " + std::to_string(kills) +
                " attempt(s) were OOM-killed on the way and retried with another plan; "
                "the attempts below show how.";
      }
      out_ += "</p></div>\n</section>\n";
      return;
    }
    out_ +=
        "<p class=\"lead\">Each package that ended on an OOM kill, with the cause the evidence points at and "
        "where its memory was when the last heap profile was written.</p>\n";
    int n = 0;
    for (const Diagnosis& d : run_.diagnoses) {
      out_ += "<article class=\"card diagnosis\" id=\"diagnosis-" + std::to_string(n++) + "\">\n";
      out_ += "<div class=\"card-head\"><h3>" + Pkg(d.package, prefix_) + "</h3>";
      for (const FinalResult& r : results_) {
        if (r.package == d.package) out_ += Badge(r.outcome);
      }
      out_ += "</div>\n<div class=\"cause-row\"><span class=\"cause-name\">" +
              H(d.cause.empty() ? "Unknown" : d.cause) + "</span>";
      if (!d.phase.empty()) out_ += "<span class=\"chip\">phase " + H(d.phase) + "</span>";
      if (!d.action.empty()) out_ += "<span class=\"chip\">" + H(d.action) + "</span>";
      out_ += "</div>\n<p class=\"cause-text\">" + H(CauseExplanation(d.cause)) + "</p>\n";
      if (!d.summary.empty()) out_ += "<p class=\"summary\">" + H(d.summary) + "</p>\n";
      if (!d.evidence.empty()) {
        out_ += "<h4>Evidence</h4><ul class=\"evidence\">";
        for (const std::string& e : d.evidence) out_ += "<li>" + H(e) + "</li>";
        out_ += "</ul>\n";
      }
      HeapSites(d);
      out_ += "</article>\n";
    }
    out_ += "</section>\n";
  }

  void HeapSites(const Diagnosis& d) {
    out_ += "<h4>Top in-use allocation sites</h4>\n";
    if (!d.heap) {
      out_ +=
          "<p class=\"meta\">No heap profile of this package could be read (profiling off, or the binary was "
          "killed before its first profile).</p>\n";
      return;
    }
    const HeapTop& h = *d.heap;
    out_ += "<p class=\"meta\">Heap profile #" + std::to_string(h.seq) + " (<span class=\"mono\">" + H(h.profile) +
            "</span>): " + FormatBytes(h.total_inuse_bytes) + " in use";
    if (h.snapshot) {
      out_ += "; heap_alloc " + FormatBytes(h.snapshot->heap_alloc) + ", heap_sys " +
              FormatBytes(h.snapshot->heap_sys) + ", next GC at " + FormatBytes(h.snapshot->next_gc) + ", " +
              std::to_string(h.snapshot->goroutines) + " goroutines";
    }
    out_ += ".</p>\n";
    if (h.sites.empty()) {
      out_ += "<p class=\"meta\">The profile holds no in-use memory.</p>\n";
      return;
    }
    out_ +=
        "<div class=\"table-wrap\"><table class=\"sites\"><thead><tr><th>Function</th><th class=\"num\">In use</th>"
        "<th class=\"num\">Share</th><th class=\"num\">With callees</th><th>Where</th></tr></thead><tbody>\n";
    for (const AllocationSite& s : h.sites) {
      double share = h.total_inuse_bytes > 0
                         ? 100.0 * static_cast<double>(s.flat_bytes) / static_cast<double>(h.total_inuse_bytes)
                         : 0;
      char pct[16];
      std::snprintf(pct, sizeof pct, "%.1f%%", share);
      char width[16];
      std::snprintf(width, sizeof width, "%.1f%%", std::clamp(share, 0.0, 100.0));
      out_ += "<tr><td class=\"fn\">" + H(s.function.empty() ? "(unknown)" : s.function) + "</td><td class=\"num\">" +
              FormatBytes(s.flat_bytes) +
              "</td><td class=\"num share\"><div class=\"bar\" style=\"width:" + std::string(width) +
              "\"></div><span>" + pct + "</span></td><td class=\"num\">" + FormatBytes(s.cum_bytes) +
              "</td><td class=\"where\"" +
              (s.filename.empty()
                   ? std::string(">")
                   : " title=\"" + H(s.filename) + "\">" + H(ShortPath(s.filename)) + ":" + std::to_string(s.line)) +
              "</td></tr>\n";
    }
    out_ += "</tbody></table></div>\n";
    if (h.function_count > h.sites.size()) {
      out_ += "<p class=\"meta\">" + std::to_string(h.function_count - h.sites.size()) +
              " more function(s) hold the rest.</p>\n";
    }
  }

  // A table column; its cells are HTML. A column with no cell filled is left out.
  struct Column {
    std::string header;
    std::string cell_class;  // "num" right-aligns
    std::vector<std::string> cells;
  };

  static void AddRow(std::vector<Column>& cols, std::vector<std::string> cells) {
    for (std::size_t i = 0; i < cols.size(); ++i) cols[i].cells.push_back(i < cells.size() ? std::move(cells[i]) : "");
  }

  void Table(const std::vector<Column>& cols) {
    std::vector<const Column*> shown;
    for (const Column& c : cols) {
      if (std::any_of(c.cells.begin(), c.cells.end(), [](const std::string& x) { return !x.empty(); }))
        shown.push_back(&c);
    }
    auto cls = [](const Column* c) {
      return c->cell_class.empty() ? std::string() : " class=\"" + c->cell_class + "\"";
    };
    out_ += "<div class=\"table-wrap\"><table><thead><tr>";
    for (const Column* c : shown)
      out_ += "<th" + std::string(c->cell_class == "num" ? " class=\"num\"" : "") + ">" + H(c->header) + "</th>";
    out_ += "</tr></thead><tbody>\n";
    std::size_t rows = cols.empty() ? 0 : cols.front().cells.size();
    for (std::size_t r = 0; r < rows; ++r) {
      out_ += "<tr>";
      for (const Column* c : shown) out_ += "<td" + cls(c) + ">" + c->cells[r] + "</td>";
      out_ += "</tr>\n";
    }
    out_ += "</tbody></table></div>\n";
  }

  void Legend(const std::set<std::string>& words) {
    out_ += "<div class=\"legend\">";
    for (const std::string& w : words) out_ += "<span>" + Dot(w) + "</span>";
    out_ += "</div>\n";
  }

  void Attempts() {
    out_ +=
        "<section id=\"attempts\"><h2>Attempts</h2>\n<p class=\"lead\">One row per shard; each bar is an attempt "
        "from its start to its end. Click one to see its memory.</p>\n";
    std::set<std::string> words;
    for (const Shard& s : run_.shards) {
      for (const Attempt& a : s.attempts) words.insert(OutcomeOf(a));
    }
    Legend(words);
    out_ +=
        "<figure class=\"chart\" data-chart=\"timeline\"><div class=\"placeholder\">Timeline of the attempts "
        "(drawn by the page's script).</div></figure>\n";
    std::vector<Column> cols = {{"Attempt", "nowrap"}, {"Outcome", "nowrap"}, {"Memory", "num"}, {"-parallel", "num"},
                                {"-p", "num"},         {"GOMEMLIMIT", "num"}, {"Peak", "num"},   {"Ran", "num"},
                                {"Killed", ""},        {"Message", "msg"}};
    for (const Attempt* a : ByShard()) {
      std::optional<std::int64_t> start = AttemptStartUnixMs(*a), end = AttemptEndUnixMs(*a);
      std::optional<std::uint64_t> peak = PeakOf(*a);
      std::string killed;
      if (!a->status.killed_package.empty()) {
        killed = Pkg(a->status.killed_package, prefix_);
        if (!a->status.running_test.empty()) killed += " <span class=\"mono\">" + H(a->status.running_test) + "</span>";
        if (!a->status.phase.empty()) killed += " <span class=\"chip\">" + H(a->status.phase) + "</span>";
      }
      AddRow(cols,
             {"<a href=\"#" + AttemptId(*a) + "\">s" + std::to_string(a->shard) + " \xC2\xB7 a" +
                  std::to_string(a->attempt) + "</a>",
              Badge(OutcomeOf(*a)), H(a->status.memory), a->status.parallel ? std::to_string(*a->status.parallel) : "",
              a->status.p ? std::to_string(*a->status.p) : "", H(a->status.gomemlimit), peak ? FormatBytes(*peak) : "",
              start && end && *end >= *start ? FormatDuration(static_cast<double>(*end - *start) / 1000.0) : "", killed,
              H(a->status.message)});
    }
    Table(cols);
    out_ += "</section>\n";
  }

  void Peaks() {
    out_ +=
        "<section id=\"peaks\"><h2>Peak memory per package</h2>\n<p class=\"lead\">What each package's test binary "
        "needed in each attempt that ran it, against that attempt's memory limit.</p>\n";
    std::set<std::string> words;
    for (const RetryLogEntry& e : run_.retry_log) words.insert(e.result);
    if (!words.empty()) Legend(words);
    out_ +=
        "<figure class=\"chart\" data-chart=\"peaks\"><div class=\"placeholder\">Peaks per package (drawn by the "
        "page's script).</div></figure>\n</section>\n";
  }

  void MemoryCharts() {
    out_ +=
        "<section id=\"memory\"><h2>Memory over time</h2>\n<p class=\"lead\">The container's memory (cgroup) as "
        "the agent sampled it, about every 200 ms, with the limit and the kill; below, the test binaries that ran "
        "and their largest resident size.</p>\n";
    for (const Attempt* a : ByShard()) AttemptCard(*a);
    out_ += "</section>\n";
  }

  void AttemptCard(const Attempt& a) {
    const AttemptEvidence& ev = a.evidence;
    out_ += "<article class=\"card attempt-card\" id=\"" + AttemptId(a) + "\">\n<div class=\"card-head\"><h3>" +
            H(AttemptName(a)) + "</h3>" + Badge(OutcomeOf(a)) + "<span class=\"chip mono\">" +
            H(ev.path.empty() ? AttemptId(a) : ev.path) + "</span></div>\n<div class=\"facts-row\">";
    auto fact = [&](const std::string& k, const std::string& v) {
      if (!v.empty()) out_ += "<span>" + H(k) + " <b>" + H(v) + "</b></span>";
    };
    std::optional<std::uint64_t> limit = LimitOf(a);
    fact("memory", !a.status.memory.empty() ? a.status.memory : limit ? FormatBytes(*limit) : "");
    fact("-parallel", a.status.parallel ? std::to_string(*a.status.parallel) : "");
    fact("-p", a.status.p ? std::to_string(*a.status.p) : "");
    fact("GOMEMLIMIT", a.status.gomemlimit);
    if (auto peak = PeakOf(a)) fact("peak", FormatBytes(*peak));
    std::optional<std::int64_t> start = AttemptStartUnixMs(a), end = AttemptEndUnixMs(a);
    if (start) fact("started", FormatUnixMs(*start));
    if (start && end && *end >= *start) fact("ran", FormatDuration(static_cast<double>(*end - *start) / 1000.0));
    fact("pod", a.status.pod);
    out_ += "</div>\n";
    if (auto kill = KillOf(a)) {
      out_ += "<p class=\"kill\">OOM kill";
      if (!kill->package.empty()) out_ += ": " + Pkg(kill->package, prefix_);
      if (!kill->test.empty()) out_ += " while <span class=\"mono\">" + H(kill->test) + "</span> ran";
      if (!a.status.phase.empty()) out_ += " (phase " + H(a.status.phase) + ")";
      out_ += "</p>\n";
    }
    if (!a.status.message.empty()) out_ += "<p class=\"note\">" + H(a.status.message) + "</p>\n";
    if (!ev.exists) {
      out_ += "<p class=\"note\">No evidence folder for this attempt.</p>\n";
    } else if (!ev.result) {
      out_ +=
          "<p class=\"note\">No result.json: the agent did not finish, so its container was most likely killed "
          "with it.</p>\n";
    }
    if (ev.exists) {
      out_ +=
          "<div class=\"legend\"><span><span class=\"swatch-area\"></span>memory in use</span><span><span "
          "class=\"swatch-line\"></span>limit</span><span><span class=\"swatch-oom\"></span>OOM kill</span></div>\n";
      out_ += "<figure class=\"chart\" data-chart=\"memory\" data-attempt=\"" + AttemptId(a) +
              "\"><div class=\"placeholder\">Memory over time (drawn by the page's script).</div></figure>\n";
      PackagesOfAttempt(a);
    }
    out_ += "</article>\n";
  }

  void PackagesOfAttempt(const Attempt& a) {
    const AttemptEvidence& ev = a.evidence;
    std::vector<std::string> packages;
    std::set<std::string> seen;
    auto add = [&](const std::string& p) {
      if (seen.insert(p).second) packages.push_back(p);
    };
    for (const evidence::ExecRecord& e : ev.execs) add(e.package);
    if (ev.result) {
      for (const evidence::PackageRecord& r : ev.result->packages) add(r.package);
    }
    for (const gotest::PackageResult& p : ev.events.packages) add(p.name);
    if (packages.empty()) return;
    out_ += "<details" + std::string(packages.size() <= 8 ? " open" : "") + "><summary>Packages in this attempt (" +
            std::to_string(packages.size()) + ")</summary>\n";
    out_ +=
        "<div class=\"table-wrap\"><table><thead><tr><th>Package</th><th>Outcome</th><th class=\"num\">Tests</th>"
        "<th class=\"num\">Elapsed</th><th class=\"num\">Max RSS</th><th class=\"num\">GC peak heap</th>"
        "<th>End</th><th>Running at the end</th></tr></thead><tbody>\n";
    for (const std::string& p : packages) {
      const evidence::PackageRecord* record = nullptr;
      if (ev.result) {
        for (const evidence::PackageRecord& r : ev.result->packages) {
          if (r.package == p) record = &r;
        }
      }
      const evidence::ExecRecord* exec = nullptr;
      for (const evidence::ExecRecord& e : ev.execs) {
        if (e.package == p) exec = &e;
      }
      const gotest::PackageResult* events = ev.has_events ? ev.events.FindPackage(p) : nullptr;
      int pass = 0, fail = 0, skip = 0;
      if (events) {
        for (const gotest::TestResult& t : events->tests) {
          pass += t.outcome == gotest::TestOutcome::kPass;
          fail += t.outcome == gotest::TestOutcome::kFail;
          skip += t.outcome == gotest::TestOutcome::kSkip;
        }
      }
      std::string tests = events ? std::to_string(pass) + " \xE2\x9C\x93" : "";
      if (fail) tests += " \xC2\xB7 " + std::to_string(fail) + " \xE2\x9C\x97";
      if (skip) tests += " \xC2\xB7 " + std::to_string(skip) + " skipped";
      std::optional<double> elapsed = events && events->elapsed_seconds ? events->elapsed_seconds
                                      : record                          ? record->elapsed_seconds
                                                                        : std::nullopt;
      if (!elapsed && exec && exec->end_unix_ms >= exec->start_unix_ms && exec->end_unix_ms > 0) {
        elapsed = static_cast<double>(exec->end_unix_ms - exec->start_unix_ms) / 1000.0;
      }
      std::string end;
      if (exec) {
        end = exec->end.signal
                  ? "signal " + std::to_string(exec->end.signal) + (exec->end.signal == kSigKill ? " (killed)" : "")
                  : "exit " + std::to_string(exec->end.exit_code);
      }
      std::vector<std::string> running;
      if (record && !record->running_tests.empty()) {
        running = record->running_tests;
      } else if (events) {
        running = events->running_at_end;
      }
      std::string running_html;
      for (const std::string& t : running) running_html += (running_html.empty() ? "" : ", ") + H(t);
      out_ += "<tr><td class=\"nowrap\">" + Pkg(p, prefix_) + "</td><td class=\"nowrap\">" + Dot(PackageWord(a, p)) +
              "</td><td class=\"num\">" + tests + "</td><td class=\"num\">" +
              (elapsed ? FormatDuration(*elapsed) : "") + "</td><td class=\"num\">" +
              (exec && exec->end.max_rss_bytes ? FormatBytes(exec->end.max_rss_bytes) : "") +
              "</td><td class=\"num\">" +
              (record && record->gc_peak_heap_bytes ? FormatBytes(*record->gc_peak_heap_bytes) : "") + "</td><td>" +
              H(end) + "</td><td class=\"mono running\">" + running_html + "</td></tr>\n";
    }
    out_ += "</tbody></table></div>\n</details>\n";
  }

  void Packages() {
    out_ += "<section id=\"packages\"><h2>Packages</h2>\n";
    if (results_.empty()) {
      out_ += "<p class=\"lead\">No package is known yet.</p>\n</section>\n";
      return;
    }
    out_ +=
        "<div class=\"table-wrap\"><table><thead><tr><th>Package</th><th>Outcome</th><th class=\"num\">Attempts</th>"
        "<th class=\"num\">Peak</th><th>Last run in</th><th>Failed tests</th></tr></thead><tbody>\n";
    for (const FinalResult& r : results_) {
      int attempts = 0;
      std::optional<std::uint64_t> peak;
      for (const PackageStatus& p : run_.packages) {
        if (p.package == r.package) {
          attempts = p.attempts;
          peak = p.peak_bytes;
        }
      }
      std::string failed;
      if (r.events) {
        for (const gotest::TestResult& t : r.events->tests) {
          if (t.outcome == gotest::TestOutcome::kFail) failed += (failed.empty() ? "" : ", ") + H(t.name);
        }
      }
      if (r.killed && !r.running_test.empty()) {
        failed += (failed.empty() ? "" : ", ") + H(r.running_test) + " (killed)";
      }
      std::string where =
          r.attempt ? "<a href=\"#" + AttemptId(*r.attempt) + "\">" + H(AttemptName(*r.attempt)) + "</a>" : "";
      std::string name = Pkg(r.package, prefix_);
      if (r.diagnosis) {
        for (std::size_t i = 0; i < run_.diagnoses.size(); ++i) {
          if (&run_.diagnoses[i] == r.diagnosis)
            name += " <a href=\"#diagnosis-" + std::to_string(i) + "\">diagnosis</a>";
        }
      }
      out_ += "<tr><td>" + name + "</td><td>" + Badge(r.outcome) + "</td><td class=\"num\">" +
              (attempts ? std::to_string(attempts) : "") + "</td><td class=\"num\">" +
              (peak ? FormatBytes(*peak) : "") + "</td><td>" + where + "</td><td class=\"mono\">" + failed +
              "</td></tr>\n";
    }
    out_ += "</tbody></table></div>\n</section>\n";
  }

  void RetryLog() {
    if (run_.retry_log.empty()) return;
    out_ +=
        "<section id=\"retry-log\"><h2>Retry log</h2>\n<p class=\"lead\">Every attempt of every package as the "
        "retry policy recorded it; the last line of a package carries its verdict.</p>\n";
    std::vector<Column> cols = {{"Package", "nowrap"}, {"Attempt", "nowrap"}, {"Memory", "num"}, {"-parallel", "num"},
                                {"-p", "num"},         {"GOMEMLIMIT", "num"}, {"Peak", "num"},   {"Result", "nowrap"},
                                {"Phase", ""},         {"Cause", ""},         {"Verdict", ""}};
    for (const RetryLogEntry& e : run_.retry_log) {
      AddRow(cols, {Pkg(e.package, prefix_),
                    "<a href=\"#s" + std::to_string(e.shard) + "a" + std::to_string(e.attempt) + "\">s" +
                        std::to_string(e.shard) + " \xC2\xB7 a" + std::to_string(e.attempt) + "</a>" +
                        (e.counted ? "" : " <span class=\"chip\">not counted</span>"),
                    e.memory_bytes ? FormatBytes(e.memory_bytes) : "", e.parallel ? std::to_string(*e.parallel) : "",
                    e.p ? std::to_string(*e.p) : "", e.gomemlimit_bytes ? FormatBytes(*e.gomemlimit_bytes) : "",
                    e.peak_bytes ? FormatBytes(*e.peak_bytes) : "", e.result.empty() ? "" : Dot(e.result),
                    H(e.phase == "unknown" ? "" : e.phase), H(e.cause == "Unknown" ? "" : e.cause),
                    e.verdict.empty() ? "" : Badge(e.verdict)});
    }
    Table(cols);
    out_ += "</section>\n";
  }

  void Skipped() {
    if (run_.skipped.empty()) return;
    out_ +=
        "<section id=\"skipped\"><h2>Files left out</h2>\n<div class=\"notice\"><p>These files could not be "
        "read or made sense of; the report was written without them.</p><ul>";
    for (const SkippedFile& s : run_.skipped) {
      out_ += "<li><span class=\"mono\">" + H(s.path) + "</span>: " + H(s.reason) + "</li>";
    }
    out_ += "</ul></div>\n</section>\n";
  }

  void Data() {
    json data = json::object();
    data["modulePrefix"] = prefix_;
    json attempts = json::array();
    for (const Shard& s : run_.shards) {
      for (const Attempt& a : s.attempts) {
        if (a.evidence.exists) attempts.push_back(AttemptData(a));
      }
    }
    data["attempts"] = std::move(attempts);
    data["peaks"] = PeakData(run_, results_);
    data["timeline"] = TimelineData(run_);
    out_ += "<script type=\"application/json\" id=\"gtr-data\">" + JsonForScript(data) + "</script>\n";
  }

  const LoadedRun& run_;
  std::vector<FinalResult> results_;
  std::string prefix_;
  std::string out_;
};

}  // namespace

std::string RenderHtmlReport(const LoadedRun& run) { return Page(run).Render(); }

}  // namespace gotestrun::report
