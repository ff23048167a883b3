#include "core/policy/retry.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <utility>

#include "core/policy/sizing.h"

namespace gotestrun::policy {
namespace {

// The knobs of one shard attempt that the policy turns.
struct Knobs {
  Bytes memory = 0;
  std::optional<int> parallel;
  std::optional<int> p;
  std::optional<Bytes> gomemlimit;
};

Knobs KnobsOf(const ShardPlan& plan) { return {plan.memory, plan.parallel, plan.p, plan.gomemlimit}; }

std::string DescribeKnobs(const Knobs& knobs) {
  std::string out = FormatMemoryQuantity(knobs.memory);
  if (knobs.parallel) out += " -parallel " + std::to_string(*knobs.parallel);
  if (knobs.p) out += " -p " + std::to_string(*knobs.p);
  if (knobs.gomemlimit) out += " GOMEMLIMIT=" + FormatGoMemLimit(*knobs.gomemlimit);
  return out;
}

// A changed set of knobs and what changed, for the reason.
struct Change {
  Knobs knobs;
  std::string what;
};

// A shard to start.
struct Successor {
  std::vector<std::string> packages;
  Knobs knobs;
  std::string reason;
};

// One way to go on from a finished attempt.
struct Option {
  std::vector<Successor> successors;
  std::vector<PackageVerdict> verdicts;
  std::set<std::string, std::less<>> charged;  // packages this attempt counts for
};

bool IsKilled(PackageResult result) {
  return result == PackageResult::kKilled || result == PackageResult::kBuildKilled;
}

Cause EffectiveCause(const PackageOutcome& outcome) {
  if (outcome.finding && outcome.finding->cause != Cause::kUnknown) return outcome.finding->cause;
  if (outcome.result == PackageResult::kBuildKilled || outcome.phase == Phase::kCompile ||
      outcome.phase == Phase::kLink) {
    return Cause::kBuildMemory;
  }
  if (outcome.phase == Phase::kInit) return Cause::kInitMemory;
  return Cause::kUnknown;
}

// "OOM kill during TestBig (LargeTest)".
std::string KillPhrase(const PackageOutcome& outcome, Cause cause) {
  std::string out = "OOM kill";
  if (!outcome.test_at_kill.empty()) {
    out += " during " + outcome.test_at_kill;
  } else {
    switch (outcome.phase) {
      case Phase::kCompile: out += " while compiling"; break;
      case Phase::kLink: out += " while linking"; break;
      case Phase::kInit: out += " in init"; break;
      case Phase::kTestRun: out += " while testing"; break;
      case Phase::kUnknown: break;
    }
  }
  if (cause != Cause::kUnknown) out += " (" + std::string(CauseName(cause)) + ")";
  return out;
}

// What the shard's knobs make of go's defaults: how many binaries run at once.
int BinariesAtOnce(const RunPolicy& policy, const Knobs& knobs, std::size_t packages) {
  int n = static_cast<int>(std::max<std::size_t>(packages, 1));
  if (knobs.p) return std::min(n, *knobs.p);
  if (std::optional<int> procs = GoMaxProcs(policy.cpu_millis)) return std::min(n, *procs);
  return n;
}

// Keeps GOMEMLIMIT in step with a changed limit or -p, if it was set.
void RefreshGoMemLimit(const RunPolicy& policy, Knobs& knobs, std::size_t packages, std::string& what) {
  if (!knobs.gomemlimit) return;
  Bytes updated = GoMemLimitFor(knobs.memory, BinariesAtOnce(policy, knobs, packages));
  if (updated == *knobs.gomemlimit) return;
  what += "; GOMEMLIMIT " + FormatGoMemLimit(*knobs.gomemlimit) + " -> " + FormatGoMemLimit(updated);
  knobs.gomemlimit = updated;
}

// Halves a concurrency knob. The base is the lower of what was configured and what
// was seen running at the kill (halving 16 when 6 ran would change nothing), else
// GOMAXPROCS from the CPU limit; a proposal from the diagnosis below the base wins.
std::optional<int> Halved(std::optional<int> configured, int observed, std::optional<int> proposed,
                          const RunPolicy& policy) {
  std::optional<int> base = configured;
  if (observed > 0) base = base ? std::min(*base, observed) : observed;
  if (!base) base = GoMaxProcs(policy.cpu_millis);
  if (!base || *base <= 1) return std::nullopt;
  if (proposed && *proposed >= 1 && *proposed < *base) return *proposed;
  return std::max(1, *base / 2);
}

std::optional<Change> LowerParallel(const RunPolicy& policy, const Knobs& knobs, const PackageOutcome& outcome) {
  std::optional<int> proposed;
  if (outcome.finding) proposed = outcome.finding->parallel;
  std::optional<int> next = Halved(knobs.parallel, outcome.tests_at_kill, proposed, policy);
  if (!next) return std::nullopt;
  Change change{knobs, {}};
  change.knobs.parallel = *next;
  change.what = knobs.parallel ? "-parallel " + std::to_string(*knobs.parallel) + " -> " + std::to_string(*next)
                               : "-parallel " + std::to_string(*next) + " (was go's default)";
  if (outcome.tests_at_kill > 0) {
    change.what += " (" + std::to_string(outcome.tests_at_kill) + " tests running at the kill)";
  }
  return change;
}

std::optional<Change> LowerP(const RunPolicy& policy, const Knobs& knobs, int binaries_at_kill,
                             std::optional<int> proposed, std::size_t packages) {
  std::optional<int> next = Halved(knobs.p, binaries_at_kill, proposed, policy);
  if (!next) return std::nullopt;
  Change change{knobs, {}};
  change.knobs.p = *next;
  change.what = knobs.p ? "-p " + std::to_string(*knobs.p) + " -> " + std::to_string(*next)
                        : "-p " + std::to_string(*next) + " (was go's default)";
  if (binaries_at_kill > 0) {
    change.what += " (" + std::to_string(binaries_at_kill) + " binaries or build steps at once at the kill)";
  }
  RefreshGoMemLimit(policy, change.knobs, packages, change.what);
  return change;
}

std::optional<Change> SetGoMemLimit(const RunPolicy& policy, const Knobs& knobs, std::size_t packages) {
  if (!policy.allow_gomemlimit || knobs.gomemlimit) return std::nullopt;
  int at_once = BinariesAtOnce(policy, knobs, packages);
  Change change{knobs, {}};
  change.knobs.gomemlimit = GoMemLimitFor(knobs.memory, at_once);
  change.what = "GOMEMLIMIT=" + FormatGoMemLimit(*change.knobs.gomemlimit) + " (" + std::to_string(kGoMemLimitPercent) +
                "% of " + FormatMemoryQuantity(knobs.memory) + ", " + std::to_string(at_once) +
                (at_once == 1 ? " binary" : " binaries") + " at once)";
  return change;
}

// memoryBumpRatio as a fraction in thousandths, so the arithmetic stays in integers.
constexpr std::uint64_t kRatioScale = 1000;

// 1500 -> "1.5", 2000 -> "2", 1250 -> "1.25".
std::string FormatRatio(std::uint64_t thousandths) {
  std::string out = std::to_string(thousandths / kRatioScale);
  std::uint64_t fraction = thousandths % kRatioScale;
  if (fraction == 0) return out;
  std::string digits = std::to_string(kRatioScale + fraction).substr(1);
  digits.erase(digits.find_last_not_of('0') + 1);
  return out + "." + digits;
}

// VPA's rule on the observed peak (the limit when the peak is unknown or below it),
// the diagnosis's projected need and the user's floor; the largest wins.
std::optional<Change> RaiseMemory(const RunPolicy& policy, const Knobs& knobs, std::optional<Bytes> observed,
                                  std::optional<Bytes> projected, std::size_t packages, bool last,
                                  bool raised_before = false) {
  const Bytes old = knobs.memory;
  if (old >= policy.max_memory) return std::nullopt;
  const bool peak_is_basis = observed && *observed >= old;
  const Bytes basis = peak_is_basis ? *observed : old;
  const std::string basis_text = (peak_is_basis ? "peak " : "limit ") + FormatMemoryApprox(basis);

  Bytes target = Headroom(basis);
  std::string why =
      ScaleUp(basis, 6, 5) >= SaturatingAdd(basis, kMinHeadroom) ? basis_text + " x1.2" : basis_text + " + 100Mi";
  // A projection is the test binary's need from its heap or RSS; the limit also holds
  // the go command and the runtime's non-heap memory, and the projection is an
  // estimate: it may fill kGoMemLimitPercent of the limit, not all of it. (Seen: a
  // large test projected at 360 MiB from its heap profile, given 368Mi, killed again at
  // 368 MiB; it passed at a 368.3 MiB peak.)
  if (projected && ScaleUp(*projected, 100, kGoMemLimitPercent) > target) {
    target = ScaleUp(*projected, 100, kGoMemLimitPercent);
    why = "projected need " + FormatMemoryApprox(*projected) + " as " + std::to_string(kGoMemLimitPercent) +
          "% of the limit";
  }
  const auto ratio = static_cast<std::uint64_t>(std::llround(policy.memory_bump_ratio * kRatioScale));
  const Bytes by_ratio = ScaleUp(old, ratio, kRatioScale);
  if (by_ratio > target) {
    target = by_ratio;
    why = "memoryBumpRatio: " + FormatMemoryQuantity(old) + " x" + FormatRatio(ratio);
  }
  const Bytes by_step = SaturatingAdd(old, policy.min_memory_bump);
  if (by_step > target) {
    target = by_step;
    why = "minMemoryBump: " + FormatMemoryQuantity(old) + " + " + FormatMemoryApprox(policy.min_memory_bump);
  }
  Bytes next = RoundUpLimit(target);
  if (last && next < policy.max_memory) {
    next = policy.max_memory;
    why = "its last attempt gets maxMemory";
  } else if (raised_before && next < policy.max_memory) {
    // The evidence already under-estimated it once: a second estimate from the same
    // kind of evidence is no safer, and a third kill costs more than the spare memory.
    next = policy.max_memory;
    why = "memory was raised after an earlier kill and it was killed again: maxMemory rather than under-shoot twice";
  } else if (next >= policy.max_memory) {
    next = policy.max_memory;
    why += ", capped at maxMemory";
  }
  Change change{knobs, {}};
  change.knobs.memory = next;
  change.what = "memory " + FormatMemoryQuantity(old) + " -> " + FormatMemoryQuantity(next) + " (" + why + ")";
  RefreshGoMemLimit(policy, change.knobs, packages, change.what);
  return change;
}

// Everything a package went through, one attempt after another.
std::string Trail(const std::vector<PackageAttempt>& entries) {
  std::string out;
  for (const PackageAttempt& entry : entries) {
    if (!out.empty()) out += "; ";
    out += AttemptLabel(entry.shard, entry.attempt) + " " +
           DescribeKnobs({entry.memory, entry.parallel, entry.p, entry.gomemlimit}) + ": " +
           std::string(PackageResultName(entry.result));
    std::string detail;
    if (IsKilled(entry.result) && entry.phase != Phase::kUnknown) detail = std::string(PhaseName(entry.phase));
    if (entry.peak) detail += (detail.empty() ? "" : ", ") + std::string("peak ") + FormatMemoryApprox(*entry.peak);
    if (!detail.empty()) out += " (" + detail + ")";
  }
  return out;
}

// Reviews one finished attempt: how each of its packages ended and what follows.
class AttemptReview {
 public:
  AttemptReview(const RunPolicy& policy, const ShardPlan& plan, const AttemptOutcome& outcome, const AttemptLog& log)
      : policy_(policy), plan_(plan), outcome_(outcome), log_(log), knobs_(KnobsOf(plan)) {
    for (const std::string& package : plan.packages) {
      PackageOutcome result;
      result.package = package;
      for (const PackageOutcome& reported : outcome.packages) {
        if (reported.package == package) result = reported;
      }
      results_.push_back(std::move(result));
    }
    bool named =
        std::any_of(results_.begin(), results_.end(), [](const PackageOutcome& r) { return IsKilled(r.result); });
    std::vector<PackageOutcome*> without;
    for (PackageOutcome& r : results_) {
      if (r.result == PackageResult::kNotRun) without.push_back(&r);
    }
    // The container died and one package had no result: that package is the one.
    if (!named && outcome.container_oom_killed && without.size() == 1 && !outcome.build) {
      PackageOutcome& suspect = *without.front();
      suspect.result = PackageResult::kKilled;
      if (suspect.phase == Phase::kUnknown) suspect.phase = outcome.phase;
      if (suspect.phase == Phase::kCompile || suspect.phase == Phase::kLink) {
        suspect.result = PackageResult::kBuildKilled;
      }
      if (!suspect.peak && plan.packages.size() == 1) suspect.peak = outcome.peak;
      if (!suspect.finding) suspect.finding = outcome.finding;
    }
  }

