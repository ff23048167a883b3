#include "core/diagnosis/cause/classify.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <set>
#include <string_view>

namespace gotestrun::cause {
namespace {

using policy::Cause;
using policy::PackageResult;
using policy::Phase;

constexpr std::uint64_t kMiB = std::uint64_t{1} << 20;

// ---- Thresholds ----

// Heap growth below this is not worth a name: the runtime, the testing package and the
// heap snapshot goroutine move the heap by a few MiB, and a clean package's binary
// stays under ~10 MiB in all (tests/fixtures/memory/README.md measures 4 MiB).
constexpr std::uint64_t kMinLeakGrowth = 32 * kMiB;
// A test that raised the live heap by less than this did not add to a leak.
constexpr std::uint64_t kMinStepGrowth = 4 * kMiB;
// The live heap seen in a test may sit this much below what the test before it held
// and still count as retained: gctrace rounds to MiB, and what a GC finds live in the
// middle of a test includes that test's own working memory.
constexpr double kRetainedFraction = 0.9;
constexpr std::uint64_t kRetainedSlack = 2 * kMiB;
// Tests the live heap must rise in: one rise is one big test (LargeTest), two that
// nothing releases are a pattern. A package that passed needs a third, since naming it
// is optional and two rising tests can be chance.
constexpr int kMinLeakSteps = 2;
constexpr int kMinLeakStepsPassed = 3;
// In-use bytes below this at the last profile do not make a test one that retains.
constexpr std::uint64_t kMinRetainedPerTest = 1 * kMiB;
// Tests of the package that must hold memory past their end (from the last profile).
constexpr int kMinRetainingTests = 2;

// A test binary runs main, the heap snapshot goroutine and one goroutine per open
// test (paused t.Parallel ones included), plus a few the runtime and os/signal may
// start. The fixtures' binaries show 3 beyond the open tests.
constexpr std::uint64_t kBaselineGoroutines = 4;
// Goroutines beyond the baseline that are a leak rather than a test's own helpers.
constexpr std::uint64_t kMinLeakedGoroutines = 100;
// Growth in goroutines across test ends that makes a series a leak.
constexpr std::uint64_t kMinGoroutineGrowth = 50;
// The share of the in-use heap that goroutines outside the tests must hold for the
// memory to be theirs.
constexpr double kGoroutineHeapShare = 0.5;

// Memory outside the Go heap worth naming: above what the runtime's own non-heap
// memory (stacks, GC metadata, the binary's text) comes to in a test binary.
constexpr std::uint64_t kMinNativeBytes = 64 * kMiB;
// The Go heap must explain less than this share of the RSS. Observations lag the kill
// (a snapshot every interval, a GC line only when the heap doubles), so a fast-growing
// Go heap can look up to ~30% short at the kill; half leaves room for that.
constexpr double kMaxGoShareOfRss = 0.5;
// With GC tracing on and no GC line, the heap never reached the runtime's first goal.
constexpr std::uint64_t kFirstGcGoal = 4 * kMiB;

// Heap held before the first test that is worth naming, and the share of the
// package's peak it must be.
constexpr std::uint64_t kMinInitBytes = 32 * kMiB;
constexpr double kInitShareOfPeak = 0.5;
// A killed package whose init held at least this share of the limit was killed by it.
constexpr double kInitShareOfLimit = 0.5;
// "Flat afterwards": the tests added less than this share plus kFlatSlack.
constexpr double kInitFlatGrowth = 0.25;
constexpr std::uint64_t kFlatSlack = 16 * kMiB;

// Tests running at once for a spike.
constexpr int kMinSpikeTests = 2;
// A running test holding less than this at the last profile has no share of a spike.
constexpr std::uint64_t kMinPerTestBytes = 4 * kMiB;
// One running test holding this share of the binary's memory is one large test, not a spike.
constexpr double kDominantShare = 0.7;
// With GOGC=100 the heap may grow to twice the live heap before the GC runs, so a
// test's live bytes cost up to twice that in memory.
constexpr double kGcGrowthFactor = 2.0;
// The share of the limit a proposal may plan to fill: the go command and the
// runtime's non-heap memory need the rest (FACTS: leave 5-10% headroom).
constexpr double kUsableFraction = 0.9;

// GCHeadroom: the live heap fits with room to spare, and the goal after it does not.
constexpr double kLiveFitsFraction = 0.75;
constexpr double kGoalOverFraction = 0.9;
// A GC that freed this share of the heap it started with was collecting garbage: the
// heap churns, and collecting sooner (GOMEMLIMIT) keeps it down. Said in the evidence,
// not required: the GC that would show the churn often comes after the kill (the goal
// doubles with the live heap), and a heap still growing looks the same at the kill.
constexpr double kMinGarbageShare = 0.2;
// GCs looked at for garbage, latest first.
constexpr std::size_t kGarbageLookback = 3;

// A test whose heap rose less than this above what the tests before it left is not a
// large test.
constexpr std::uint64_t kMinJump = 32 * kMiB;
// Without a look inside the killed test: the heap before it must have been this small
// a share of the limit for the kill to be the test's alone.
constexpr double kSmallBeforeFraction = 0.25;
// The runtime's non-heap memory and the binary, added to a heap figure for a need.
constexpr std::uint64_t kRuntimeOverhead = 16 * kMiB;

// A package that passed at this share of its limit or above came close enough for
// its cause to be worth naming.
constexpr double kNearLimitFraction = 0.8;

// ---- Formatting ----

std::string Mib(std::uint64_t bytes) {
  const double mib = static_cast<double>(bytes) / static_cast<double>(kMiB);
  char buf[48];
  if (mib >= 10 || mib == 0) {
    std::snprintf(buf, sizeof buf, "%.0f MiB", mib);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f MiB", mib);
  }
  return buf;
}

std::string Percent(double share) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f%%", share * 100);
  return buf;
}

std::string Seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3fs", s);
  return buf;
}

// "example.com/x/leak.remember" -> "leak.remember".
std::string ShortFunction(std::string_view f) {
  if (const std::size_t slash = f.rfind('/'); slash != std::string_view::npos) f.remove_prefix(slash + 1);
  return std::string(f);
}

std::string BaseName(std::string_view path) {
  if (const std::size_t slash = path.rfind('/'); slash != std::string_view::npos) path.remove_prefix(slash + 1);
  return std::string(path);
}

// "leak.remember (leak.go:21)".
std::string SiteText(const AllocationSite& site) {
  std::string out = ShortFunction(site.function);
  if (!site.file.empty()) {
    out += " (" + BaseName(site.file);
    if (site.line > 0) out += ":" + std::to_string(site.line);
    out += ")";
  }
  return out;
}

std::string SiteLine(const AllocationSite& site) {
  std::string out = Mib(site.bytes) + " " + SiteText(site) + ", " + std::string(AllocationOriginName(site.origin));
  if (!site.test.empty()) out += " " + site.test;
  return out;
}

std::string JoinNames(const std::vector<std::string>& names, std::size_t max = 4) {
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < max; ++i) {
    if (i > 0) out += i + 1 == names.size() ? " and " : ", ";
    out += names[i];
  }
  if (names.size() > max) out += " and " + std::to_string(names.size() - max) + " more";
  return out;
}

