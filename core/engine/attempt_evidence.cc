#include "core/engine/attempt_evidence.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <set>

#include "core/evidence/evidence.h"
#include "base/files.h"
#include "core/diagnosis/cause/classify.h"
#include "core/diagnosis/cause/signals.h"
#include "core/diagnosis/gotest/test_stream_reader.h"
#include "core/policy/quantity.h"

namespace gotestrun::engine {
namespace {

policy::Phase PhaseOf(gotest::BuildPhase p) {
  switch (p) {
    case gotest::BuildPhase::kCompile: return policy::Phase::kCompile;
    case gotest::BuildPhase::kLink: return policy::Phase::kLink;
    default: return policy::Phase::kUnknown;
  }
}

// The innermost of the tests running at a kill: "TestA/sub" over "TestA".
std::string Innermost(const std::vector<std::string>& running) {
  std::string best;
  for (const std::string& t : running) {
    if (t.size() > best.size()) best = t;
  }
  return best;
}

// Leaf tests only: a subtest and its parents are all "running", only the leaves run code.
int LeafCount(const std::vector<std::string>& running) {
  int n = 0;
  for (const std::string& t : running) {
    bool parent = std::any_of(running.begin(), running.end(), [&](const std::string& o) {
      return o.size() > t.size() && o.compare(0, t.size() + 1, t + "/") == 0;
    });
    if (!parent) ++n;
  }
  return n;
}

// A package whose test binary was running when the whole container was killed: what
// the stream says it was doing. When go test held the package's output back, where in
// the binary the kill came is unknown.
policy::PackageOutcome RunningAtKill(const gotest::RunSummary& stream, const std::string& package) {
  policy::PackageOutcome po;
  po.package = package;
  const gotest::PackageResult* seen = stream.FindPackage(package);
  if (seen != nullptr && seen->outcome != gotest::PackageOutcome::kPass) {
    // No test seen at all is not proof of init: the stream may not have caught up
    // with the binary. Init is for the diagnosis to show (heap before the first test).
    po.phase =
        !seen->running_at_end.empty() || !seen->tests.empty() ? policy::Phase::kTestRun : policy::Phase::kUnknown;
    po.tests_at_kill = LeafCount(seen->running_at_end);
    po.test_at_kill = Innermost(seen->running_at_end);
  }
  return po;
}

// The attempt's cgroup samples (memory.tsv) and its test binaries' exec records,
// read and parsed once: the container-kill path, the build kill and the build peak
// each need them, and memory.tsv may be megabytes.
struct Samples {
  std::optional<evidence::MemoryTimeline> memory;            // nullopt: no readable memory.tsv
  std::map<std::string, evidence::ExecRecord> exec_records;  // per planned package that has a valid one
};

Samples ReadSamples(const std::string& attempt_dir, const policy::ShardPlan& plan) {
  const evidence::AttemptLayout layout(attempt_dir);
  Samples out;
  if (StatusOr<std::string> mem = ReadFileWithin(attempt_dir, layout.memory(), evidence::kMaxMemoryBytes); mem.ok())
    out.memory = evidence::ParseMemoryTimeline(*mem);
  for (const std::string& pkg : plan.packages) {
    StatusOr<std::string> text = ReadFileWithin(attempt_dir, layout.exec_record(pkg), evidence::kMaxExecRecordBytes);
    if (!text.ok()) continue;
    if (StatusOr<evidence::ExecRecord> record = evidence::DecodeExecRecord(*text); record.ok())
      out.exec_records.emplace(pkg, *std::move(record));
  }
  return out;
}

// A test binary that started into a cgroup already at least this full, and left no
// sign of memory of its own, did not fill it.
constexpr double kFullAtStartFraction = 0.9;

// Whether `package`'s test binary, the only one running at a container kill, is a
// bystander of build steps running beside it: it had left no heap snapshot and no GC
// line (its heap never reached the runtime's first 4 MiB goal, or it had not run long
// enough to say), and the cgroup was already kFullAtStartFraction of `limit` when it
// started (the exec wrapper makes heap/<pkg>/ just before; an empty folder keeps
// that time). Seen with a compile of 400+ MiB beside a binary a few milliseconds old,
// whose kill then read as the binary's native memory.
bool StartedIntoAFullCgroup(const std::string& attempt_dir, const Samples& samples, const std::string& package,
                            std::uint64_t limit) {
  if (!samples.memory || limit == 0) return false;
  const evidence::AttemptLayout layout(attempt_dir);
  std::error_code ec;
  const std::filesystem::path heap_dir = layout.heap_dir(package);
  if (!std::filesystem::is_directory(heap_dir, ec) || !std::filesystem::is_empty(heap_dir, ec) || ec) return false;
  if (std::filesystem::file_size(layout.gctrace(package), ec) > 0 && !ec) return false;
  const auto mtime = std::filesystem::last_write_time(heap_dir, ec);
  if (ec) return false;
  const std::int64_t started_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::file_clock::to_sys(mtime).time_since_epoch())
          .count();
  const std::optional<std::uint64_t> before = evidence::UsageAt(samples.memory->samples, started_ms);
  return before && static_cast<double>(*before) >= kFullAtStartFraction * static_cast<double>(limit);
}

bool BuildStepsRunning(const evidence::BuildLog& log) {
  return std::any_of(log.steps.begin(), log.steps.end(),
                     [](const evidence::BuildStep& step) { return !step.end || step.end->signal == 9; });
}

// The cgroup's peak before the first test binary started: what the build took.
std::optional<std::uint64_t> BuildPhasePeak(const Samples& samples) {
  std::optional<std::int64_t> first_test_ms;
  for (const auto& [pkg, record] : samples.exec_records) {
    if (record.start_unix_ms > 0)
      first_test_ms = std::min(first_test_ms.value_or(record.start_unix_ms), record.start_unix_ms);
  }
  if (!samples.memory) return std::nullopt;
  std::optional<std::uint64_t> peak;
  for (const evidence::MemorySample& s : samples.memory->samples) {
    if (first_test_ms && s.unix_ms >= *first_test_ms) continue;
    peak = std::max(peak.value_or(0), s.usage_bytes);
  }
  return peak;
}

bool KilledBySigkill(const Samples& samples, const std::string& package) {
  auto it = samples.exec_records.find(package);
  return it != samples.exec_records.end() && it->second.end.signal == 9;
}

// Names the cause of each kill from the package's own signals (diagnosis/cause), and
// hands the retry policy the change it calls for.
void Diagnose(const std::string& attempt_dir, const policy::ShardPlan& plan, const TestCounts& test_counts,
              AttemptFindings& ev) {
  for (policy::PackageOutcome& po : ev.outcome.packages) {
    const bool killed = po.result == policy::PackageResult::kKilled || po.result == policy::PackageResult::kBuildKilled;
    if (!killed && !po.running_at_kill) continue;
    cause::ReadOptions options;
    // A suspect's binary was SIGKILLed with its container: its signals read as a kill.
    options.result = killed ? po.result : policy::PackageResult::kKilled;
    if (po.phase != policy::Phase::kUnknown) options.phase = po.phase;
    if (auto count = test_counts.find(po.package); count != test_counts.end()) options.known_test_count = count->second;
    StatusOr<cause::PackageSignals> signals = cause::ReadPackageSignals(attempt_dir, po.package, options);
    PackageDiagnosis d{po.package, po.phase, policy::Cause::kUnknown, "", {}};
    if (!signals.ok()) {
      if (!killed) continue;
      d.summary = "unknown: the evidence of " + po.package + " could not be read: " + signals.status().message();
      ev.diagnoses.push_back(std::move(d));
      continue;
    }
    // What the plan knew and the folder may not say (a container killed before result.json).
    if (!signals->limit_bytes) signals->limit_bytes = plan.memory;
    if (!signals->parallel) signals->parallel = plan.parallel;
    if (!signals->p) signals->p = plan.p;
    if (ev.outcome.container_oom_killed) {
      signals->binaries_at_kill = static_cast<int>(ev.suspects.size());
      cause::NoteKilledAtLimit(*signals);
    }
    std::optional<cause::Diagnosis> named = cause::Classify(*signals);
    if (!named) continue;
    if (!killed) {
      // One of several running at a container kill: named only where its own figures
      // ask for a change (fewer tests at once, more memory than the shard had), so a
      // bystander is isolated without a cause pinned on it.
      const policy::Finding& f = named->finding;
      const bool calls_for_change = (named->cause == policy::Cause::kParallelSpike && f.parallel) ||
                                    named->cause == policy::Cause::kGcHeadroom || (f.memory && *f.memory > plan.memory);
      if (!calls_for_change || named->cause == policy::Cause::kUnknown) continue;
      named->summary = "one of " + std::to_string(ev.suspects.size()) +
                       " test binaries running when the container was killed; " + named->summary;
    }
    if (named->cause == policy::Cause::kInitMemory && po.phase == policy::Phase::kUnknown) {
      po.phase = policy::Phase::kInit;
      if (ev.killed_package == po.package) ev.phase = std::string(policy::PhaseName(po.phase));
    }
    po.finding = named->finding;
    d.phase = po.phase;
    d.cause = named->cause;
    d.summary = named->summary;
    d.evidence = named->evidence;
    if (!named->missing.empty()) d.evidence.push_back("missing: " + named->missing);
    ev.diagnoses.push_back(std::move(d));
  }
}

// Packages that passed but are at risk: near their limit, or with a leak pattern in
// their evidence (diagnosis/cause names one for a package that passed only when the
// pattern is clear), so the leak is found before it becomes an OOM kill.
void FindRisks(const std::string& attempt_dir, const policy::ShardPlan& plan, AttemptFindings& ev) {
  const bool alone = plan.packages.size() == 1;
  for (const policy::PackageOutcome& po : ev.outcome.packages) {
    if (po.result != policy::PackageResult::kPassed || plan.memory == 0) continue;
    // Alone, everything in the shard's cgroup was for it: the go command, its build,
    // its binary. Beside others, only its binary's own peak is its own.
    std::optional<std::uint64_t> used = po.peak;
    if (alone && ev.peak) used = std::max(used.value_or(0), *ev.peak);
    if (used && *used >= plan.memory / 100 * kNearLimitPercent) {
      const double percent = 100.0 * static_cast<double>(*used) / static_cast<double>(plan.memory);
      char figure[32];
      std::snprintf(figure, sizeof figure, "%.1f%%", percent);
      ev.at_risk.push_back({po.package, "NearLimit",
                            "passed at " + policy::FormatMemoryApprox(*used) + " of its " +
                                policy::FormatMemoryQuantity(plan.memory) + " limit (" + figure + ")" +
                                (alone ? "" : ", its test binary's own peak beside other packages") +
                                "; give it more room before it is killed"});
    }
    std::error_code ec;
    if (!std::filesystem::exists(evidence::AttemptLayout(attempt_dir).heap_dir(po.package), ec)) continue;
    cause::ReadOptions options;
    options.result = policy::PackageResult::kPassed;
    StatusOr<cause::PackageSignals> signals = cause::ReadPackageSignals(attempt_dir, po.package, options);
    if (!signals.ok()) continue;
    if (!signals->limit_bytes) signals->limit_bytes = plan.memory;
    std::optional<cause::Diagnosis> named = cause::Classify(*signals);
    if (!named) continue;
    if (named->cause == policy::Cause::kLeakAcrossTests || named->cause == policy::Cause::kGoroutineLeak) {
      ev.at_risk.push_back({po.package, std::string(policy::CauseName(named->cause)), named->summary.substr(0, 1024)});
    }
  }
}

// A stall the agent ended names its package, which result.json already shows killed;
// one the sandbox ended killed the whole tree, like a container OOM kill.
void NoteMemoryStall(const std::optional<evidence::MemoryStallRecord>& record, const ContainerEnd& end,
                     AttemptFindings& ev) {
  if (record) {
    ev.memory_stall = record;
    if (!record->package.empty()) {
      for (const policy::PackageOutcome& po : ev.outcome.packages) {
        if (po.package != record->package || po.result != policy::PackageResult::kKilled) continue;
        ev.killed_package = po.package;
        ev.running_test = po.test_at_kill;
        ev.phase = std::string(policy::PhaseName(po.phase));
      }
    }
  } else if (end.memory_stall) {
    ev.memory_stall = evidence::MemoryStallRecord{.evidence = end.stall_evidence};
  }
}

void AddStallEvidence(AttemptFindings& ev) {
  if (!ev.memory_stall) return;
  for (PackageDiagnosis& d : ev.diagnoses) {
    if (d.package != ev.killed_package && !(ev.killed_package.empty() && ev.diagnoses.size() == 1)) continue;
    d.evidence.insert(d.evidence.begin(), "stalled at the limit, not OOM-killed: " + ev.memory_stall->evidence);
    if (!ev.memory_stall->heap_profile.empty()) {
      d.evidence.push_back("heap profile at the stall's start: " + ev.memory_stall->heap_profile);
    }
  }
}

std::string StallMessage(const AttemptFindings& ev) {
  std::string m = "stalled at the limit";
  if (!ev.killed_package.empty()) {
    m += ": " + ev.killed_package + " (" + ev.phase + (ev.running_test.empty() ? "" : ", " + ev.running_test) + ")";
    for (const PackageDiagnosis& d : ev.diagnoses) {
      if (d.package == ev.killed_package) m += ": " + std::string(policy::CauseName(d.cause));
    }
  }
  m += ev.memory_stall->package.empty() ? "; the sandbox ended the process tree" : "; the agent ended its test binary";
  if (!ev.memory_stall->evidence.empty()) m += "; " + ev.memory_stall->evidence;
  return m;
}

// The Pod's deadline ended it: every package of the plan without a result, or killed
// by the deadline's SIGKILL (which looks like an OOM kill of the binary), failed by
// timing out rather than for memory. The count of them.
int TimedOut(const policy::ShardPlan& plan, AttemptFindings& ev) {
  int count = 0;
  for (const std::string& pkg : plan.packages) {
    auto it = std::find_if(ev.outcome.packages.begin(), ev.outcome.packages.end(),
                           [&](const policy::PackageOutcome& p) { return p.package == pkg; });
    if (it == ev.outcome.packages.end()) {
      policy::PackageOutcome po;
      po.package = pkg;
      it = ev.outcome.packages.insert(ev.outcome.packages.end(), std::move(po));
    } else if (it->result != policy::PackageResult::kNotRun && it->result != policy::PackageResult::kKilled &&
               it->result != policy::PackageResult::kBuildKilled) {
      continue;
    }
    it->result = policy::PackageResult::kTestsFailed;
    it->running_at_kill = false;
    ++count;
  }
  ev.killed_package.clear();
  ev.running_test.clear();
  ev.phase.clear();
  ev.suspects.clear();
  ev.outcome.binaries_at_kill = 0;
  return count;
}

// ---- build steps (build.jsonl, written by `gotestrun-agent toolexec`) ----

evidence::BuildLog ReadBuildLog(const std::string& attempt_dir) {
  const evidence::AttemptLayout layout(attempt_dir);
  // An oversized log is read up to the cap: its steps are in start order, and a step
  // past the cap was not recorded anyway.
  StatusOr<FileHead> text = ReadFileHeadWithin(attempt_dir, layout.build_log(), evidence::kMaxBuildLogBytes);
  if (!text.ok()) return {};
  return evidence::ParseBuildLog(text->text);
}

// Per planned package, the largest max RSS of its build steps that ended well.
std::map<std::string, std::uint64_t> BuildPeaks(const evidence::BuildLog& log, const std::set<std::string>& planned) {
  std::map<std::string, std::uint64_t> peaks;
  for (const evidence::BuildStep& step : log.steps) {
    if (!step.end || step.end->exit_code != 0 || step.end->max_rss_bytes == 0 || !planned.contains(step.package)) {
      continue;
    }
    std::uint64_t& peak = peaks[step.package];
    peak = std::max(peak, step.end->max_rss_bytes);
  }
  return peaks;
}

// The package's latest build step that a kill ended (or that never ended, its wrapper
// dying with it): go test names the -toolexec wrapper, not the tool, when it reports a
// step killed by a signal, so the build log says which step it was.
const evidence::BuildStep* KilledBuildStep(const evidence::BuildLog& log, const std::string& package) {
  const evidence::BuildStep* killed = nullptr;
  for (const evidence::BuildStep& step : log.steps) {
    if (step.package == package && (!step.ended() || step.end->signal == 9)) killed = &step;
  }
  return killed;
}

// The max RSS of that step, when its wrapper outlived it and saw it.
std::optional<std::uint64_t> KilledBuildPeak(const evidence::BuildLog& log, const std::string& package) {
  const evidence::BuildStep* step = KilledBuildStep(log, package);
  if (step == nullptr || !step->ended() || step->end->max_rss_bytes == 0) return std::nullopt;
  return step->end->max_rss_bytes;
}

policy::Phase PhaseOfTool(const std::string& tool) {
  return tool == "link" ? policy::Phase::kLink : policy::Phase::kCompile;
}

policy::Phase KilledBuildPhase(const evidence::BuildLog& log, const std::string& package) {
  const evidence::BuildStep* step = KilledBuildStep(log, package);
  return step == nullptr ? policy::Phase::kUnknown : PhaseOfTool(step->tool);
}

// What the shard's build needed when the container died in it (the policy's rule 2):
// the step named is the largest whose RSS is known, else the one running longest; one
// step's need is the largest max RSS of any step in the log (ended or killed); what
// the steps held together is the cgroup's peak, or their summed RSS when every one is
// known and larger.
policy::BuildAtKill ShardBuildAtKill(const evidence::BuildLog& log, const std::vector<BuildStepAtKill>& at_kill,
                                     std::optional<std::uint64_t> cgroup_peak) {
  policy::BuildAtKill build;
  build.steps = static_cast<int>(at_kill.size());
  const BuildStepAtKill* named = &at_kill.front();
  std::uint64_t sum = 0;
  bool all_known = true;
  for (const BuildStepAtKill& at : at_kill) {
    if (at.max_rss_bytes) {
      sum += *at.max_rss_bytes;
      if (!named->max_rss_bytes || *at.max_rss_bytes > *named->max_rss_bytes) named = &at;
    } else {
      all_known = false;
      if (!named->max_rss_bytes && at.start_unix_ms < named->start_unix_ms) named = &at;
    }
  }
  build.package = named->package;
  build.phase = PhaseOfTool(named->tool);
  for (const evidence::BuildStep& step : log.steps) {
    if (step.end && step.end->max_rss_bytes > 0) {
      build.step_peak = std::max<std::uint64_t>(build.step_peak.value_or(0), step.end->max_rss_bytes);
    }
  }
  if (cgroup_peak) build.need = *cgroup_peak;
  if (all_known && sum > build.need.value_or(0)) build.need = sum;
  return build;
}

// A container OOM-killed while no test binary ran: the compile and link steps that had
// started and not ended (or that a SIGKILL ended, recorded by a wrapper that outlived
// its tool) were running at the kill. One planned package among them is the package
// killed, in its build; several are each named as running at the kill, as test
// binaries are. Returns whether any planned package was named; the steps are kept in
// ev.builds_at_kill either way, for the message.
bool NameBuildStepsAtKill(const Samples& samples, const evidence::BuildLog& log, const policy::ShardPlan& plan,
                          const std::set<std::string>& settled, AttemptFindings& ev) {
  // When the kill came: the last memory sample (every ~200 ms), else the last record.
  std::optional<std::int64_t> kill_ms;
  std::optional<std::uint64_t> cgroup_peak;
  if (samples.memory) {
    for (const evidence::MemorySample& s : samples.memory->samples) {
      kill_ms = std::max(kill_ms.value_or(s.unix_ms), s.unix_ms);
      cgroup_peak = std::max(cgroup_peak.value_or(0), s.usage_bytes);
    }
  }
  for (const evidence::BuildStep& step : log.steps) {
    const std::int64_t last = step.end_unix_ms.value_or(step.start_unix_ms);
    if (!kill_ms || last > *kill_ms) kill_ms = last;
  }
  for (const evidence::BuildStep& step : log.steps) {
    const bool running = !step.end || step.end->signal == 9;
    if (!running) continue;
    BuildStepAtKill at{.tool = step.tool, .package = step.package, .start_unix_ms = step.start_unix_ms};
    const std::int64_t until = step.end_unix_ms.value_or(kill_ms.value_or(0));
    if (until >= step.start_unix_ms && step.start_unix_ms > 0) at.ran_ms = until - step.start_unix_ms;
    if (step.end && step.end->max_rss_bytes > 0) at.max_rss_bytes = step.end->max_rss_bytes;
    ev.builds_at_kill.push_back(std::move(at));
  }
  if (ev.builds_at_kill.empty()) return false;
  ev.outcome.binaries_at_kill = static_cast<int>(ev.builds_at_kill.size());
  ev.outcome.build = ShardBuildAtKill(log, ev.builds_at_kill, cgroup_peak);

  const std::set<std::string> planned(plan.packages.begin(), plan.packages.end());
  std::vector<const BuildStepAtKill*> ours;  // one per planned package, its latest step
  for (const BuildStepAtKill& at : ev.builds_at_kill) {
    if (!planned.contains(at.package) || settled.contains(at.package)) continue;
    auto same =
        std::find_if(ours.begin(), ours.end(), [&](const BuildStepAtKill* o) { return o->package == at.package; });
    if (same == ours.end()) {
      ours.push_back(&at);
    } else if (at.start_unix_ms >= (*same)->start_unix_ms) {
      *same = &at;
    }
  }
  if (ours.empty()) return false;
  if (ours.size() == 1) {
    const BuildStepAtKill& at = *ours.front();
    policy::PackageOutcome po;
    po.package = at.package;
    po.result = policy::PackageResult::kBuildKilled;
    po.phase = PhaseOfTool(at.tool);
    // Its own figure when its wrapper saw it die; else the cgroup's, when nothing
    // else was building beside it.
    if (at.max_rss_bytes) {
      po.peak = *at.max_rss_bytes;
    } else if (ev.builds_at_kill.size() == 1 && cgroup_peak) {
      po.peak = *cgroup_peak;
    }
    ev.killed_package = po.package;
    ev.phase = std::string(policy::PhaseName(po.phase));
    ev.outcome.packages.push_back(std::move(po));
    return true;
  }
  for (const BuildStepAtKill* at : ours) {
    policy::PackageOutcome po;
    po.package = at->package;
    po.result = policy::PackageResult::kNotRun;
    po.phase = PhaseOfTool(at->tool);
    po.running_at_kill = true;
    ev.suspects.push_back(po.package);
    ev.outcome.packages.push_back(std::move(po));
  }
  return true;
}

std::string Seconds(std::int64_t ms) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f s", static_cast<double>(ms) / 1000.0);
  return text;
}