  const ShardPlan& plan() const { return plan_; }

  // The way forward that isolates and bisects as the rules want.
  Option Preferred() const {
    if (SetupKilled()) return SetupNeed();
    if (ShardBuild()) return BuildNeed();
    Option option = Settled();
    std::vector<std::string> killed;
    std::vector<std::string> without;
    Split(killed, without);
    if (!killed.empty()) {
      for (const PackageOutcome& r : results_) {
        if (IsKilled(r.result)) ResolveKilled(r, option);
      }
      if (!without.empty()) {
        std::string who = Join(killed) + (killed.size() > 1 ? " were" : " was");
        option.successors.push_back({without, knobs_,
                                     "left without a result when " + who + " killed in " + Label() + "; limits kept (" +
                                         DescribeKnobs(knobs_) + ")"});
      }
    } else if (std::vector<std::string> running = RunningAtKill(); !running.empty() && without.size() >= 2) {
      for (const PackageOutcome& r : results_) {
        if (r.running_at_kill && r.result == PackageResult::kNotRun) IsolateSuspect(r, running.size(), option);
      }
      std::vector<std::string> rest;
      for (const std::string& package : without) {
        if (std::find(running.begin(), running.end(), package) == running.end()) rest.push_back(package);
      }
      if (!rest.empty()) {
        option.successors.push_back({rest, knobs_,
                                     "not running when " + Label() + " was OOM-killed with " + Join(running) +
                                         "; limits kept (" + DescribeKnobs(knobs_) + ")"});
      }
    } else if (outcome_.container_oom_killed && without.size() >= 2) {
      std::size_t half = (without.size() + 1) / 2;
      std::vector<std::string> first(without.begin(), without.begin() + static_cast<std::ptrdiff_t>(half));
      std::vector<std::string> second(without.begin() + static_cast<std::ptrdiff_t>(half), without.end());
      std::string why = "bisected " + Label() + " (" + std::to_string(without.size()) +
                        " packages without a result) after the container was OOM-killed and no package was named; "
                        "limits kept (" +
                        DescribeKnobs(knobs_) + "): half ";
      option.successors.push_back({first, knobs_, why + "1 of 2"});
      option.successors.push_back({second, knobs_, why + "2 of 2"});
    } else if (!without.empty()) {
      Lost(without, option);
    }
    return option;
  }