// Evidence lines, bounded in count and length.
class Lines {
 public:
  void Add(std::string line) {
    if (lines_.size() >= kMaxEvidenceLines) return;
    if (line.size() > kMaxEvidenceLineBytes) {
      line.resize(kMaxEvidenceLineBytes - 3);
      line += "...";
    }
    lines_.push_back(std::move(line));
  }
  std::vector<std::string> Take() { return std::move(lines_); }
  std::size_t size() const { return lines_.size(); }

 private:
  std::vector<std::string> lines_;
};

std::string TopLevel(std::string_view test) {
  if (const std::size_t slash = test.find('/'); slash != std::string_view::npos) test = test.substr(0, slash);
  return std::string(test);
}

// The leaves among tests listed with their parents ("TestA", "TestA/x" -> "TestA/x").
std::vector<std::string> Leaves(const std::vector<std::string>& tests) {
  std::vector<std::string> out;
  for (const std::string& t : tests) {
    const bool parent = std::any_of(tests.begin(), tests.end(), [&](const std::string& o) {
      return o.size() > t.size() && o.starts_with(t) && o[t.size()] == '/';
    });
    if (!parent && std::find(out.begin(), out.end(), t) == out.end()) out.push_back(t);
  }
  return out;
}

// ---- What every rule looks at ----

struct LiveObservation {
  std::uint64_t live = 0;
  TestProgress progress;
  std::optional<std::int64_t> unix_ms;
};

struct Facts {
  explicit Facts(const PackageSignals& signals) : s(signals) {}

  const PackageSignals& s;
  bool killed = false;        // the test binary
  bool build_killed = false;  // a compile or link
  std::optional<std::uint64_t> limit;
  std::optional<std::uint64_t> peak;  // the binary's RSS, else the cgroup's peak
  bool peak_from_cgroup = false;
  // Several test binaries shared the container at its kill: the limit was not this
  // binary's alone, and the cgroup's peak holds the others' memory too.
  bool shared = false;
  // Live heap as the GC measured it (or the in-use heap of snapshots without GC lines).
  std::vector<LiveObservation> live;
  bool live_from_gc = false;
  std::vector<std::string> running_leaves;  // at the kill
  int tests_started = 0;
  int tests_ended = 0;

  bool near_limit() const {
    return limit && peak && static_cast<double>(*peak) >= kNearLimitFraction * static_cast<double>(*limit);
  }
};

Facts Gather(const PackageSignals& s) {
  Facts f(s);
  f.killed = s.result == PackageResult::kKilled;
  f.build_killed = s.result == PackageResult::kBuildKilled ||
                   (s.result != PackageResult::kPassed && (s.phase == Phase::kCompile || s.phase == Phase::kLink));
  f.limit = s.limit_bytes;
  if (s.max_rss_bytes) {
    f.peak = s.max_rss_bytes;
  } else if (s.cgroup_peak_bytes) {
    f.peak = s.cgroup_peak_bytes;
    f.peak_from_cgroup = true;
  }
  if (!s.gc.empty()) {
    f.live_from_gc = true;
    for (const GcSample& g : s.gc) f.live.push_back({g.live, g.progress, g.unix_ms});
  } else {
    for (const HeapSample& h : s.heap) f.live.push_back({h.heap_inuse, h.progress, h.unix_ms});
  }
  f.running_leaves = Leaves(s.running_at_kill);
  f.tests_started = static_cast<int>(s.tests.size());
  for (const TestSpan& t : s.tests) f.tests_ended += t.ended ? 1 : 0;
  f.shared = s.binaries_at_kill > 1;
  return f;
}

// The most the Go heap ever took, as far as anything saw: snapshots' heap_sys and the
// GC lines' heaps, with the goroutine stacks a GC line counted beside its heap (they
// are Go's memory too, outside the heap: thousands of leaked goroutines are not
// native memory). nullopt when nothing was seen.
std::optional<std::uint64_t> GoHeapFootprint(const PackageSignals& s, bool& below_first_goal) {
  below_first_goal = false;
  std::optional<std::uint64_t> most;
  for (const HeapSample& h : s.heap) most = std::max({most.value_or(0), h.heap_sys, h.heap_alloc});
  for (const GcSample& g : s.gc)
    most = std::max(most.value_or(0), std::max({g.heap_start, g.heap_end, g.goal}) + g.stacks);
  if (!most && s.gctrace_recorded && s.gc.empty()) {
    below_first_goal = true;
    most = kFirstGcGoal;
  }
  return most;
}

std::string ResultLine(const Facts& f) {
  const PackageSignals& s = f.s;
  std::string out = "result: " + std::string(policy::PackageResultName(s.result));
  if (s.phase != Phase::kUnknown) out += " (" + std::string(policy::PhaseName(s.phase)) + ")";
  if (f.killed && !f.running_leaves.empty()) out += " during " + JoinNames(f.running_leaves);
  out += "; " + std::to_string(f.tests_started) + " tests started";
  out += "; limit " + (f.limit ? Mib(*f.limit) : std::string("unknown"));
  if (s.max_rss_bytes) out += "; binary max RSS " + Mib(*s.max_rss_bytes);
  if (s.cgroup_peak_bytes) out += "; cgroup peak " + Mib(*s.cgroup_peak_bytes);
  if (s.gomemlimit_bytes) out += "; GOMEMLIMIT " + Mib(*s.gomemlimit_bytes);
  if (s.parallel) out += "; -parallel " + std::to_string(*s.parallel);
  return out;
}

void AddSites(const PackageSignals& s, Lines& lines) {
  for (std::size_t i = 0; i < s.inuse_sites.size() && i < 3; ++i)
    lines.Add("in use at the last profile: " + SiteLine(s.inuse_sites[i]));
  for (std::size_t i = 0; i < s.growth_sites.size() && i < 3; ++i)
    lines.Add("grew between the first and last profile: " + SiteLine(s.growth_sites[i]));
  if (s.inuse && s.inuse->total > 0) {
    lines.Add("in use at the last profile by origin: tests " + Mib(s.inuse->tests) + ", init " + Mib(s.inuse->init) +
              ", other goroutines " + Mib(s.inuse->goroutines) + " of " + Mib(s.inuse->total));
  }
}

Diagnosis Finish(const Facts& f, Cause cause, std::string summary, Lines& lines, std::string headline) {
  Diagnosis d;
  d.cause = cause;
  d.summary = std::move(summary);
  Lines all;
  all.Add(ResultLine(f));
  for (std::string& l : lines.Take()) all.Add(std::move(l));
  AddSites(f.s, all);
  for (const std::string& note : f.s.notes) all.Add("note: " + note);
  d.evidence = all.Take();
  d.finding.cause = cause;
  d.finding.evidence = std::move(headline);
  return d;
}

// A line added after Finish (a projection): before the reader's notes, which give way
// when the evidence is full.
void Append(Diagnosis& d, std::string line) {
  if (line.size() > kMaxEvidenceLineBytes) {
    line.resize(kMaxEvidenceLineBytes - 3);
    line += "...";
  }
  auto at =
      std::find_if(d.evidence.begin(), d.evidence.end(), [](const std::string& l) { return l.starts_with("note: "); });
  d.evidence.insert(at, std::move(line));
  if (d.evidence.size() > kMaxEvidenceLines) d.evidence.pop_back();
}

