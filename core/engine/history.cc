#include "core/engine/history.h"

#include <algorithm>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "base/hash.h"
#include "core/policy/quantity.h"
#include "core/policy/sizing.h"

namespace gotestrun::engine {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxNameBytes = 1024;
// Largest -parallel or -p taken from a history; go test accepts more, nobody runs it.
constexpr std::uint64_t kMaxKnob = 1'000'000;

policy::Bytes Median(std::vector<policy::Bytes> v) {
  std::sort(v.begin(), v.end());
  // The lower middle: with two runs, the smaller is the baseline, so a first jump is seen.
  return v[(v.size() - 1) / 2];
}

void Trim(MemoryHistory& h) {
  for (auto& [name, p] : h.packages) {
    if (p.test_run.size() > kWindow) p.test_run.erase(p.test_run.begin(), p.test_run.end() - kWindow);
  }
  if (h.packages.size() <= kMaxPackages) return;
  std::vector<std::pair<std::string, std::string>> by_age;  // last_seen, name
  for (const auto& [name, p] : h.packages) by_age.emplace_back(p.last_seen, name);
  std::sort(by_age.begin(), by_age.end());
  for (std::size_t i = 0; i < by_age.size() - kMaxPackages; ++i) h.packages.erase(by_age[i].second);
}

// A concurrency knob as go test takes it; anything else is not a knob it passed with.
std::optional<int> DecodeKnob(const json& fit, const char* name, bool& ok) {
  if (!fit.contains(name)) return std::nullopt;
  const json& v = fit[name];
  if (!v.is_number_unsigned() || v.get<std::uint64_t>() < 1 || v.get<std::uint64_t>() > kMaxKnob) {
    ok = false;
    return std::nullopt;
  }
  return static_cast<int>(v.get<std::uint64_t>());
}

// nullopt unless every field makes sense: a fit that is half read would plan wrongly.
std::optional<policy::FitKnobs> DecodeFit(const json& fit) {
  if (!fit.is_object() || !fit.contains("memory") || !fit["memory"].is_number_unsigned()) return std::nullopt;
  policy::FitKnobs out;
  out.memory = fit["memory"].get<policy::Bytes>();
  if (out.memory == 0 || out.memory > policy::kMaxQuantityBytes) return std::nullopt;
  bool ok = true;
  out.parallel = DecodeKnob(fit, "parallel", ok);
  out.p = DecodeKnob(fit, "p", ok);
  if (fit.contains("gomemlimit")) {
    if (!fit["gomemlimit"].is_boolean()) return std::nullopt;
    out.gomemlimit = fit["gomemlimit"].get<bool>();
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<policy::ShardBuildNeed> DecodeShardBuild(const json& build) {
  std::optional<policy::FitKnobs> fit = DecodeFit(build);
  if (!fit || fit->parallel || fit->gomemlimit) return std::nullopt;
  return policy::ShardBuildNeed{fit->memory, fit->p};
}

}  // namespace

SuiteKey SuiteKeyOf(const api::GoTestRunSpec& spec) {
  std::string d;
  if (!spec.git_url.empty()) {
    d = "git " + spec.git_url;
  } else {
    d = "volume " + spec.volume_claim + (spec.volume_sub_path.empty() ? "" : "/" + spec.volume_sub_path);
  }
  d += " module " + spec.module_dir;
  if (!spec.tags.empty()) {
    std::vector<std::string> tags = spec.tags;
    std::sort(tags.begin(), tags.end());
    d += " tags";
    for (const std::string& t : tags) d += " " + t;
  }
  if (!spec.flags.empty()) {
    d += " flags";
    for (const std::string& f : spec.flags) d += " " + f;
  }
  char id[17];
  std::snprintf(id, sizeof id, "%016llx", static_cast<unsigned long long>(Fnv1a64(d)));
  return {id, d};
}

std::string EncodeHistory(const MemoryHistory& history) {
  json packages = json::object();
  for (const auto& [name, p] : history.packages) {
    json peaks = json::array();
    for (const RunPeak& r : p.test_run) peaks.push_back({{"run", r.run}, {"bytes", r.bytes}});
    json e = {{"testRun", std::move(peaks)}, {"lastSeen", p.last_seen}};
    if (p.build) e["build"] = *p.build;
    if (p.fit) {
      json fit = {{"memory", p.fit->memory}, {"gomemlimit", p.fit->gomemlimit}};
      if (p.fit->parallel) fit["parallel"] = *p.fit->parallel;
      if (p.fit->p) fit["p"] = *p.fit->p;
      e["fit"] = std::move(fit);
    }
    packages[name] = std::move(e);
  }
  json out = {{"version", 1}, {"suite", history.suite}, {"packages", std::move(packages)}};
  if (history.shard_build) {
    json build = {{"memory", history.shard_build->memory}};
    if (history.shard_build->p) build["p"] = *history.shard_build->p;
    out["shardBuild"] = std::move(build);
  }
  return out.dump();
}

StatusOr<MemoryHistory> DecodeHistory(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return InvalidArgumentError("memory history: not a JSON object");
  if (j.value("version", 0) != 1) return InvalidArgumentError("memory history: version must be 1");
  MemoryHistory h;
  if (j.contains("suite") && j["suite"].is_string()) h.suite = j["suite"].get<std::string>().substr(0, kMaxNameBytes);
  if (j.contains("shardBuild")) h.shard_build = DecodeShardBuild(j["shardBuild"]);
  if (!j.contains("packages") || !j["packages"].is_object()) return h;
  for (const auto& [name, e] : j["packages"].items()) {
    if (name.empty() || name.size() > kMaxNameBytes || !e.is_object()) continue;
    PackageHistory p;
    if (e.contains("testRun") && e["testRun"].is_array()) {
      for (const json& r : e["testRun"]) {
        if (!r.is_object() || !r.contains("bytes") || !r["bytes"].is_number_unsigned()) continue;
        std::string run = r.contains("run") && r["run"].is_string() ? r["run"].get<std::string>() : "";
        p.test_run.push_back({run.substr(0, kMaxNameBytes), r["bytes"].get<policy::Bytes>()});
      }
    }
    if (e.contains("build") && e["build"].is_number_unsigned()) p.build = e["build"].get<policy::Bytes>();
    if (e.contains("fit")) p.fit = DecodeFit(e["fit"]);
    if (e.contains("lastSeen") && e["lastSeen"].is_string())
      p.last_seen = e["lastSeen"].get<std::string>().substr(0, 64);
    if (p.test_run.empty() && !p.build && !p.fit) continue;
    h.packages.emplace(name, std::move(p));
  }
  Trim(h);
  return h;
}

policy::History PlanningHistory(const MemoryHistory& history) {
  policy::History out;
  out.shard_build = history.shard_build;
  for (const auto& [name, p] : history.packages) {
    policy::PackagePeaks peaks;
    for (const RunPeak& r : p.test_run) peaks.test_run = std::max(peaks.test_run.value_or(0), r.bytes);
    peaks.build = p.build;
    peaks.fit = p.fit;
    out.packages.emplace(name, peaks);
  }
  return out;
}

namespace {
// The entry of a shard build kill: the package did not run, the shard's build was
// killed (policy rule 2), nobody charged.
bool ShardBuildKilled(const policy::PackageAttempt& a) {
  return a.result == policy::PackageResult::kNotRun && a.cause == policy::Cause::kBuildMemory;
}
}  // namespace

RunPeaks PeaksOf(const policy::AttemptLog& log, const AttemptPeaks& attempt_peaks) {
  RunPeaks out;
  for (const auto& [name, attempts] : log) {
    // The first attempt after a shard build kill that was not one got through the build.
    for (std::size_t i = 1; i < attempts.size(); ++i) {
      if (!ShardBuildKilled(attempts[i - 1]) || ShardBuildKilled(attempts[i])) continue;
      policy::Bytes need = attempts[i].memory;
      if (auto peak = attempt_peaks.find({attempts[i].shard, attempts[i].attempt}); peak != attempt_peaks.end())
        need = std::min(need, policy::RoundUpLimit(policy::Headroom(peak->second)));
      if (!out.shard_build || out.shard_build->memory < need)
        out.shard_build = policy::ShardBuildNeed{need, attempts[i].p};
    }
    if (attempts.empty()) continue;
    const policy::PackageAttempt& last = attempts.back();
    if (last.result != policy::PackageResult::kPassed) continue;
    if (last.peak) out.test_run[name] = *last.peak;
    bool build_killed = std::any_of(attempts.begin(), attempts.end(), [](const policy::PackageAttempt& a) {
      return a.result == policy::PackageResult::kBuildKilled;
    });
    // What its own compile or link needs: the largest max RSS the -toolexec wrapper saw
    // for it (with headroom), and never more than the limit it passed under, which
    // bounds it and is all there is when no step of it was seen to end.
    if (build_killed) {
      std::optional<policy::Bytes> measured;
      for (const policy::PackageAttempt& a : attempts) {
        if (a.build_peak) measured = std::max(measured.value_or(0), *a.build_peak);
      }
      out.build[name] =
          measured ? std::min(last.memory, policy::RoundUpLimit(policy::Headroom(*measured))) : last.memory;
    }
    bool killed = std::any_of(attempts.begin(), attempts.end(), [](const policy::PackageAttempt& a) {
      return a.result == policy::PackageResult::kKilled || a.result == policy::PackageResult::kBuildKilled;
    });
    if (killed) out.fit[name] = {last.memory, last.parallel, last.p, last.gomemlimit.has_value()};
  }
  return out;
}

std::vector<Growth> FindGrowth(const MemoryHistory& history, const RunPeaks& peaks, std::string_view run,
                               int threshold_percent) {
  std::vector<Growth> out;
  for (const auto& [name, peak] : peaks.test_run) {
    auto it = history.packages.find(name);
    if (it == history.packages.end()) continue;
    std::vector<policy::Bytes> others;
    for (const RunPeak& r : it->second.test_run) {
      if (r.run != run) others.push_back(r.bytes);
    }
    if (others.empty()) continue;
    policy::Bytes baseline = Median(std::move(others));
    if (baseline == 0 || peak <= baseline) continue;
    // peak > baseline * (1 + t/100), in long double: no overflow for any byte count.
    long double ratio = static_cast<long double>(peak - baseline) * 100.0L / static_cast<long double>(baseline);
    if (ratio <= threshold_percent) continue;
    out.push_back({name, baseline, peak, static_cast<int>(std::min<long double>(ratio, 1e6L))});
  }
  return out;
}

void RecordRun(MemoryHistory& history, const RunPeaks& peaks, std::string_view run, const std::string& now) {
  if (peaks.shard_build) history.shard_build = peaks.shard_build;
  for (const auto& [name, bytes] : peaks.test_run) {
    PackageHistory& p = history.packages[name];
    std::erase_if(p.test_run, [&](const RunPeak& r) { return r.run == run; });
    p.test_run.push_back({std::string(run), bytes});
    p.last_seen = now;
  }
  for (const auto& [name, bytes] : peaks.build) {
    PackageHistory& p = history.packages[name];
    p.build = bytes;
    p.last_seen = now;
  }
  for (const auto& [name, fit] : peaks.fit) {
    PackageHistory& p = history.packages[name];
    p.fit = fit;
    p.last_seen = now;
  }
  Trim(history);
}

std::string DescribeGrowth(const std::vector<Growth>& growth) {
  std::string s = "memory growth:";
  for (std::size_t i = 0; i < growth.size(); ++i) {
    const Growth& g = growth[i];
    s += (i == 0 ? " " : ", ") + g.package + " " + policy::FormatMemoryApprox(g.baseline) + " -> " +
         policy::FormatMemoryApprox(g.peak) + " (+" + std::to_string(g.percent) + "%)";
  }
  return s;
}

}  // namespace gotestrun::engine