std::string VerbOf(const std::string& tool) { return tool == "link" ? "linking" : "compiling"; }

// "compiling example.com/gen (started 12.3 s before the kill)"
std::string DescribeBuildAtKill(const BuildStepAtKill& at) {
  std::string out = VerbOf(at.tool) + " " + at.package;
  if (at.ran_ms) out += " (started " + Seconds(*at.ran_ms) + " before the kill)";
  return out;
}

// The message of a container killed while go test was building; empty when the
// build log named no step.
std::string BuildKillMessage(const AttemptFindings& ev, const std::string& killed_how) {
  if (ev.builds_at_kill.empty()) return "";
  std::string m = killed_how + " while ";
  if (ev.builds_at_kill.size() == 1) {
    m += DescribeBuildAtKill(ev.builds_at_kill.front());
  } else {
    m += std::to_string(ev.builds_at_kill.size()) + " build steps ran:";
    for (std::size_t i = 0; i < ev.builds_at_kill.size(); ++i) {
      m += (i == 0 ? " " : ", ") + DescribeBuildAtKill(ev.builds_at_kill[i]);
    }
  }
  for (const PackageDiagnosis& d : ev.diagnoses) {
    if (d.package == ev.killed_package) m += ": " + std::string(policy::CauseName(d.cause));
  }
  return m;
}