// The best-named site to quote: the top growth site with the given origin, else the
// top in-use one, else any.
const AllocationSite* QuoteSite(const PackageSignals& s, std::optional<AllocationOrigin> origin,
                                std::string_view test = {}) {
  auto match = [&](const AllocationSite& site) {
    return (!origin || site.origin == *origin) && (test.empty() || site.test == test);
  };
  for (const AllocationSite& site : s.growth_sites) {
    if (match(site)) return &site;
  }
  for (const AllocationSite& site : s.inuse_sites) {
    if (match(site)) return &site;
  }
  return nullptr;
}

// What the last profile holds at a site, over every test and origin that allocated
// there; the site's own bytes when it is only among the growth sites.
std::uint64_t HeldAt(const PackageSignals& s, const AllocationSite& site) {
  std::uint64_t total = 0;
  for (const AllocationSite& other : s.inuse_sites) {
    if (other.function == site.function && other.file == site.file && other.line == site.line) total += other.bytes;
  }
  return total > 0 ? total : site.bytes;
}

// How many more tests to plan for: the known ones that had not ended (a test killed
// midway still has its growth to come), else as many again as had started. The known
// count is of top-level tests, so it stands only when every test that started was one
// (the per-test figures count subtests too), and only when no more had started than it
// says there are.
int RemainingTests(const Facts& f, bool& assumed) {
  bool top_level_only = true;
  for (const TestSpan& t : f.s.tests) top_level_only &= t.name.find('/') == std::string::npos;
  assumed = !f.s.known_test_count || !top_level_only || *f.s.known_test_count < f.tests_started;
  if (!assumed) return *f.s.known_test_count - f.tests_ended;
  return std::max(1, f.tests_started);
}

// ---- 1. BuildMemory ----

std::optional<Diagnosis> TryBuild(const Facts& f) {
  if (!f.build_killed) return std::nullopt;
  const PackageSignals& s = f.s;
  // The step the build log shows running at the kill, when go test's output named none.
  const BuildStepSample* at_kill = nullptr;
  for (const BuildStepSample& b : s.build_steps) {
    if (!b.ended || b.signal == 9) at_kill = &b;
  }
  const std::string step = !s.killed_build_tool.empty() ? s.killed_build_tool
                           : at_kill != nullptr         ? at_kill->tool
                           : s.phase == Phase::kLink    ? std::string("link")
                                                        : std::string("compile");
  Lines lines;
  if (at_kill != nullptr && s.killed_build_tool.empty()) {
    lines.Add("the " + step +
              " step of the package had started and not ended when everything was killed; no test "
              "binary ran");
  } else {
    lines.Add("the " + step + " step of the package was killed by a signal; no test binary ran");
  }
  // The build log's own figures, the latest steps last.
  const std::size_t first = s.build_steps.size() > 3 ? s.build_steps.size() - 3 : 0;
  for (std::size_t i = first; i < s.build_steps.size(); ++i) {
    const BuildStepSample& b = s.build_steps[i];
    const bool killed = !b.ended || b.signal == 9;
    std::string line = b.tool + " of " + s.package;
    if (b.ran_ms) {
      char ran[32];
      std::snprintf(ran, sizeof ran, " ran %.1f s", static_cast<double>(*b.ran_ms) / 1000.0);
      line += ran;
    } else {
      line += " ran for an unknown time";
    }
    line += ", max RSS ";
    line += b.max_rss_bytes ? Mib(*b.max_rss_bytes) : std::string("unknown");
    if (killed) line += " (killed)";
    lines.Add(line);
  }
  if (s.cgroup_peak_bytes) lines.Add("cgroup peak during the build " + Mib(*s.cgroup_peak_bytes));
  std::string summary = "build: the " + step + " step of " + s.package + " was OOM-killed";
  if (f.limit) summary += " under a " + Mib(*f.limit) + " limit";
  summary += ", before any test ran; building this package needs more memory than that";
  Diagnosis d;
  if (s.p && *s.p > 1) {
    summary += ", or fewer build steps at once (-p " + std::to_string(*s.p) + " -> " + std::to_string(*s.p / 2) + ")";
    lines.Add("-p " + std::to_string(*s.p) + ": up to that many build steps ran at once");
  }
  d = Finish(f, Cause::kBuildMemory, summary, lines, "the " + step + " step was OOM-killed");
  if (s.p && *s.p > 1) d.finding.p = *s.p / 2;
  return d;
}

// ---- 2. NativeMemory ----

// What the test binary took of the cgroup's `peak`, from the samples. The usage holds
// the page cache the build left and the go command's own memory, so the usage at the
// binary's start is not all someone else's: the kernel reclaims that cache as the
// binary grows and must have reclaimed it before an OOM kill. (Seen: a cgo package
// killed at 160 MiB holding two 64 MiB blocks and part of a third, 110 MiB in use when
// it started, 74 MiB of it page cache: the usage's growth, 50 MiB, read as a large
// test; its retry was sized from the limit and killed again.) With the anonymous part
// of each sample known: killed at the limit, the peak less the anonymous memory at the
// start (the go command's, and vet's or the linker's if they had not exited: an
// under-count, never an over-count of the binary); otherwise the growth of the
// anonymous memory. Without it, the growth of the usage. `base` is what the growth is
// counted from: the cgroup needs it as well as the binary's growth.
struct Growth {
  std::uint64_t grown = 0;
  std::uint64_t base = 0;
};
std::optional<Growth> BinaryGrowth(const PackageSignals& s, std::uint64_t peak) {
  const evidence::MemorySample* start = evidence::SampleAt(s.cgroup, *s.started_ms);
  if (start == nullptr) return std::nullopt;
  if (start->anon_bytes) {
    const std::uint64_t base = *start->anon_bytes;
    if (s.limit_bytes && peak >= *s.limit_bytes) return Growth{peak > base ? peak - base : 0, base};
    std::uint64_t grown = 0;
    for (const evidence::MemorySample& m : s.cgroup) {
      if (m.unix_ms >= start->unix_ms && m.anon_bytes && *m.anon_bytes > base)
        grown = std::max(grown, *m.anon_bytes - base);
    }
    return Growth{grown, base};
  }
  return Growth{peak > start->usage_bytes ? peak - start->usage_bytes : 0, start->usage_bytes};
}