  // The whole shard retried as one, for when maxShards leaves no room to split it.
  Option Whole() const {
    if (SetupKilled()) return SetupNeed();
    if (ShardBuild()) return BuildNeed();
    Option option = Settled();
    std::vector<std::string> killed;
    std::vector<std::string> without;
    Split(killed, without);
    if (killed.empty() && !outcome_.container_oom_killed) {
      Lost(without, option);
      return option;
    }
    // Bisecting would not charge the suspects; one shard retried whole does.
    if (killed.empty()) {
      for (const std::string& package : without) option.charged.insert(package);
    }
    std::vector<std::string> members;
    std::vector<std::string> suspects = killed.empty() ? without : killed;
    if (std::vector<std::string> running = RunningAtKill(); killed.empty() && !running.empty()) suspects = running;
    for (const PackageOutcome& r : results_) {
      bool suspect = std::find(suspects.begin(), suspects.end(), r.package) != suspects.end();
      bool waiting = std::find(without.begin(), without.end(), r.package) != without.end();
      if (suspect && Spent(r.package, option)) {
        option.verdicts.push_back({r.package, Verdict::kAttemptsSpent,
                                   r.package + " was charged all " + std::to_string(policy_.max_attempts) +
                                       " attempts (maxAttempts) and still did not finish: killed in " + Label() +
                                       " beside other packages. Tried: " + Trail(Entries(r.package, option))});
        continue;
      }
      if (suspect || waiting) members.push_back(r.package);
    }
    if (members.empty()) return option;
    std::optional<Change> change;
    if (outcome_.binaries_at_kill >= 2) {
      change = LowerP(policy_, knobs_, outcome_.binaries_at_kill, std::nullopt, members.size());
    }
    if (!change) change = RaiseMemory(policy_, knobs_, outcome_.peak, std::nullopt, members.size(), false);
    std::string room = "maxShards " + std::to_string(policy_.max_shards) + " leaves no shard free to ";
    if (change) {
      option.successors.push_back({members, change->knobs,
                                   "retried whole after OOM kill in " + Label() + " (" + room +
                                       (killed.empty() ? "split it" : "isolate " + Join(killed)) + "); " +
                                       change->what});
      return option;
    }
    // At maxMemory with nothing left to turn: the suspects cannot run here.
    std::vector<std::string> rest;
    for (const std::string& package : members) {
      bool suspect = std::find(suspects.begin(), suspects.end(), package) != suspects.end();
      if (!suspect) {
        rest.push_back(package);
        continue;
      }
      option.verdicts.push_back({package, Verdict::kDoesNotFit,
                                 package + " does not fit in maxMemory " + FormatMemoryQuantity(policy_.max_memory) +
                                     ": its shard was OOM-killed at maxMemory with " +
                                     std::to_string(plan_.packages.size()) + " packages and " + room +
                                     (killed.empty() ? "split it" : "isolate it") +
                                     ". Tried: " + Trail(Entries(package, option))});
    }
    if (!rest.empty()) {
      option.successors.push_back({rest, knobs_,
                                   "left without a result when " + Label() + " was killed at maxMemory; limits kept (" +
                                       DescribeKnobs(knobs_) + ")"});
    }
    return option;
  }

