#include "core/policy/plan.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <tuple>
#include <utility>

#include "core/policy/sizing.h"

namespace gotestrun::policy {
namespace {

// Largest bump ratio accepted; anything above is a typo, not a policy.
constexpr double kMaxBumpRatio = 100.0;

struct Bin {
  std::vector<std::size_t> members;  // positions in the caller's package list
  std::vector<Bytes> needs;          // needs of the members with history
  bool solo = false;                 // a package too large to share
  std::optional<FitKnobs> fit;       // a package planned the way it passed after a kill
};

// The limit for a package planned as it passed after a kill: what its peaks need with
// headroom, but never more than the limit it is known to pass under.
Bytes FitLimit(const FitKnobs& fit, Bytes need, const RunPolicy& policy) {
  Bytes estimate = std::min(RoundUpLimit(Headroom(SaturatingAdd(kGoCommandOverhead, need))), fit.memory);
  return std::clamp(estimate, policy.memory, policy.max_memory);
}

// How many test binaries (or compilers) can run at once in a shard, if known.
std::optional<int> AtOnce(const RunPolicy& policy) {
  if (policy.p) return *policy.p;
  return GoMaxProcs(policy.cpu_millis);
}

// The largest needs that can run together, largest first.
std::vector<Bytes> ConcurrentNeeds(std::vector<Bytes> needs, std::optional<int> at_once) {
  std::sort(needs.begin(), needs.end(), std::greater<>());
  if (at_once && needs.size() > static_cast<std::size_t>(*at_once)) needs.resize(static_cast<std::size_t>(*at_once));
  return needs;
}

Bytes Estimate(const std::vector<Bytes>& needs, std::optional<int> at_once) {
  Bytes sum = kGoCommandOverhead;
  for (Bytes need : ConcurrentNeeds(needs, at_once)) sum = SaturatingAdd(sum, need);
  return sum;
}

bool FitsBudget(const std::vector<Bytes>& needs, std::optional<int> at_once, const RunPolicy& policy) {
  return Headroom(Estimate(needs, at_once)) <= policy.memory;
}

Bytes LimitFor(const std::vector<Bytes>& needs, std::optional<int> at_once, const RunPolicy& policy) {
  if (needs.empty()) return policy.memory;
  Bytes room = Headroom(Estimate(needs, at_once));
  if (room <= policy.memory) return policy.memory;
  return std::min(RoundUpLimit(room), policy.max_memory);
}

std::string PlannedReason(const Bin& bin, std::span<const std::string> packages, std::optional<int> at_once,
                          const RunPolicy& policy) {
  if (bin.needs.empty()) {
    return "no memory history for its " + std::to_string(bin.members.size()) + " package(s); initial " +
           FormatMemoryQuantity(policy.memory);
  }
  std::string reason;
  if (bin.solo) {
    reason = "own shard: " + packages[bin.members.front()] + " peaked at " + FormatMemoryApprox(bin.needs.front()) +
             " in earlier runs; ";
  } else {
    reason = "from history: " + std::to_string(bin.members.size()) + " package(s), " +
             std::to_string(bin.needs.size()) + " measured, " +
             (at_once ? "up to " + std::to_string(*at_once) + " at once" : std::string("all at once")) + "; ";
  }
  Bytes estimate = Estimate(bin.needs, at_once);
  reason += "need " + FormatMemoryApprox(kGoCommandOverhead) + " (go)";
  for (Bytes need : ConcurrentNeeds(bin.needs, at_once)) reason += " + " + FormatMemoryApprox(need);
  reason += " = " + FormatMemoryApprox(estimate);
  Bytes room = Headroom(estimate);
  Bytes limit = LimitFor(bin.needs, at_once, policy);
  if (room <= policy.memory) {
    reason +=
        ", with headroom " + FormatMemoryApprox(room) + ", fits the initial " + FormatMemoryQuantity(policy.memory);
  } else if (limit == policy.max_memory && RoundUpLimit(room) > policy.max_memory) {
    reason += ", with headroom " + FormatMemoryApprox(room) + ", capped at maxMemory " +
              FormatMemoryQuantity(policy.max_memory);
  } else {
    reason += ", with headroom " + FormatMemoryApprox(room) + " -> " + FormatMemoryQuantity(limit);
  }
  return reason;
}

}  // namespace

Status ValidateRunPolicy(const RunPolicy& policy) {
  if (policy.memory == 0) return InvalidArgumentError("memory must be above 0");
  if (policy.memory > kMaxQuantityBytes) return InvalidArgumentError("memory is too large");
  if (policy.max_memory < policy.memory) {
    return InvalidArgumentError("maxMemory " + FormatMemoryQuantity(policy.max_memory) + " is below memory " +
                                FormatMemoryQuantity(policy.memory));
  }
  if (policy.max_memory > kMaxQuantityBytes) return InvalidArgumentError("maxMemory is too large");
  if (policy.cpu_millis && *policy.cpu_millis == 0) return InvalidArgumentError("cpu must be above 0 when set");
  if (policy.parallel && *policy.parallel < 1) return InvalidArgumentError("parallel must be at least 1 when set");
  if (policy.p && *policy.p < 1) return InvalidArgumentError("p must be at least 1 when set");
  if (policy.shards < 1) return InvalidArgumentError("shards must be at least 1");
  if (policy.max_shards < policy.shards) {
    return InvalidArgumentError("maxShards " + std::to_string(policy.max_shards) + " is below shards " +
                                std::to_string(policy.shards));
  }
  if (policy.max_attempts < 1) return InvalidArgumentError("maxAttempts must be at least 1");
  if (!std::isfinite(policy.memory_bump_ratio) || policy.memory_bump_ratio < 1.0 ||
      policy.memory_bump_ratio > kMaxBumpRatio) {
    return InvalidArgumentError("memoryBumpRatio must be between 1 and 100");
  }
  if (policy.min_memory_bump > kMaxQuantityBytes) return InvalidArgumentError("minMemoryBump is too large");
  return Status::Ok();
}

std::string AttemptLabel(int shard, int attempt) {
  return "s" + std::to_string(shard) + "/a" + std::to_string(attempt);
}

std::string AttemptName(std::string_view run, int shard, int attempt) {
  std::string name(run);
  name += "-s" + std::to_string(shard) + "-a" + std::to_string(attempt);
  return name;
}

namespace {

void ApplyShardBuildNeed(const ShardBuildNeed& build, const RunPolicy& policy, ShardPlan& plan) {
  std::string raised;
  const Bytes floor = std::min(build.memory, policy.max_memory);
  if (plan.memory < floor) {
    raised = FormatMemoryQuantity(plan.memory) + " -> " + FormatMemoryQuantity(floor);
    plan.memory = floor;
  }
  if (build.p && (!plan.p || *plan.p > *build.p)) {
    raised += std::string(raised.empty() ? "" : ", ") + "-p " + std::to_string(*build.p);
    plan.p = build.p;
  }
  if (raised.empty()) return;
  plan.reason += "; " + raised +
                 " for its build: a shard's build from an empty build cache was OOM-killed in an "
                 "earlier run and got through with " +
                 FormatMemoryQuantity(build.memory) + (build.p ? " -p " + std::to_string(*build.p) : std::string());
}

}  // namespace

StatusOr<std::vector<ShardPlan>> PlanShards(std::span<const std::string> packages, const RunPolicy& policy,
                                            const History& history) {
  GTR_RETURN_IF_ERROR(ValidateRunPolicy(policy));
  std::set<std::string_view> seen;
  for (const std::string& package : packages) {
    if (package.empty()) return InvalidArgumentError("empty package name");
    if (!seen.insert(package).second) return InvalidArgumentError("package " + package + " is listed twice");
  }
  if (packages.empty()) return std::vector<ShardPlan>{};

  const std::size_t wanted = std::min<std::size_t>(static_cast<std::size_t>(policy.shards), packages.size());
  const std::size_t cap = static_cast<std::size_t>(policy.max_shards);
  const std::optional<int> at_once = AtOnce(policy);

  // Known needs, largest first; ties by name so the order never depends on input order.
  std::vector<std::pair<Bytes, std::size_t>> known;
  std::vector<std::size_t> unknown;
  for (std::size_t i = 0; i < packages.size(); ++i) {
    auto it = history.packages.find(packages[i]);
    std::optional<Bytes> need;
    if (it != history.packages.end()) {
      if (it->second.test_run) need = *it->second.test_run;
      if (it->second.build) need = std::max(need.value_or(0), *it->second.build);
      // Passed after a kill with no peak measured: the limit it passed under is its need.
      if (!need && it->second.fit) need = it->second.fit->memory;
    }
    if (need) {
      known.emplace_back(*need, i);
    } else {
      unknown.push_back(i);
    }
  }
  std::sort(known.begin(), known.end(), [&](const auto& a, const auto& b) {
    if (a.first != b.first) return a.first > b.first;
    return packages[a.second] < packages[b.second];
  });

  std::vector<Bin> bins(wanted);
  auto fewest = [&](std::size_t a, std::size_t b) {
    const Bin& x = bins[a];
    const Bin& y = bins[b];
    return std::make_tuple(x.members.size(), Estimate(x.needs, at_once), a) <
           std::make_tuple(y.members.size(), Estimate(y.needs, at_once), b);
  };
  auto place = [&](std::size_t bin, std::size_t package, std::optional<Bytes> need) {
    bins[bin].members.push_back(package);
    if (need) bins[bin].needs.push_back(*need);
  };

  // A shard of its own: an empty one, or a new one while maxShards allows.
  auto empty_bin = [&]() -> std::optional<std::size_t> {
    for (std::size_t b = 0; b < bins.size(); ++b) {
      if (bins[b].members.empty()) return b;
    }
    if (bins.size() >= cap) return std::nullopt;
    bins.emplace_back();
    return bins.size() - 1;
  };

  for (const auto& [need, package] : known) {
    const std::vector<Bytes> alone = {need};
    if (const PackagePeaks& peaks = history.packages.find(packages[package])->second; peaks.fit) {
      if (std::optional<std::size_t> empty = empty_bin()) {
        bins[*empty].solo = true;
        bins[*empty].fit = peaks.fit;
        place(*empty, package, need);
        continue;
      }
    }
    if (!FitsBudget(alone, at_once, policy)) {
      // Too large to share: an empty shard, a new one, or (at maxShards) the least harm.
      if (std::optional<std::size_t> empty = empty_bin()) {
        bins[*empty].solo = true;
        place(*empty, package, need);
        continue;
      }
    } else {
      std::optional<std::size_t> best;
      for (std::size_t b = 0; b < bins.size(); ++b) {
        if (bins[b].solo) continue;
        std::vector<Bytes> with = bins[b].needs;
        with.push_back(need);
        if (!FitsBudget(with, at_once, policy)) continue;
        if (!best || fewest(b, *best)) best = b;
      }
      if (!best && bins.size() < cap) {
        bins.emplace_back();
        best = bins.size() - 1;
      }
      if (best) {
        place(*best, package, need);
        continue;
      }
    }
    // Every shard is taken and none has room: join the one whose limit grows least.
    std::size_t least = 0;
    Bytes least_growth = kMaxQuantityBytes;
    for (std::size_t b = 0; b < bins.size(); ++b) {
      std::vector<Bytes> with = bins[b].needs;
      with.push_back(need);
      Bytes growth = LimitFor(with, at_once, policy) - LimitFor(bins[b].needs, at_once, policy);
      if (growth < least_growth || (growth == least_growth && fewest(b, least))) {
        least = b;
        least_growth = growth;
      }
    }
    bins[least].solo = false;
    bins[least].fit.reset();
    place(least, package, need);
  }

  for (std::size_t package : unknown) {
    std::optional<std::size_t> best;
    for (std::size_t b = 0; b < bins.size(); ++b) {
      if (bins[b].solo) continue;
      if (!best || fewest(b, *best)) best = b;
    }
    if (!best) {
      // Every shard holds one large package: open one more if allowed, else share.
      if (bins.size() < cap) {
        bins.emplace_back();
        best = bins.size() - 1;
      } else {
        best = 0;
        for (std::size_t b = 1; b < bins.size(); ++b) {
          if (fewest(b, *best)) best = b;
        }
        bins[*best].solo = false;
        bins[*best].fit.reset();
      }
    }
    place(*best, package, std::nullopt);
  }

  std::vector<ShardPlan> plans;
  for (Bin& bin : bins) {
    if (bin.members.empty()) continue;
    std::sort(bin.members.begin(), bin.members.end());
    ShardPlan plan;
    plan.index = static_cast<int>(plans.size());
    plan.attempt = 1;
    for (std::size_t member : bin.members) plan.packages.push_back(packages[member]);
    plan.memory = LimitFor(bin.needs, at_once, policy);
    plan.parallel = policy.parallel;
    plan.p = policy.p;
    if (bin.fit && bin.members.size() == 1) {
      const FitKnobs& fit = *bin.fit;
      plan.memory = FitLimit(fit, bin.needs.front(), policy);
      // The lower of what it passed with and what the user asks for now.
      if (fit.parallel) plan.parallel = std::min(*fit.parallel, policy.parallel.value_or(*fit.parallel));
      if (fit.p) plan.p = std::min(*fit.p, policy.p.value_or(*fit.p));
      if (fit.gomemlimit && policy.allow_gomemlimit) plan.gomemlimit = GoMemLimitFor(plan.memory, 1);
      std::string knobs = FormatMemoryQuantity(fit.memory);
      if (fit.parallel) knobs += " -parallel " + std::to_string(*fit.parallel);
      if (fit.p) knobs += " -p " + std::to_string(*fit.p);
      if (fit.gomemlimit) knobs += " with GOMEMLIMIT";
      plan.reason = "own shard as it passed after an OOM kill in an earlier run (" + knobs + "); peak " +
                    FormatMemoryApprox(bin.needs.front()) + " -> " + FormatMemoryQuantity(plan.memory);
    } else if (known.empty()) {
      plan.reason = "round-robin share " + std::to_string(plan.index + 1) + " of " + std::to_string(wanted) +
                    " (no memory history); initial " + FormatMemoryQuantity(policy.memory);
    } else {
      plan.reason = PlannedReason(bin, packages, at_once, policy);
    }
    if (history.shard_build) ApplyShardBuildNeed(*history.shard_build, policy, plan);
    plans.push_back(std::move(plan));
  }
  return plans;
}

}  // namespace gotestrun::policy