std::optional<Diagnosis> TryNative(const Facts& f) {
  const PackageSignals& s = f.s;
  if (!f.peak) return std::nullopt;
  // The cgroup's peak is not this binary's when others ran beside it: another
  // package's heap would read as this one's native memory.
  if (f.peak_from_cgroup && f.shared) return std::nullopt;
  bool below_first_goal = false;
  const std::optional<std::uint64_t> go_heap = GoHeapFootprint(s, below_first_goal);
  if (!go_heap) return std::nullopt;
  std::uint64_t rss = *f.peak;
  std::uint64_t base = 0;  // what the cgroup held besides `rss` (BinaryGrowth)
  bool since_start = false;
  if (f.peak_from_cgroup && s.started_ms) {
    // The cgroup's peak holds the go command, the page cache and whatever ran before
    // the binary: what it held when the binary started is not the binary's. (Seen: a
    // binary killed in its first test, no GC yet, 276 MiB of a 320 MiB cgroup already
    // in use when it started; the rest read as 316 MiB of native memory.)
    if (const std::optional<Growth> grown = BinaryGrowth(s, *f.peak)) {
      rss = grown->grown;
      base = grown->base;
      since_start = true;
    }
  }
  if (rss < *go_heap + kMinNativeBytes) return std::nullopt;
  if (static_cast<double>(*go_heap) > kMaxGoShareOfRss * static_cast<double>(rss)) return std::nullopt;
  const std::uint64_t native = rss - *go_heap;
  Lines lines;
  const std::string what = since_start          ? "the cgroup's growth after the binary started"
                           : f.peak_from_cgroup ? "the cgroup's peak"
                                                : "the test binary's max RSS";
  lines.Add(what + " " + Mib(rss) + "; the Go heap (with goroutine stacks) never took more than " + Mib(*go_heap) +
            " from the OS" + (below_first_goal ? " (no GC ran: the heap stayed below the first goal, 4 MiB)" : ""));
  lines.Add("outside the Go heap: " + Mib(native) + " (" +
            Percent(static_cast<double>(native) / static_cast<double>(rss)) + " of the RSS)");
  std::string summary = "native memory: " + what + " reached " + Mib(rss) + " while the Go heap stayed under " +
                        Mib(*go_heap) + ": " + Mib(native) +
                        " is memory Go does not manage (cgo malloc, mmap), which GOMEMLIMIT cannot bound";
  if (f.killed && !f.running_leaves.empty()) summary += "; killed during " + JoinNames(f.running_leaves);
  summary += "; look for C allocations that are never freed";
  Diagnosis d =
      Finish(f, Cause::kNativeMemory, summary, lines, Mib(native) + " outside the Go heap (RSS " + Mib(rss) + ")");
  if (f.killed && f.tests_started >= 2) {
    bool assumed = false;
    const int remaining = RemainingTests(f, assumed);
    // Tests one after another: per test that ended, since the one killed midway had
    // only part of its memory and counting it whole would make every test seem
    // smaller. Parallel tests running at the kill all hold theirs: per test started.
    const int tests = f.running_leaves.size() <= 1 && f.tests_ended >= 1 ? f.tests_ended : f.tests_started;
    const std::uint64_t per_test = native / static_cast<std::uint64_t>(tests);
    // The cgroup's need: the binary's growth on top of what was there when it started
    // (the go command's memory is still there when the last test runs). Counted from
    // the growth alone, nativemem/ was given 336 MiB after a kill at 160 MiB and killed
    // again at 336 MiB: 36 MiB of the go command's were left out.
    d.finding.memory = base + rss + per_test * static_cast<std::uint64_t>(remaining);
    Append(d, "projected need " + Mib(*d.finding.memory) + ": " +
                  (base > 0 ? Mib(base) + " in the cgroup when the binary started, " : std::string()) + Mib(per_test) +
                  " native per test " + (tests == f.tests_ended ? "that ended" : "started") + ", for " +
                  std::to_string(remaining) + " more tests" +
                  (assumed ? " (assumed: as many again as had started)" : ""));
  }
  return d;
}

// ---- 3. InitMemory ----

std::optional<Diagnosis> TryInit(const Facts& f) {
  const PackageSignals& s = f.s;
  std::uint64_t before = 0, after = 0;
  bool seen_before = false;
  for (const LiveObservation& o : f.live) {
    if (o.progress.started == 0) {
      before = std::max(before, o.live);
      seen_before = true;
    } else {
      after = std::max(after, o.live);
    }
  }
  for (const HeapSample& h : s.heap) {
    if (h.progress.started == 0) {
      before = std::max(before, h.heap_inuse);
      seen_before = true;
    }
  }
  const std::uint64_t init_profile = s.inuse ? s.inuse->init : 0;
  const std::uint64_t held = std::max(before, init_profile);
  const AllocationSite* site = QuoteSite(s, AllocationOrigin::kInit);
  Lines lines;
  if (f.killed && s.phase == Phase::kInit) {
    std::string summary = "init: the test binary was killed before its first test started (package init or TestMain)";
    if (seen_before) {
      lines.Add("before the first test: the GC found up to " + Mib(before) + " live");
      summary += ", with " + Mib(before) + " live on the heap by then";
    } else {
      lines.Add("no GC line or heap snapshot before the kill shows how far the heap got");
    }
    if (site != nullptr) summary += "; " + SiteText(*site) + " holds " + Mib(HeldAt(s, *site));
    summary += "; move the allocation out of init, or give the package the memory it needs to start";
    return Finish(
        f, Cause::kInitMemory, summary, lines,
        "killed before the first test" + (seen_before ? ", " + Mib(before) + " live by then" : std::string()));
  }
  // Without the package's test events (go test holds back all but one package's) the
  // GC lines cannot be placed before or after the first test.
  if (s.tests.empty()) return std::nullopt;
  if (held < kMinInitBytes) return std::nullopt;
  const std::uint64_t top = std::max(held, after);
  if (static_cast<double>(held) < kInitShareOfPeak * static_cast<double>(top)) return std::nullopt;
  if (static_cast<double>(after) >
      static_cast<double>(held) * (1 + kInitFlatGrowth) + static_cast<double>(kFlatSlack)) {
    return std::nullopt;
  }
  if (f.killed && (!f.limit || static_cast<double>(held) < kInitShareOfLimit * static_cast<double>(*f.limit))) {
    return std::nullopt;
  }
  lines.Add("held before the first test: " + Mib(held) +
            (init_profile > 0 ? " (" + Mib(init_profile) + " allocated in init by the last profile)" : ""));
  lines.Add("most live while the tests ran: " + Mib(after));
  std::string summary =
      "init: " + Mib(held) +
      " was held before the first test started (package init or TestMain) and the tests added little (" + Mib(after) +
      " at most while they ran)";
  if (site != nullptr) summary += "; " + SiteText(*site) + " holds " + Mib(HeldAt(s, *site));
  return Finish(f, Cause::kInitMemory, summary, lines, Mib(held) + " held before the first test");
}

// ---- 4. GoroutineLeak ----

std::uint64_t ExcessGoroutines(const HeapSample& h) {
  const std::uint64_t expected = static_cast<std::uint64_t>(std::max(0, h.progress.open)) + kBaselineGoroutines;
  return h.goroutines > expected ? h.goroutines - expected : 0;
}