  // The log entries of this attempt, as charged by `option`.
  std::vector<std::pair<std::string, PackageAttempt>> NewEntries(const Option& option) const {
    std::vector<std::pair<std::string, PackageAttempt>> entries;
    for (const PackageOutcome& r : results_) {
      PackageAttempt entry = Entry(r, option);
      for (const PackageVerdict& verdict : option.verdicts) {
        if (verdict.package == r.package) entry.verdict = verdict.verdict;
      }
      entries.emplace_back(r.package, std::move(entry));
    }
    return entries;
  }

 private:
  std::string Label() const { return AttemptLabel(plan_.index, plan_.attempt); }

  static std::string Join(const std::vector<std::string>& packages) {
    std::string out;
    for (const std::string& package : packages) out += (out.empty() ? "" : ", ") + package;
    return out;
  }

  // It was killed before at a lower limit than it has now: memory was raised for it
  // once already, and it was not enough.
  bool RaisedBefore(const std::string& package) const {
    auto it = log_.find(package);
    if (it == log_.end()) return false;
    return std::any_of(it->second.begin(), it->second.end(), [&](const PackageAttempt& entry) {
      return IsKilled(entry.result) && entry.memory < knobs_.memory;
    });
  }

  // The packages named as running when the whole container was killed.
  std::vector<std::string> RunningAtKill() const {
    std::vector<std::string> running;
    if (!outcome_.container_oom_killed) return running;
    for (const PackageOutcome& r : results_) {
      if (r.running_at_kill && r.result == PackageResult::kNotRun) running.push_back(r.package);
    }
    return running;
  }

  // Rule 3: one of several packages running at a container kill gets a shard of its
  // own, with the change its own evidence measured. A figure only counts when it asks
  // for less than the shard had (fewer tests at once) or more memory than it had: a
  // bystander's evidence asks for neither, and it is only isolated.
  void IsolateSuspect(const PackageOutcome& r, std::size_t running, Option& option) const {
    std::optional<Change> change;
    const std::optional<Finding>& finding = r.finding;
    const Cause cause = EffectiveCause(r);
    if (finding && cause == Cause::kParallelSpike && finding->parallel) change = LowerParallel(policy_, knobs_, r);
    if (!change && finding && cause == Cause::kGcHeadroom) change = SetGoMemLimit(policy_, knobs_, 1);
    if (!change && finding && finding->memory && *finding->memory > knobs_.memory) {
      const bool last = Used(r.package, option) + 1 == policy_.max_attempts;
      change = RaiseMemory(policy_, knobs_, std::nullopt, finding->memory, 1, last);
    }
    std::string what = change ? change->what
                              : "limits kept (" + DescribeKnobs(knobs_) + "): alone it has the memory " +
                                    std::to_string(running - 1) + (running == 2 ? " other binary" : " other binaries") +
                                    " held";
    std::string lead = "isolated " + r.package + ", one of " + std::to_string(running) + " packages running when " +
                       Label() + " was OOM-killed";
    if (cause != Cause::kUnknown && change) lead += " (its evidence: " + std::string(CauseName(cause)) + ")";
    option.successors.push_back({{r.package}, change ? change->knobs : knobs_, lead + "; " + what});
  }

  // Rule 2: the container died in the build with no test binary running.
  bool ShardBuild() const { return outcome_.container_oom_killed && outcome_.build && outcome_.build->steps > 0; }

  // The shard's build was killed before at a lower limit than it has now: memory was
  // raised for its build once already, and it was not enough.
  bool BuildRaisedBefore(const std::vector<std::string>& members) const {
    return std::any_of(members.begin(), members.end(), [&](const std::string& package) {
      auto it = log_.find(package);
      if (it == log_.end()) return false;
      return std::any_of(it->second.begin(), it->second.end(), [&](const PackageAttempt& entry) {
        return entry.cause == Cause::kBuildMemory && entry.memory < knobs_.memory;
      });
    });
  }