// The attempt's own evidence files (evidence.h) that are there but cannot be used: not
// a regular file, a link, or over the cap its reader keeps to. A missing file is no
// news (result.json is missing whenever the agent was killed), and build.jsonl is read
// up to its cap, so only its kind is checked.
std::vector<std::string> LeftOut(const std::string& attempt_dir) {
  const evidence::AttemptLayout layout(attempt_dir);
  struct Expected {
    std::string path;
    std::size_t cap;  // 0: read up to a cap, any size will do
  };
  const Expected files[] = {{layout.result(), evidence::kMaxResultBytes},
                            {layout.events(), evidence::kMaxEventsBytes},
                            {layout.memory(), evidence::kMaxMemoryBytes},
                            {layout.build_log(), 0}};
  std::vector<std::string> out;
  for (const Expected& f : files) {
    const std::string name = std::filesystem::path(f.path).filename().string();
    StatusOr<RegularFile> file = RegularFile::OpenWithin(attempt_dir, f.path);
    if (!file.ok()) {
      if (file.status().code() == StatusCode::kNotFound) continue;
      std::string why = file.status().message();
      // The folder is the attempt's: name the file, not the whole path.
      if (why.rfind(f.path, 0) == 0) why = "it" + why.substr(f.path.size());
      out.push_back(name + ": " + why);
    } else if (f.cap != 0 && file->size() > f.cap) {
      out.push_back(name + ": " + std::to_string(file->size()) + " bytes, over its cap of " +
                    policy::FormatMemoryQuantity(f.cap) + "; not read");
    }
  }
  return out;
}

}  // namespace