std::optional<Diagnosis> TryGoroutineLeak(const Facts& f) {
  const PackageSignals& s = f.s;
  if (s.heap.empty()) return std::nullopt;
  const HeapSample& first = s.heap.front();
  const HeapSample& last = s.heap.back();
  const std::uint64_t first_excess = ExcessGoroutines(first), last_excess = ExcessGoroutines(last);
  const bool growing = s.heap.size() >= 2 && last_excess >= first_excess + kMinGoroutineGrowth &&
                       last.progress.ended > first.progress.ended;
  const bool survived = last_excess >= kMinLeakedGoroutines && last.progress.ended >= 1;
  if (!growing && !(survived && (f.killed || f.near_limit()))) return std::nullopt;
  const bool heap_grew = growing && last.heap_inuse >= first.heap_inuse + kMinLeakGrowth;
  const bool held =
      s.inuse && s.inuse->goroutines >= kMinLeakGrowth &&
      static_cast<double>(s.inuse->goroutines) >= kGoroutineHeapShare * static_cast<double>(s.inuse->total);
  if (!heap_grew && !held) return std::nullopt;

  Lines lines;
  lines.Add("goroutines beyond the open tests: " + std::to_string(first_excess) + " with " +
            std::to_string(first.progress.ended) + " tests ended -> " + std::to_string(last_excess) + " with " +
            std::to_string(last.progress.ended) + " ended (" + std::to_string(first.goroutines) + " -> " +
            std::to_string(last.goroutines) + " in all)");
  lines.Add("heap in use at those snapshots: " + Mib(first.heap_inuse) + " -> " + Mib(last.heap_inuse));
  if (held) lines.Add("held by goroutines other than the tests' at the last profile: " + Mib(s.inuse->goroutines));
  const int ended_between = last.progress.ended - first.progress.ended;
  std::uint64_t per_test_goroutines = 0, per_test_heap = 0;
  if (growing && ended_between > 0) {
    per_test_goroutines = (last_excess - first_excess) / static_cast<std::uint64_t>(ended_between);
    if (last.heap_inuse > first.heap_inuse)
      per_test_heap = (last.heap_inuse - first.heap_inuse) / static_cast<std::uint64_t>(ended_between);
  } else {
    const std::uint64_t tests = static_cast<std::uint64_t>(std::max(1, last.progress.started));
    per_test_goroutines = last_excess / tests;
    per_test_heap = (held ? s.inuse->goroutines : last.heap_inuse) / tests;
  }
  const AllocationSite* site = QuoteSite(s, AllocationOrigin::kGoroutine);
  std::string summary = "goroutine leak: goroutines the tests started outlive them, ~" +
                        std::to_string(per_test_goroutines) + " more per test (" + std::to_string(last.goroutines) +
                        " at the last snapshot)";
  summary += ", and the heap grows with them, ~" + Mib(per_test_heap) + " per test";
  if (site != nullptr)
    summary += "; " + Mib(HeldAt(s, *site)) + " is held by " + SiteText(*site) + " on those goroutines";
  summary += "; stop them (close their channel, cancel their context) before each test ends";
  Diagnosis d = Finish(f, Cause::kGoroutineLeak, summary, lines,
                       "~" + std::to_string(per_test_goroutines) + " goroutines and ~" + Mib(per_test_heap) +
                           " more per test, never stopped");
  if (f.killed && per_test_heap > 0 && f.peak) {
    bool assumed = false;
    const int remaining = RemainingTests(f, assumed);
    d.finding.memory = *f.peak + per_test_heap * static_cast<std::uint64_t>(remaining);
    Append(d, "projected need " + Mib(*d.finding.memory) + ": " + Mib(per_test_heap) + " per test for " +
                  std::to_string(remaining) + " more tests" +
                  (assumed ? " (assumed: as many again as had started)" : ""));
  }
  return d;
}

// ---- 5. LeakAcrossTests ----

struct TestSlot {
  int test = -1;
  int ended = 0;  // tests ended when it was first seen
  std::uint64_t lo = 0, hi = 0;
  // Where in the run the highest observation came, in tests: 2.5 is halfway through
  // the third test. nullopt when the times are not known.
  std::optional<double> hi_position;
};

// How far through the run an observation came, in tests, from its time and the spans:
// GC lines come when the heap doubles, anywhere in a test, so counting whole tests
// between two of them can be off by one either way.
std::optional<double> Position(const PackageSignals& s, const LiveObservation& o, std::optional<double> typical_ms) {
  if (!o.unix_ms || o.progress.test < 0 || static_cast<std::size_t>(o.progress.test) >= s.tests.size())
    return std::nullopt;
  const TestSpan& span = s.tests[static_cast<std::size_t>(o.progress.test)];
  if (!span.start_ms) return std::nullopt;
  // In double: the times come from files and may be anything.
  const double start = static_cast<double>(*span.start_ms);
  std::optional<double> duration = typical_ms;
  if (span.ended && span.end_ms) duration = static_cast<double>(*span.end_ms) - start;
  if (!duration || !(*duration > 0)) return std::nullopt;
  const double into = (static_cast<double>(*o.unix_ms) - start) / *duration;
  return o.progress.ended + std::clamp(into, 0.0, 1.0);
}

// The median duration of the tests that ended, for one that did not.
std::optional<double> TypicalTestMs(const PackageSignals& s) {
  std::vector<double> durations;
  for (const TestSpan& t : s.tests) {
    if (t.leaf && t.ended && t.start_ms && t.end_ms && *t.end_ms >= *t.start_ms) {
      durations.push_back(static_cast<double>(*t.end_ms) - static_cast<double>(*t.start_ms));
    }
  }
  if (durations.empty()) return std::nullopt;
  std::sort(durations.begin(), durations.end());
  return durations[durations.size() / 2];
}

// The heap seen while each test ran alone, in test order.
std::vector<TestSlot> HeapByTest(const PackageSignals& s, const std::vector<LiveObservation>& observations) {
  const std::optional<double> typical = TypicalTestMs(s);
  std::vector<TestSlot> slots;
  for (const LiveObservation& o : observations) {
    if (o.progress.test < 0 || static_cast<std::size_t>(o.progress.test) >= s.tests.size()) continue;
    if (o.progress.running_leaves > 1) continue;
    if (!slots.empty() && o.progress.test < slots.back().test) continue;
    if (slots.empty() || slots.back().test != o.progress.test) {
      slots.push_back({o.progress.test, o.progress.ended, o.live, o.live, Position(s, o, typical)});
    } else {
      slots.back().lo = std::min(slots.back().lo, o.live);
      if (o.live >= slots.back().hi) {
        slots.back().hi = o.live;
        slots.back().hi_position = Position(s, o, typical);
      }
    }
  }
  return slots;
}

struct Retained {
  std::uint64_t bytes = 0;
  std::vector<std::string> tests;
};

// In-use bytes at the last profile allocated by tests that had ended before the GC the
// profile reflects: memory those tests left reachable. Go publishes a heap profile a
// cycle late: what it shows in use is what the GC before the latest one found live
// (measured: a t.Parallel test that ended between the two still shows its bytes).
Retained RetainedByEndedTests(const PackageSignals& s) {
  Retained out;
  if (!s.inuse || !s.inuse->unix_ms) return out;
  std::vector<std::int64_t> gcs;
  for (const GcSample& g : s.gc) {
    if (g.unix_ms && *g.unix_ms <= *s.inuse->unix_ms) gcs.push_back(*g.unix_ms);
  }
  std::sort(gcs.begin(), gcs.end());
  if (gcs.size() < 2) return out;
  const std::optional<std::int64_t> last_gc = gcs[gcs.size() - 2];
  for (const InuseByTest& t : s.inuse->by_test) {
    if (t.bytes < kMinRetainedPerTest) continue;
    bool ended_before = false;
    bool running_after = false;
    for (const TestSpan& span : s.tests) {
      if (TopLevel(span.name) != t.test) continue;
      if (span.name == t.test && span.ended && span.end_ms && *span.end_ms < *last_gc) ended_before = true;
      if (span.start_ms && *span.start_ms >= *last_gc) running_after = true;  // run again later
    }
    if (ended_before && !running_after) {
      out.bytes += t.bytes;
      out.tests.push_back(t.test);
    }
  }
  return out;
}