  // Rule 2: the shard goes on whole with what building it needs; nobody is charged.
  Option BuildNeed() const {
    Option option = Settled();
    std::vector<std::string> members;
    for (const PackageOutcome& r : results_) {
      if (r.result != PackageResult::kNotRun && !IsKilled(r.result)) continue;
      option.charged.erase(r.package);  // a build kill is the shard's, not a package's
      members.push_back(r.package);
    }
    if (members.empty()) return option;
    const BuildAtKill& build = *outcome_.build;
    const std::string step = std::string(build.phase == Phase::kLink ? "linking " : "compiling ") + build.package;
    std::string lead = "the build of " + Label() + " was OOM-killed (BuildMemory: " + step + ", " +
                       std::to_string(build.steps) + (build.steps == 1 ? " build step" : " build steps") +
                       " at once, no test binary running): what the shard needs to build, no package charged; ";
    std::optional<Change> change;
    // go test runs up to -p compiles at once, so its build peak is about their sum:
    // fewer at once costs no memory when one step's measured need fits several times.
    const int at_once = knobs_.p ? std::min(*knobs_.p, build.steps) : build.steps;
    if (at_once >= 2 && build.step_peak && *build.step_peak > 0) {
      const Bytes per_step = ScaleUp(*build.step_peak, 6, 5);
      const auto fit = static_cast<int>(knobs_.memory / per_step);
      if (fit >= 2 && fit < at_once) {
        change = Change{knobs_, {}};
        change->knobs.p = fit;
        change->what = "-p " + (knobs_.p ? std::to_string(*knobs_.p) : std::string("go's default")) + " -> " +
                       std::to_string(fit) + " (one build step took up to " + FormatMemoryApprox(*build.step_peak) +
                       "; x1.2, " + std::to_string(fit) + " fit in " + FormatMemoryQuantity(knobs_.memory) + ")";
      }
    }
    if (!change) {
      std::optional<Bytes> observed = build.need;
      if (outcome_.peak) observed = std::max(observed.value_or(0), *outcome_.peak);
      change = RaiseMemory(policy_, knobs_, observed, std::nullopt, members.size(), false, BuildRaisedBefore(members));
    }
    if (!change && knobs_.p.value_or(0) != 1 && build.steps >= 2) {
      change = Change{knobs_, {}};
      change->knobs.p = 1;
      change->what = "-p 1 (already at maxMemory " + FormatMemoryQuantity(policy_.max_memory) + ")";
    }
    if (change) {
      option.successors.push_back({members, change->knobs, lead + change->what});
      return option;
    }
    for (const std::string& package : members) {
      option.charged.insert(package);
      option.verdicts.push_back(
          {package, Verdict::kDoesNotFit,
           package + " does not fit in maxMemory " + FormatMemoryQuantity(policy_.max_memory) +
               ": its shard's build (" + step +
               ") was OOM-killed at maxMemory with -p 1. Tried: " + Trail(Entries(package, option))});
    }
    return option;
  }

  bool SetupKilled() const { return !outcome_.setup_killed.empty(); }

  // A step before go test was OOM-killed: no package ran, so none is charged or split
  // off; the shard goes on whole with more memory, until at maxMemory it does not fit.
  Option SetupNeed() const {
    Option option = Settled();
    std::vector<std::string> members;
    for (const PackageOutcome& r : results_) {
      if (r.result != PackageResult::kNotRun) continue;
      option.charged.erase(r.package);
      members.push_back(r.package);
    }
    if (members.empty()) return option;
    const std::string lead = "the step " + outcome_.setup_killed + " of " + Label() +
                             " was OOM-killed before go test started: what the shard needs to start, no package "
                             "charged; ";
    if (std::optional<Change> change =
            RaiseMemory(policy_, knobs_, outcome_.peak, std::nullopt, members.size(), false)) {
      option.successors.push_back({members, change->knobs, lead + change->what});
      return option;
    }
    for (const std::string& package : members) {
      option.charged.insert(package);
      option.verdicts.push_back({package, Verdict::kDoesNotFit,
                                 package + " does not fit in maxMemory " + FormatMemoryQuantity(policy_.max_memory) +
                                     ": the step " + outcome_.setup_killed + " before go test was OOM-killed at " +
                                     "maxMemory. Tried: " + Trail(Entries(package, option))});
    }
    return option;
  }

  void Split(std::vector<std::string>& killed, std::vector<std::string>& without) const {
    for (const PackageOutcome& r : results_) {
      if (IsKilled(r.result)) killed.push_back(r.package);
      if (r.result == PackageResult::kNotRun) without.push_back(r.package);
    }
  }

  PackageAttempt Entry(const PackageOutcome& r, const Option& option) const {
    PackageAttempt entry;
    entry.shard = plan_.index;
    entry.attempt = plan_.attempt;
    entry.memory = knobs_.memory;
    entry.parallel = knobs_.parallel;
    entry.p = knobs_.p;
    entry.gomemlimit = knobs_.gomemlimit;
    entry.result = r.result;
    entry.phase = r.phase;
    entry.peak = r.peak;
    entry.build_peak = r.build_peak;
    entry.cause = IsKilled(r.result) ? EffectiveCause(r) : Cause::kUnknown;
    if (ShardBuild() && r.result != PackageResult::kPassed) {
      entry.cause = Cause::kBuildMemory;
      if (entry.phase == Phase::kUnknown) entry.phase = outcome_.build->phase;
    }
    entry.counted = option.charged.count(r.package) > 0;
    return entry;
  }