AttemptFindings ReadAttemptEvidence(const std::string& attempt_dir, const policy::ShardPlan& plan,
                                    const ContainerEnd& end, const TestCounts& test_counts) {
  AttemptFindings ev;
  ev.outcome.shard = plan.index;
  ev.outcome.attempt = plan.attempt;
  ev.container_oom_killed = end.oom_killed || end.killed_at_limit || end.memory_stall;
  evidence::AttemptLayout layout(attempt_dir);

  // Build steps killed by a signal are only in go test's own output.
  gotest::RunSummary stream;
  if (StatusOr<std::string> events = ReadFileWithin(attempt_dir, layout.events(), evidence::kMaxEventsBytes);
      events.ok()) {
    stream = gotest::SummarizeTestStream(*events);
  }
  std::map<std::string, const gotest::BuildFailure*> build_killed;
  for (const gotest::BuildFailure& bf : stream.build_failures) {
    if (bf.signal.empty()) continue;
    for (const std::string& p : bf.packages) build_killed[p] = &bf;
  }
  std::set<std::string> planned(plan.packages.begin(), plan.packages.end());
  const evidence::BuildLog build_log = ReadBuildLog(attempt_dir);
  ev.build_peaks = BuildPeaks(build_log, planned);
  const Samples samples = ReadSamples(attempt_dir, plan);

  StatusOr<std::string> result_text = ReadFileWithin(attempt_dir, layout.result(), evidence::kMaxResultBytes);
  StatusOr<evidence::AttemptResult> result = result_text.ok() ? evidence::DecodeAttemptResult(*result_text)
                                                              : StatusOr<evidence::AttemptResult>(result_text.status());
  if (result.ok()) {
    ev.agent_result = true;
    ev.peak = result->peak_bytes;
    for (const evidence::PackageRecord& r : result->packages) {
      if (!planned.contains(r.package)) continue;
      policy::PackageOutcome po;
      po.package = r.package;
      if (r.binary && r.binary->max_rss_bytes > 0) po.peak = r.binary->max_rss_bytes;
      switch (r.outcome) {
        case gotest::PackageOutcome::kPass:
        case gotest::PackageOutcome::kSkip: po.result = policy::PackageResult::kPassed; break;
        case gotest::PackageOutcome::kFail:
          // A binary that a SIGKILL ended is a kill whatever go test printed.
          po.result =
              r.binary && r.binary->signal == 9 ? policy::PackageResult::kKilled : policy::PackageResult::kTestsFailed;
          break;
        case gotest::PackageOutcome::kKilled:
          po.result = r.binary && r.binary->signal != 0 && r.binary->signal != 9 ? policy::PackageResult::kTestsFailed
                                                                                 : policy::PackageResult::kKilled;
          break;
        case gotest::PackageOutcome::kBuildFailed:
          if (auto k = build_killed.find(r.package); k != build_killed.end()) {
            po.result = policy::PackageResult::kBuildKilled;
            po.phase = PhaseOf(k->second->phase);
            if (po.phase == policy::Phase::kUnknown) po.phase = PhaseOf(r.build_phase);
            if (po.phase == policy::Phase::kUnknown) po.phase = KilledBuildPhase(build_log, r.package);
          } else {
            po.result = policy::PackageResult::kBuildFailed;
          }
          break;
        default: po.result = policy::PackageResult::kNotRun; break;
      }
      if (po.result == policy::PackageResult::kBuildKilled && !po.peak)
        po.peak = KilledBuildPeak(build_log, po.package);
      if (po.result == policy::PackageResult::kKilled) {
        // No test running at the kill is init only if none had started: a binary killed
        // between two tests, or after its last one (a leak across tests ends that way
        // when the next allocation is the one that does not fit), is in its test run.
        const gotest::PackageResult* seen = stream.FindPackage(r.package);
        const bool tests_started = seen != nullptr && !seen->tests.empty();
        po.phase = r.running_tests.empty() && !tests_started ? policy::Phase::kInit : policy::Phase::kTestRun;
        po.tests_at_kill = LeafCount(r.running_tests);
        po.test_at_kill = Innermost(r.running_tests);
        if (ev.killed_package.empty()) {
          ev.killed_package = po.package;
          ev.running_test = po.test_at_kill;
          ev.phase = std::string(policy::PhaseName(po.phase));
        }
      } else if (po.result == policy::PackageResult::kBuildKilled && ev.killed_package.empty()) {
        ev.killed_package = po.package;
        ev.phase = std::string(policy::PhaseName(po.phase));
      }
      ev.outcome.packages.push_back(std::move(po));
    }
  } else {
    // No result.json: the agent died with its container. What the stream saw passing
    // before the kill still passed.
    ev.outcome.container_oom_killed = ev.container_oom_killed;
    std::vector<const gotest::PackageResult*> running;
    for (const gotest::PackageResult& p : stream.packages) {
      if (!planned.contains(p.name)) continue;
      policy::PackageOutcome po;
      po.package = p.name;
      if (p.outcome == gotest::PackageOutcome::kPass || p.outcome == gotest::PackageOutcome::kSkip) {
        po.result = policy::PackageResult::kPassed;
      } else if (p.outcome == gotest::PackageOutcome::kFail && !ev.container_oom_killed) {
        po.result = policy::PackageResult::kTestsFailed;
      } else {
        if (p.outcome == gotest::PackageOutcome::kRunning || p.outcome == gotest::PackageOutcome::kNoResult) {
          running.push_back(&p);
        }
        continue;  // running at the kill: no result, unless it is the only suspect
      }
      ev.outcome.packages.push_back(std::move(po));
    }
    // Which test binaries were running when the container died: the exec wrapper
    // makes heap/<pkg>/ before it starts a binary and writes exec/<pkg>.json when it
    // ends, both on the volume, so they outlive the container. (The event stream
    // cannot say: go test holds back the output of all but one package at a time.)
    // The kernel kills the binary first; its wrapper may live long enough to record
    // the SIGKILL before the rest of the container goes, and that binary was running
    // at the kill too.
    std::set<std::string> passed_or_failed;
    for (const policy::PackageOutcome& po : ev.outcome.packages) passed_or_failed.insert(po.package);
    std::vector<std::string> suspects;
    for (const std::string& pkg : plan.packages) {
      if (passed_or_failed.contains(pkg)) continue;
      std::error_code ec;
      bool started = std::filesystem::exists(layout.heap_dir(pkg), ec);
      bool ended = std::filesystem::exists(layout.exec_record(pkg), ec);
      if (started && ended) ended = !KilledBySigkill(samples, pkg);
      if (started && !ended) suspects.push_back(pkg);
    }
    if (ev.container_oom_killed && suspects.size() == 1 && BuildStepsRunning(build_log) &&
        StartedIntoAFullCgroup(attempt_dir, samples, suspects.front(), plan.memory)) {
      suspects.clear();  // the build steps running beside it are named instead
    }
    // No test binary running: the build steps running, from the toolexec wrapper's log.
    const bool build_named = suspects.empty() && ev.container_oom_killed &&
                             NameBuildStepsAtKill(samples, build_log, plan, passed_or_failed, ev);
    if (suspects.empty() && !build_named) {
      for (const gotest::PackageResult* p : running) suspects.push_back(p->name);
    }
    if (ev.container_oom_killed && !suspects.empty()) {
      ev.outcome.binaries_at_kill = static_cast<int>(suspects.size());
    }
    if (ev.container_oom_killed && suspects.size() > 1) {
      // Each is named to the policy, which isolates them at once rather than bisecting
      // blindly, and each gets its own diagnosis (Diagnose keeps it only where its
      // figures call for a change).
      ev.suspects = suspects;
      for (const std::string& pkg : suspects) {
        policy::PackageOutcome po = RunningAtKill(stream, pkg);
        po.result = policy::PackageResult::kNotRun;
        po.running_at_kill = true;
        ev.outcome.packages.push_back(std::move(po));
      }
    }
    if (ev.container_oom_killed && suspects.size() == 1) {
      policy::PackageOutcome po = RunningAtKill(stream, suspects.front());
      po.result = policy::PackageResult::kKilled;
      ev.killed_package = po.package;
      ev.running_test = po.test_at_kill;
      ev.phase = std::string(policy::PhaseName(po.phase));
      ev.outcome.packages.push_back(std::move(po));
    }
    if (samples.memory) {
      for (const evidence::MemorySample& s : samples.memory->samples)
        ev.peak = std::max<uint64_t>(ev.peak.value_or(0), s.usage_bytes);
    }
    // Killed at the limit, the cgroup reached it, whatever the last sample (taken at an
    // interval) said: a peak of 31 MiB for a container OOM-killed at 160Mi misleads.
    if (ev.container_oom_killed && plan.memory > 0) ev.peak = std::max(ev.peak.value_or(0), plan.memory);
    if (ev.phase.empty() && ev.container_oom_killed) ev.phase = "unknown";
  }
  if (end.init_failure && end.init_failure->oom_killed && !ev.agent_result) {
    // No package ran: the shard needs more memory to start (policy/retry.h).
    ev.outcome.setup_killed = "init container " + end.init_failure->container;
    ev.phase = "unknown";  // none of the packages' phases: the message says which step
    if (plan.memory > 0) ev.peak = std::max(ev.peak.value_or(0), plan.memory);
  }
  if (ev.peak) ev.outcome.peak = *ev.peak;
  for (policy::PackageOutcome& po : ev.outcome.packages) {
    if (auto it = ev.build_peaks.find(po.package); it != ev.build_peaks.end()) po.build_peak = it->second;
  }
  ev.build_peak = BuildPhasePeak(samples);
  const int timed_out = end.deadline_exceeded && !ev.container_oom_killed ? TimedOut(plan, ev) : 0;
  NoteMemoryStall(result.ok() ? result->memory_stall : std::nullopt, end, ev);
  Diagnose(attempt_dir, plan, test_counts, ev);
  AddStallEvidence(ev);
  FindRisks(attempt_dir, plan, ev);

  int exit_code = end.exit_code.value_or(-1);
  const std::string killed_how = end.killed_at_limit
                                     ? "the process tree was killed at its memory limit (RSS watch, no cgroup)"
                                     : "the container was OOM-killed";
  if (end.init_failure && !ev.agent_result) {
    const ContainerEnd::InitFailure& init = *end.init_failure;
    const std::string how =
        init.oom_killed ? "was OOM-killed"
                        : "failed (" + (init.reason.empty() ? std::string("no reason") : init.reason) + ", exit code " +
                              (init.exit_code ? std::to_string(*init.exit_code) : std::string("unknown")) + ")";
    ev.message = "init container " + init.container + " " + how + " before go test started";
    if (!init.oom_killed) ev.message += "; its log says why (kubectl logs -c " + init.container + ")";
  } else if (ev.memory_stall) {
    ev.message = StallMessage(ev);
  } else if (end.deadline_exceeded && !ev.container_oom_killed) {
    ev.message = "the Pod was ended at its activeDeadlineSeconds; " + std::to_string(timed_out) +
                 " package(s) without a result timed out";
  } else if (ev.outcome.container_oom_killed && !ev.builds_at_kill.empty()) {
    ev.message = BuildKillMessage(ev, killed_how);
  } else if (!ev.killed_package.empty()) {
    ev.message = "OOM kill of " + ev.killed_package + " (" + ev.phase +
                 (ev.running_test.empty() ? "" : ", " + ev.running_test) + ")";
    for (const PackageDiagnosis& d : ev.diagnoses) {
      if (d.package == ev.killed_package) ev.message += ": " + std::string(policy::CauseName(d.cause));
    }
  } else if (ev.outcome.container_oom_killed && !ev.suspects.empty()) {
    ev.message = killed_how + " while " + std::to_string(ev.suspects.size()) + " test binaries ran:";
    for (const std::string& p : ev.suspects) ev.message += " " + p;
  } else if (ev.outcome.container_oom_killed) {
    ev.message = killed_how + " before any test binary was running (go test was building)";
  } else if (!ev.agent_result) {
    ev.message = "the container ended (exit code " + std::to_string(exit_code) + ") without a result from the agent";
  } else {
    ev.message = "go test exited with code " + std::to_string(result->go_test_exit_code);
  }
  if (ev.peak) ev.message += "; peak " + policy::FormatMemoryApprox(*ev.peak);
  ev.left_out = LeftOut(attempt_dir);
  if (!ev.left_out.empty()) {
    ev.message += "; evidence left out:";
    for (std::size_t i = 0; i < ev.left_out.size(); ++i) ev.message += (i == 0 ? " " : "; ") + ev.left_out[i];
  }
  return ev;
}

}  // namespace gotestrun::engine