struct LeakPattern {
  bool found = false;
  std::vector<TestSlot> slots;
  int steps = 0;
  std::uint64_t growth = 0;
  int spanned = 0;
};

// The heap seen in each sequential test never falling below what the test before it
// held, and rising in several of them.
LeakPattern FindLeakPattern(const PackageSignals& s, const std::vector<LiveObservation>& observations, bool killed) {
  LeakPattern p;
  p.slots = HeapByTest(s, observations);
  if (p.slots.size() < 2) return p;
  bool retained = true;
  for (std::size_t i = 1; i < p.slots.size(); ++i) {
    const double floor = kRetainedFraction * static_cast<double>(p.slots[i - 1].hi);
    if (static_cast<double>(p.slots[i].lo + kRetainedSlack) < floor) retained = false;
    if (p.slots[i].hi >= p.slots[i - 1].hi + kMinStepGrowth) ++p.steps;
  }
  p.growth = p.slots.back().hi > p.slots.front().lo ? p.slots.back().hi - p.slots.front().lo : 0;
  p.spanned = std::max(p.slots.back().ended - p.slots.front().ended, 1);
  const int needed = killed ? kMinLeakSteps : kMinLeakStepsPassed;
  p.found = retained && p.steps >= needed && p.growth >= kMinLeakGrowth;
  return p;
}

// Whether the GC lines within the tests of a snapshot pattern say the heap they saw
// was live: at least one GC ran there, and none freed much. (Snapshots count garbage
// too; a heap that rises only until the next GC frees it is churn, not a leak.)
bool GcConfirmsLive(const PackageSignals& s, const std::vector<TestSlot>& slots) {
  if (slots.empty()) return false;
  int seen = 0;
  for (const GcSample& g : s.gc) {
    if (g.progress.test < slots.front().test || g.progress.test > slots.back().test) continue;
    if (g.progress.running_leaves > 1) continue;
    if (g.heap_start > g.live &&
        static_cast<double>(g.heap_start - g.live) >= kMinGarbageShare * static_cast<double>(g.heap_start)) {
      return false;
    }
    ++seen;
  }
  return seen > 0;
}

std::optional<Diagnosis> TryLeak(const Facts& f) {
  const PackageSignals& s = f.s;
  LeakPattern found = FindLeakPattern(s, f.live, f.killed);
  std::string source = f.live_from_gc ? "after GC" : "in use at snapshots";
  if (!found.found && f.live_from_gc && !s.heap.empty()) {
    // GC lines come when the heap doubles (and the last one before a kill can be
    // lost): the snapshots see every test, and the GC lines between them whether
    // what they saw was live.
    std::vector<LiveObservation> snapshots;
    for (const HeapSample& h : s.heap) snapshots.push_back({h.heap_inuse, h.progress, h.unix_ms});
    LeakPattern from_snapshots = FindLeakPattern(s, snapshots, f.killed);
    if (from_snapshots.found && GcConfirmsLive(s, from_snapshots.slots)) {
      found = std::move(from_snapshots);
      source = "in use at snapshots; the GCs among them freed little";
    }
  }
  const bool pattern = found.found;
  const std::vector<TestSlot>& slots = found.slots;
  const std::uint64_t growth = found.growth;
  const int spanned = found.spanned;
  const Retained kept = RetainedByEndedTests(s);
  const bool profile_says = static_cast<int>(kept.tests.size()) >= kMinRetainingTests && kept.bytes >= kMinLeakGrowth;
  // Naming a package that passed is optional: the live heap's own pattern is needed.
  if (!f.killed && !pattern) return std::nullopt;
  if (!pattern && !profile_says) return std::nullopt;

  Lines lines;
  std::uint64_t per_test = 0;
  std::string how;
  if (pattern) {
    std::string series;
    for (const TestSlot& slot : slots) {
      if (!series.empty()) series += ", ";
      series += s.tests[static_cast<std::size_t>(slot.test)].name + " " + Mib(slot.hi);
    }
    lines.Add("heap seen in each test (" + source + "): " + series);
    // From the most the first test held to the most the last one did, over the tests
    // between the two observations (by their times where known).
    const TestSlot& a = slots.front();
    const TestSlot& b = slots.back();
    if (b.hi > a.hi && a.hi_position && b.hi_position && *b.hi_position - *a.hi_position >= 1) {
      // Bounded below 2^64 before the cast, whatever the figures.
      per_test = static_cast<std::uint64_t>(
          std::min(static_cast<double>(b.hi - a.hi) / (*b.hi_position - *a.hi_position), 1.8e19));
    } else if (b.hi > a.hi) {
      per_test = (b.hi - a.hi) / static_cast<std::uint64_t>(spanned);
    } else {
      per_test = growth / static_cast<std::uint64_t>(spanned);
    }
    how = "the live heap grew ~" + Mib(per_test) + " per test over " + std::to_string(spanned) + " tests (" +
          Mib(slots.front().hi) + " -> " + Mib(slots.back().hi) + ") and was never released";
  }
  if (profile_says) {
    lines.Add("at the last profile, " + Mib(kept.bytes) + " is still held by what " + JoinNames(kept.tests, 8) +
              " allocated, after they ended");
    if (!pattern) {
      per_test = kept.bytes / kept.tests.size();
      how = Mib(kept.bytes) + " allocated by " + std::to_string(kept.tests.size()) +
            " tests that had ended is still in use (~" + Mib(per_test) + " per test)";
    }
  }
  const AllocationSite* site = QuoteSite(s, AllocationOrigin::kTest);
  std::string summary = "leak: " + how;
  if (site != nullptr) {
    summary += "; the last profile holds " + Mib(HeldAt(s, *site)) + " in " + SiteText(*site);
    if (pattern && profile_says) summary += ", allocated by " + JoinNames(kept.tests, 3) + ", which had ended";
  }
  if (f.killed && !f.running_leaves.empty()) summary += "; killed during " + JoinNames(f.running_leaves);
  summary += "; release what the tests keep (package-level maps, caches) or reset it between tests";
  Diagnosis d = Finish(f, Cause::kLeakAcrossTests, summary, lines,
                       "heap grew ~" + Mib(per_test) + " per test, never released" +
                           (site != nullptr ? " (" + ShortFunction(site->function) + ")" : std::string()));
  if (f.killed && per_test > 0 && f.peak) {
    bool assumed = false;
    const int remaining = RemainingTests(f, assumed);
    d.finding.memory = *f.peak + per_test * static_cast<std::uint64_t>(remaining);
    Append(d, "projected need " + Mib(*d.finding.memory) + ": " + Mib(*f.peak) + " at the kill plus " + Mib(per_test) +
                  " for each of " + std::to_string(remaining) + " more tests" +
                  (assumed ? " (assumed: as many again as had started)" : ""));
  }
  return d;
}

// ---- 6. ParallelSpike ----