  // The package's log with this attempt added.
  std::vector<PackageAttempt> Entries(const std::string& package, const Option& option) const {
    std::vector<PackageAttempt> entries;
    if (auto it = log_.find(package); it != log_.end()) entries = it->second;
    for (const PackageOutcome& r : results_) {
      if (r.package == package) entries.push_back(Entry(r, option));
    }
    return entries;
  }

  // Attempts charged to the package, this one included if it counts.
  int Used(const std::string& package, const Option& option) const {
    return CountedAttempts(log_, package) + (option.charged.count(package) > 0 ? 1 : 0);
  }

  bool Spent(const std::string& package, const Option& option) const {
    return Used(package, option) >= policy_.max_attempts;
  }

  // Verdicts for the packages that ended on their own, and the charges of every
  // package that gave a result.
  Option Settled() const {
    Option option;
    for (const PackageOutcome& r : results_) {
      if (r.result != PackageResult::kNotRun) option.charged.insert(r.package);
    }
    for (const PackageOutcome& r : results_) {
      switch (r.result) {
        case PackageResult::kPassed:
          option.verdicts.push_back({r.package, Verdict::kPassed,
                                     "passed in " + Label() + " with " + DescribeKnobs(knobs_) +
                                         (CountedAttempts(log_, r.package) > 0
                                              ? " after " + std::to_string(CountedAttempts(log_, r.package)) +
                                                    " earlier attempt(s): " + Trail(Entries(r.package, option))
                                              : std::string())});
          break;
        case PackageResult::kTestsFailed:
          option.verdicts.push_back({r.package, Verdict::kTestsFailed,
                                     "tests failed in " + Label() + " with " + DescribeKnobs(knobs_) +
                                         "; not an OOM kill, so not retried with more memory"});
          break;
        case PackageResult::kBuildFailed:
          option.verdicts.push_back(
              {r.package, Verdict::kBuildFailed, "build failed in " + Label() + "; not an OOM kill, so not retried"});
          break;
        default: break;
      }
    }
    return option;
  }

  // Rule 4: no kill, yet no result. Run again as they were, charged.
  void Lost(const std::vector<std::string>& without, Option& option) const {
    std::vector<std::string> again;
    for (const std::string& package : without) {
      option.charged.insert(package);
      if (Spent(package, option)) {
        option.verdicts.push_back(
            {package, Verdict::kAttemptsSpent,
             package + " ended without a result in all " + std::to_string(policy_.max_attempts) +
                 " attempts (maxAttempts), without an OOM kill. Tried: " + Trail(Entries(package, option))});
      } else {
        again.push_back(package);
      }
    }
    if (!again.empty()) {
      option.successors.push_back({again, knobs_,
                                   "no result for " + std::to_string(again.size()) + " package(s) in " + Label() +
                                       " and no OOM kill; run again with the same limits (" + DescribeKnobs(knobs_) +
                                       ")"});
    }
  }

  // A package the evidence names as killed: a shard of its own with one change, or
  // a verdict.
  void ResolveKilled(const PackageOutcome& r, Option& option) const {
    const bool shared = plan_.packages.size() > 1;
    const Cause cause = EffectiveCause(r);
    const std::string kill = KillPhrase(r, cause);
    const std::string lead = (shared ? "isolated " : "retry of ") + r.package + " after " + kill + "; ";
    const std::optional<Finding>& finding = r.finding;
    // The attempt after this one is its last: it gets maxMemory whatever else changes,
    // so that a need below the cap is met before the attempts run out, however slowly
    // VPA's rule would have climbed.
    const bool last = Used(r.package, option) + 1 == policy_.max_attempts;

    std::optional<Change> change;
    bool isolation_enough = false;
    if (shared && r.peak && Headroom(SaturatingAdd(*r.peak, kGoCommandOverhead)) <= knobs_.memory) {
      isolation_enough = true;
      change = Change{knobs_, "its own peak " + FormatMemoryApprox(*r.peak) + " fits " +
                                  FormatMemoryQuantity(knobs_.memory) + " alone; limits kept"};
    }
    // The attempt's peak is this package's own only when it ran alone.
    std::optional<Bytes> observed = r.peak;
    if (!observed && !shared) observed = outcome_.peak;
    std::optional<Bytes> projected;
    if (finding) projected = finding->memory;
    if (!isolation_enough) {
      switch (cause) {
        case Cause::kParallelSpike: change = LowerParallel(policy_, knobs_, r); break;
        case Cause::kGcHeadroom: change = SetGoMemLimit(policy_, knobs_, 1); break;
        case Cause::kBuildMemory:
          if (outcome_.binaries_at_kill >= 2) {
            std::optional<int> proposed;
            if (finding) proposed = finding->p;
            change = LowerP(policy_, knobs_, outcome_.binaries_at_kill, proposed, 1);
          }
          break;
        case Cause::kUnknown:
          if (r.tests_at_kill >= kManyTestsAtOnce) change = LowerParallel(policy_, knobs_, r);
          if (!change && !shared && outcome_.binaries_at_kill >= 2) {
            change = LowerP(policy_, knobs_, outcome_.binaries_at_kill, std::nullopt, 1);
          }
          break;
        default: break;
      }
      if (!change) change = RaiseMemory(policy_, knobs_, observed, projected, 1, last, RaisedBefore(r.package));
    }
    if (!change && shared) {
      // At maxMemory already: being alone is the one change left.
      change = Change{knobs_, "memory stays at maxMemory " + FormatMemoryQuantity(policy_.max_memory)};
    }
    if (!change) {
      std::string text = r.package + " does not fit in maxMemory " + FormatMemoryQuantity(policy_.max_memory) + ": " +
                         kill + " in " + Label() + ", alone in its shard at " + FormatMemoryQuantity(knobs_.memory);
      if (finding && !finding->evidence.empty()) text += "; " + finding->evidence;
      text +=
          ". Memory was the change left for it and it already had maxMemory, so as it runs now it needs more "
          "than " +
          FormatMemoryQuantity(policy_.max_memory) + ". Tried: " + Trail(Entries(r.package, option));
      option.verdicts.push_back({r.package, Verdict::kDoesNotFit, std::move(text)});
      return;
    }
    if (Spent(r.package, option)) {
      std::string text = r.package + " was OOM-killed in " + Label() + " and has used all " +
                         std::to_string(policy_.max_attempts) + " attempts (maxAttempts): " + kill;
      if (finding && !finding->evidence.empty()) text += "; " + finding->evidence;
      text += ". Tried: " + Trail(Entries(r.package, option)) + ". The next step would have been: " + change->what;
      option.verdicts.push_back({r.package, Verdict::kAttemptsSpent, std::move(text)});
      return;
    }
    if (last && change->knobs.memory < policy_.max_memory) {
      change->what += "; memory " + FormatMemoryQuantity(change->knobs.memory) + " -> " +
                      FormatMemoryQuantity(policy_.max_memory) + " (its last attempt gets maxMemory)";
      change->knobs.memory = policy_.max_memory;
      RefreshGoMemLimit(policy_, change->knobs, 1, change->what);
    }
    option.successors.push_back({{r.package}, change->knobs, lead + change->what});
  }