std::optional<Diagnosis> TrySpike(const Facts& f) {
  const PackageSignals& s = f.s;
  if (!f.limit) return std::nullopt;
  std::vector<std::string> running = f.running_leaves;
  int n = static_cast<int>(running.size());
  if (!f.killed) {
    // A package that passed: the most tests seen running at once.
    n = 0;
    for (const LiveObservation& o : f.live) n = std::max(n, o.progress.running_leaves);
    for (const HeapSample& h : s.heap) n = std::max(n, h.progress.running_leaves);
    running.clear();
  }
  if (n < kMinSpikeTests) return std::nullopt;

  // Each running test's share, where the last profile tells it. The profile lags the
  // kill by a GC or two, so it may show fewer of the running tests than ran.
  std::set<std::string> tops;
  for (const std::string& t : running) tops.insert(TopLevel(t));
  std::uint64_t largest = 0;
  int holders = 0;
  if (s.inuse) {
    for (const InuseByTest& t : s.inuse->by_test) {
      if (!tops.empty() && !tops.contains(t.test)) continue;
      largest = std::max(largest, t.bytes);
      if (t.bytes >= kMinPerTestBytes) ++holders;
    }
  }
  const std::uint64_t whole = f.peak ? *f.peak : *f.limit;
  if (static_cast<double>(largest) >= kDominantShare * static_cast<double>(whole)) {
    return std::nullopt;  // one test holds most of it: a large test
  }
  std::uint64_t baseline = 0;
  for (const LiveObservation& o : f.live) {
    if (o.progress.started == 0) baseline = std::max(baseline, o.live);
  }
  if (s.inuse) baseline = std::max(baseline, s.inuse->init);
  std::uint64_t per_test = whole > baseline ? (whole - baseline) / static_cast<std::uint64_t>(n) : 0;
  std::string per_test_from =
      (f.peak ? std::string("the peak") : std::string("the limit")) + " shared among the tests running";
  if (largest >= kMinPerTestBytes && largest >= per_test) {
    per_test = largest;
    per_test_from = "the most a running test held at the last profile, " + std::to_string(holders) + " of them shown";
  }
  if (per_test == 0) return std::nullopt;

  const double factor = s.gomemlimit_bytes ? 1.0 : kGcGrowthFactor;
  const auto cost = static_cast<std::uint64_t>(std::min(factor * static_cast<double>(per_test), 1e18));
  const double usable = kUsableFraction * static_cast<double>(*f.limit) - static_cast<double>(baseline);
  // Capped before the cast: a tiny per-test figure must not overflow an int.
  const int fits =
      usable > 0 && cost > 0 ? static_cast<int>(std::min(std::floor(usable / static_cast<double>(cost)), 1e6)) : 0;
  const int proposed = std::max(1, std::min(n / 2, fits));

  Lines lines;
  lines.Add(std::to_string(n) + " tests running at once" +
            (running.empty() ? std::string(" at the most") : ": " + JoinNames(running, 8)));
  lines.Add("per test ~" + Mib(per_test) + " live (" + per_test_from + "); up to ~" + Mib(cost) +
            " each with the GC's headroom" + (s.gomemlimit_bytes ? " (GOMEMLIMIT set)" : " (GOGC=100)"));
  if (baseline > 0) lines.Add("held outside the tests: ~" + Mib(baseline));
  lines.Add("-parallel " + std::to_string(proposed) + " fits " + Percent(kUsableFraction) +
            " of the limit by that estimate (" + std::to_string(fits) + " tests would)");
  const AllocationSite* site = QuoteSite(s, AllocationOrigin::kTest);
  std::string summary = "parallel spike: " + std::to_string(n) + " t.Parallel tests ran at once" +
                        (f.killed ? " when the binary was killed" : " at its peak") + ", each holding ~" +
                        Mib(per_test);
  if (site != nullptr) summary += " (" + SiteText(*site) + ")";
  summary += "; together ~" + Mib(baseline + cost * static_cast<std::uint64_t>(n)) +
             " with the GC's headroom against a " + Mib(*f.limit) + " limit; run them at -parallel " +
             std::to_string(proposed);
  Diagnosis d = Finish(f, Cause::kParallelSpike, summary, lines,
                       std::to_string(n) + " tests at once, ~" + Mib(per_test) + " each");
  d.finding.parallel = proposed;
  d.finding.memory = baseline + cost * static_cast<std::uint64_t>(n);
  return d;
}

// ---- 7. GCHeadroom ----

std::optional<Diagnosis> TryGcHeadroom(const Facts& f) {
  const PackageSignals& s = f.s;
  if (!f.limit || s.gc.empty()) return std::nullopt;
  const double limit = static_cast<double>(*f.limit);
  if (s.gomemlimit_bytes && static_cast<double>(*s.gomemlimit_bytes) < limit) return std::nullopt;  // it did not help
  const GcSample& g = s.gc.back();
  if (static_cast<double>(g.live) > kLiveFitsFraction * limit) return std::nullopt;
  std::uint64_t goal = 2 * g.live;
  std::string goal_from = "twice the live heap (GOGC=100)";
  for (const HeapSample& h : s.heap) {
    if (g.unix_ms && h.unix_ms >= *g.unix_ms && h.next_gc > 0) {
      goal = h.next_gc;
      goal_from = "next_gc of the snapshot after it";
    }
  }
  if (static_cast<double>(goal) < kGoalOverFraction * limit) return std::nullopt;
  const GcSample* churned = nullptr;
  for (std::size_t i = 0; i < s.gc.size() && i < kGarbageLookback; ++i) {
    const GcSample& c = s.gc[s.gc.size() - 1 - i];
    if (c.heap_start > c.live &&
        static_cast<double>(c.heap_start - c.live) >= kMinGarbageShare * static_cast<double>(c.heap_start)) {
      churned = &c;
      break;
    }
  }

  // With other binaries in the container, "the live heap fits the limit" is not known
  // (they held part of it), and a large live heap that stopped growing reads the same
  // as one the GC would collect: only a GC that freed garbage says churn.
  if (f.shared && churned == nullptr) return std::nullopt;

  Lines lines;
  lines.Add("last GC (#" + std::to_string(g.number) + " at " + Seconds(g.seconds) + "): " + Mib(g.heap_start) + " -> " +
            Mib(g.heap_end) + ", " + Mib(g.live) + " live = " + Percent(static_cast<double>(g.live) / limit) +
            " of the limit");
  lines.Add("GC goal after it: " + Mib(goal) + " (" + goal_from + ") = " + Percent(static_cast<double>(goal) / limit) +
            " of the limit");
  if (churned != nullptr) {
    lines.Add("GC #" + std::to_string(churned->number) + " freed " + Mib(churned->heap_start - churned->live) + " of " +
              Mib(churned->heap_start) + ": the heap churns");
  } else {
    // Either the churn had not reached a GC yet, or the live heap is still growing
    // (a large test): a kill with GOMEMLIMIT set tells them apart (it is not named
    // GCHeadroom again).
    lines.Add("none of the last GCs freed " + Percent(kMinGarbageShare) +
              " of the heap: the live heap may still have been growing; if the kill recurs under GOMEMLIMIT, the test "
              "needs the memory");
  }
  const AllocationSite* site = QuoteSite(s, std::nullopt);
  std::string summary = "GC headroom: the live heap was " + Mib(g.live) + ", under the " + Mib(*f.limit) +
                        " limit, but the GC let the heap grow towards its " + Mib(goal) + " goal before collecting";
  if (site != nullptr) summary += " (live memory mostly in " + SiteText(*site) + ")";
  summary += "; a GOMEMLIMIT under the limit makes the GC collect sooner";
  return Finish(f, Cause::kGcHeadroom, summary, lines,
                "live " + Mib(g.live) + " fits, GC goal " + Mib(goal) + " does not");
}

// ---- 8. LargeTest ----

std::optional<Diagnosis> TryLargeTest(const Facts& f) {
  const PackageSignals& s = f.s;
  // The test: the one running at the kill, or at a near-limit pass the one with the
  // most heap seen.
  int index = -1;
  if (f.killed) {
    if (f.running_leaves.size() > 1) {
      // Several ran, but one held nearly everything (TrySpike declined).
      if (!s.inuse || s.inuse->by_test.empty()) return std::nullopt;
      const std::string& top = s.inuse->by_test.front().test;
      for (std::size_t i = 0; i < s.tests.size(); ++i) {
        if (TopLevel(s.tests[i].name) == top) index = static_cast<int>(i);
      }
    } else if (f.running_leaves.size() == 1) {
      for (std::size_t i = 0; i < s.tests.size(); ++i) {
        if (s.tests[i].name == f.running_leaves.front()) index = static_cast<int>(i);
      }
    }
  } else {
    std::uint64_t most = 0;
    for (const LiveObservation& o : f.live) {
      if (o.progress.test >= 0 && static_cast<std::size_t>(o.progress.test) < s.tests.size() && o.live > most) {
        most = o.live;
        index = o.progress.test;
      }
    }
  }
  if (index < 0) return std::nullopt;
  const std::string& name = s.tests[static_cast<std::size_t>(index)].name;

  // What the tests before it left, and what it reached.
  std::optional<std::uint64_t> before;
  for (const LiveObservation& o : f.live) {
    if (o.progress.started <= index && o.progress.test != index) before = o.live;
  }
  // No GC before it: the heap had not reached the runtime's first goal.
  const bool below_first_goal = !before && (f.live_from_gc || (s.gctrace_recorded && s.gc.empty()));
  if (below_first_goal) before = 0;
  const std::string before_text = below_first_goal ? "under " + Mib(kFirstGcGoal) : before ? Mib(*before) : "unknown";
  std::optional<std::uint64_t> in_test;
  for (const GcSample& g : s.gc) {
    if (g.progress.test == index) in_test = std::max({in_test.value_or(0), g.heap_start, g.heap_end, g.live});
  }
  for (const HeapSample& h : s.heap) {
    if (h.progress.test == index) in_test = std::max(in_test.value_or(0), h.heap_alloc);
  }
  if (s.inuse) {
    for (const InuseByTest& t : s.inuse->by_test) {
      if (t.test == TopLevel(name)) in_test = std::max(in_test.value_or(0), t.bytes);
    }
  }
  Lines lines;
  const std::uint64_t base = before.value_or(0);
  bool large = false;
  if (in_test && *in_test >= base + kMinJump) {
    large = true;
    lines.Add("heap before " + name + ": " + before_text + "; in it: up to " + Mib(*in_test));
  } else if (!in_test && f.killed && before && f.limit &&
             static_cast<double>(*before) <= kSmallBeforeFraction * static_cast<double>(*f.limit)) {
    large = true;
    lines.Add("heap before " + name + ": " + before_text + "; nothing was seen inside it before the kill");
  }
  if (!large) return std::nullopt;
  if (!f.killed && !f.near_limit()) return std::nullopt;
  const AllocationSite* site = QuoteSite(s, AllocationOrigin::kTest, TopLevel(name));
  std::string summary = "large test: " + name + " alone took the heap from " + before_text + " to " +
                        (in_test ? Mib(*in_test) : "the limit") + ", with no growth carried across the tests before it";
  if (site != nullptr) summary += "; " + SiteText(*site) + " holds " + Mib(HeldAt(s, *site));
  summary +=
      in_test ? "; it needs ~" + Mib(*in_test + kRuntimeOverhead) : std::string("; it needs more than the limit");
  Diagnosis d = Finish(
      f, Cause::kLargeTest, summary, lines,
      name + " alone needs " + (in_test ? "~" + Mib(*in_test + kRuntimeOverhead) : std::string("more than the limit")));
  if (in_test) d.finding.memory = *in_test + kRuntimeOverhead;
  return d;
}

// ---- 9. Unknown ----

Diagnosis MakeUnknown(const Facts& f) {
  const PackageSignals& s = f.s;
  std::vector<std::string> missing;
  if (s.heap.empty())
    missing.push_back("no heap snapshot (the binary ended before the first interval, or snapshots were off)");
  if (!s.gctrace_recorded) missing.push_back("no GC trace");
  if (s.inuse_sites.empty() && !s.heap.empty()) missing.push_back("no readable heap profile");
  if (!s.max_rss_bytes) missing.push_back("no exec record (the binary's max RSS)");
  if (s.tests.empty()) missing.push_back("no test events for the package");
  if (!f.limit) missing.push_back("no memory limit");
  Lines lines;
  std::string summary =
      std::string("unknown: ") + (f.killed ? "the test binary was killed" : "the package came close to its limit");
  if (f.killed && !f.running_leaves.empty()) summary += " during " + JoinNames(f.running_leaves);
  if (f.peak && f.limit) summary += " at " + Mib(*f.peak) + " of " + Mib(*f.limit);
  if (missing.empty()) {
    summary +=
        "; the evidence fits no known pattern (no growth across tests, no spike, the live heap never fit with the GC "
        "goal over)";
  } else {
    summary += "; not enough evidence to name a cause: " + missing.front();
  }
  Diagnosis d = Finish(f, Cause::kUnknown, summary, lines, "no cause fits the evidence");
  for (std::size_t i = 0; i < missing.size(); ++i) d.missing += (i > 0 ? "; " : "") + missing[i];
  if (d.missing.empty()) d.missing = "nothing the classifier reads was missing; the pattern is not one it knows";
  return d;
}

}  // namespace

std::optional<Diagnosis> Classify(const PackageSignals& signals) {
  const Facts f = Gather(signals);
  if (std::optional<Diagnosis> d = TryBuild(f)) return d;
  if (f.killed) {
    for (auto rule : {TryNative, TryInit, TryGoroutineLeak, TryLeak, TrySpike, TryGcHeadroom, TryLargeTest}) {
      if (std::optional<Diagnosis> d = rule(f)) return d;
    }
    return MakeUnknown(f);
  }
  // Not killed: a clear pattern across tests is worth naming whatever the limit;
  // anything else only when the package came close to its limit.
  for (auto rule : {TryGoroutineLeak, TryLeak}) {
    if (std::optional<Diagnosis> d = rule(f)) return d;
  }
  if (!f.near_limit()) return std::nullopt;
  for (auto rule : {TryNative, TryInit, TrySpike, TryGcHeadroom, TryLargeTest}) {
    if (std::optional<Diagnosis> d = rule(f)) return d;
  }
  return MakeUnknown(f);
}

}  // namespace gotestrun::cause