  const RunPolicy& policy_;
  const ShardPlan& plan_;
  const AttemptOutcome& outcome_;
  const AttemptLog& log_;
  const Knobs knobs_;
  std::vector<PackageOutcome> results_;  // in plan order, the missing ones as kNotRun
};

// How a package's run ended, from its last attempt, for the run's summary.
std::string EndOf(const RunPolicy& policy, const PackageAttempt& last);

std::string EndOf(const RunPolicy& policy, const PackageAttempt& last) {
  if (last.verdict) {
    switch (*last.verdict) {
      case Verdict::kPassed: return "passed";
      case Verdict::kTestsFailed: return "tests failed";
      case Verdict::kBuildFailed: return "build failed";
      case Verdict::kDoesNotFit: return "does not fit in maxMemory " + FormatMemoryQuantity(policy.max_memory);
      case Verdict::kAttemptsSpent: return "maxAttempts spent";
    }
  }
  // A log written without verdicts: what the last attempt says.
  return std::string(PackageResultName(last.result)) + " at " + FormatMemoryQuantity(last.memory);
}

}  // namespace

std::string_view PackageResultName(PackageResult result) {
  switch (result) {
    case PackageResult::kNotRun: return "no result";
    case PackageResult::kPassed: return "passed";
    case PackageResult::kTestsFailed: return "tests failed";
    case PackageResult::kBuildFailed: return "build failed";
    case PackageResult::kKilled: return "killed";
    case PackageResult::kBuildKilled: return "build killed";
  }
  return "unknown";
}

std::string_view PhaseName(Phase phase) {
  switch (phase) {
    case Phase::kUnknown: return "unknown";
    case Phase::kCompile: return "compile";
    case Phase::kLink: return "link";
    case Phase::kInit: return "init";
    case Phase::kTestRun: return "test-run";
  }
  return "unknown";
}

std::string_view CauseName(Cause cause) {
  switch (cause) {
    case Cause::kUnknown: return "Unknown";
    case Cause::kLeakAcrossTests: return "LeakAcrossTests";
    case Cause::kParallelSpike: return "ParallelSpike";
    case Cause::kGoroutineLeak: return "GoroutineLeak";
    case Cause::kNativeMemory: return "NativeMemory";
    case Cause::kGcHeadroom: return "GCHeadroom";
    case Cause::kLargeTest: return "LargeTest";
    case Cause::kInitMemory: return "InitMemory";
    case Cause::kBuildMemory: return "BuildMemory";
  }
  return "Unknown";
}

std::string_view VerdictName(Verdict verdict) {
  switch (verdict) {
    case Verdict::kPassed: return "Passed";
    case Verdict::kTestsFailed: return "TestsFailed";
    case Verdict::kBuildFailed: return "BuildFailed";
    case Verdict::kDoesNotFit: return "DoesNotFit";
    case Verdict::kAttemptsSpent: return "AttemptsSpent";
  }
  return "Unknown";
}

std::string_view RunStateName(RunState state) {
  switch (state) {
    case RunState::kRunning: return "Running";
    case RunState::kSucceeded: return "Succeeded";
    case RunState::kFailed: return "Failed";
  }
  return "Unknown";
}

int CountedAttempts(const AttemptLog& log, std::string_view package) {
  auto it = log.find(package);
  if (it == log.end()) return 0;
  return static_cast<int>(
      std::count_if(it->second.begin(), it->second.end(), [](const PackageAttempt& entry) { return entry.counted; }));
}

StatusOr<RetryDecision> NextAttempts(const RunPolicy& policy, std::span<const ShardPlan> shards,
                                     std::span<const AttemptOutcome> outcomes, const AttemptLog& log) {
  GTR_RETURN_IF_ERROR(ValidateRunPolicy(policy));

  std::map<int, const ShardPlan*> by_index;
  std::set<std::string, std::less<>> planned;
  int highest = -1;
  for (const ShardPlan& plan : shards) {
    if (plan.index < 0 || plan.attempt < 1) {
      return InvalidArgumentError("shard " + std::to_string(plan.index) + " attempt " + std::to_string(plan.attempt) +
                                  " is not a valid shard attempt");
    }
    if (!by_index.emplace(plan.index, &plan).second) {
      return InvalidArgumentError("shard " + std::to_string(plan.index) + " is given twice");
    }
    for (const std::string& package : plan.packages) {
      if (!planned.insert(package).second) {
        return InvalidArgumentError("package " + package + " is in two shards (or twice in one)");
      }
    }
    highest = std::max(highest, plan.index);
  }
  for (const auto& [package, entries] : log) {
    for (const PackageAttempt& entry : entries) highest = std::max(highest, entry.shard);
  }

  std::map<int, const AttemptOutcome*> finished;
  for (const AttemptOutcome& outcome : outcomes) {
    auto plan = by_index.find(outcome.shard);
    if (plan == by_index.end() || plan->second->attempt != outcome.attempt) {
      return InvalidArgumentError("outcome for " + AttemptLabel(outcome.shard, outcome.attempt) +
                                  ", which is not among the shards given");
    }
    if (!finished.emplace(outcome.shard, &outcome).second) {
      return InvalidArgumentError("two outcomes for " + AttemptLabel(outcome.shard, outcome.attempt));
    }
    std::set<std::string_view> reported;
    const std::vector<std::string>& packages = plan->second->packages;
    for (const PackageOutcome& package : outcome.packages) {
      if (std::find(packages.begin(), packages.end(), package.package) == packages.end()) {
        return InvalidArgumentError("outcome for " + AttemptLabel(outcome.shard, outcome.attempt) +
                                    " reports package " + package.package + ", which it did not plan");
      }
      if (!reported.insert(package.package).second) {
        return InvalidArgumentError("outcome for " + AttemptLabel(outcome.shard, outcome.attempt) +
                                    " reports package " + package.package + " twice");
      }
    }
    for (const std::string& package : packages) {
      auto it = log.find(package);
      if (it == log.end()) continue;
      for (const PackageAttempt& entry : it->second) {
        if (entry.result == PackageResult::kPassed) {
          return InvalidArgumentError("package " + package + " ran in " + AttemptLabel(outcome.shard, outcome.attempt) +
                                      " after it passed in " + AttemptLabel(entry.shard, entry.attempt));
        }
      }
    }
  }

  std::vector<AttemptReview> reviews;
  std::vector<Option> preferred;
  reviews.reserve(finished.size());
  for (const auto& [index, outcome] : finished) {
    reviews.emplace_back(policy, *by_index.at(index), *outcome, log);
    preferred.push_back(reviews.back().Preferred());
  }

  // Every finished shard that goes on keeps its own slot; what is left of maxShards
  // after the running shards goes to splits, lowest index first.
  const int running = static_cast<int>(shards.size() - finished.size());
  int continuing = 0;
  for (const Option& option : preferred) continuing += option.successors.empty() ? 0 : 1;
  int spare = std::max(0, policy.max_shards - running - continuing);

  RetryDecision decision;
  decision.log = log;
  int next_index = highest + 1;
  for (std::size_t i = 0; i < reviews.size(); ++i) {
    const ShardPlan& plan = reviews[i].plan();
    Option chosen = std::move(preferred[i]);
    int extra = static_cast<int>(chosen.successors.size()) - 1;
    if (extra > 0) {
      if (extra <= spare) {
        spare -= extra;
      } else {
        chosen = reviews[i].Whole();
      }
    }
    for (auto& [package, entry] : reviews[i].NewEntries(chosen)) decision.log[package].push_back(std::move(entry));
    for (PackageVerdict& verdict : chosen.verdicts) decision.verdicts.push_back(std::move(verdict));
    const bool keeps_index = chosen.successors.size() == 1;
    for (Successor& successor : chosen.successors) {
      ShardPlan next;
      next.index = keeps_index ? plan.index : next_index++;
      next.attempt = keeps_index ? plan.attempt + 1 : 1;
      next.packages = std::move(successor.packages);
      next.memory = successor.knobs.memory;
      next.parallel = successor.knobs.parallel;
      next.p = successor.knobs.p;
      next.gomemlimit = successor.knobs.gomemlimit;
      next.reason = std::move(successor.reason);
      decision.shards.push_back(std::move(next));
    }
  }
  std::sort(decision.shards.begin(), decision.shards.end(),
            [](const ShardPlan& a, const ShardPlan& b) { return a.index < b.index; });
  std::sort(decision.verdicts.begin(), decision.verdicts.end(),
            [](const PackageVerdict& a, const PackageVerdict& b) { return a.package < b.package; });

  std::size_t passed = 0;
  std::vector<std::string> failures;
  for (const auto& [package, entries] : decision.log) {
    if (entries.empty()) continue;
    if (entries.back().result == PackageResult::kPassed) {
      ++passed;
    } else {
      failures.push_back(package + " (" + EndOf(policy, entries.back()) + ")");
    }
  }
  const std::size_t total = passed + failures.size();
  if (!decision.shards.empty() || running > 0) {
    decision.state = RunState::kRunning;
    decision.summary = std::to_string(decision.shards.size()) + " shard(s) to start, " + std::to_string(running) +
                       " still running; " + std::to_string(passed) + " package(s) passed so far";
  } else if (failures.empty()) {
    decision.state = RunState::kSucceeded;
    decision.summary = "all " + std::to_string(total) + " package(s) passed";
  } else {
    decision.state = RunState::kFailed;
    decision.summary = std::to_string(failures.size()) + " of " + std::to_string(total) + " package(s) failed: ";
    for (std::size_t i = 0; i < failures.size(); ++i) decision.summary += (i == 0 ? "" : "; ") + failures[i];
  }
  return decision;
}

}  // namespace gotestrun::policy
