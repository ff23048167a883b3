#include "sandbox/memory_stall.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace gotestrun::sandbox {
namespace {

// The increase of a cumulative counter, nullopt when either side is missing.
std::optional<std::uint64_t> Delta(const std::optional<std::uint64_t>& before,
                                   const std::optional<std::uint64_t>& after) {
  if (!before || !after || *after < *before) return std::nullopt;
  return *after - *before;
}

bool WentBackwards(const std::optional<std::uint64_t>& before, const std::optional<std::uint64_t>& after) {
  return before && after && *after < *before;
}

bool CountersWentBackwards(const PressureCounters& a, const PressureCounters& b) {
  return WentBackwards(a.major_faults, b.major_faults) || WentBackwards(a.refaults, b.refaults) ||
         WentBackwards(a.fail_count, b.fail_count) || WentBackwards(a.some_stall_us, b.some_stall_us) ||
         WentBackwards(a.full_stall_us, b.full_stall_us);
}

std::optional<double> Rate(const std::optional<std::uint64_t>& before, const std::optional<std::uint64_t>& after,
                           double seconds) {
  const std::optional<std::uint64_t> d = Delta(before, after);
  if (!d || seconds <= 0) return std::nullopt;
  return static_cast<double>(*d) / seconds;
}

bool Pinned(const StallSample& s) {
  return s.limit_bytes && *s.limit_bytes > 0 &&
         static_cast<double>(s.usage_bytes) >= kPinnedFraction * static_cast<double>(*s.limit_bytes);
}

// 180000 -> "180,000".
std::string Grouped(double value) {
  const long long v = std::llround(value);
  std::string digits = std::to_string(v < 0 ? -v : v);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return v < 0 ? "-" + out : out;
}

std::string Fixed(double value, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  return buf;
}

}  // namespace

bool StallDetector::Thrashing(const StallSample& previous, const StallSample& sample) const {
  if (!Pinned(sample)) return false;
  const double seconds = static_cast<double>(sample.unix_ms - previous.unix_ms) / 1000.0;
  const PressureCounters& a = previous.counters;
  const PressureCounters& b = sample.counters;
  if (const auto r = Rate(a.refaults, b.refaults, seconds); r && *r >= kMinRefaultsPerSecond) return true;
  if (const auto r = Rate(a.major_faults, b.major_faults, seconds); r && *r >= kMinMajorFaultsPerSecond) return true;
  if (const auto r = Rate(a.some_stall_us, b.some_stall_us, seconds); r && *r / 1e6 >= kMinSomeStallShare) return true;
  return false;
}

void StallDetector::Restart() {
  run_.clear();
  last_thrashing_ms_.reset();
}

std::optional<StallFigures> StallDetector::Add(const StallSample& sample) {
  const bool comparable = previous_ && sample.unix_ms > previous_->unix_ms && sample.limit_bytes &&
                          *sample.limit_bytes > 0 && previous_->limit_bytes == sample.limit_bytes &&
                          !CountersWentBackwards(previous_->counters, sample.counters);
  if (!comparable) {
    Restart();
    previous_ = sample;
    return std::nullopt;
  }
  const bool thrashing = Thrashing(*previous_, sample);
  if (thrashing) {
    if (run_.empty()) run_.push_back(*previous_);
    last_thrashing_ms_ = sample.unix_ms;
  } else if (last_thrashing_ms_ && sample.unix_ms - *last_thrashing_ms_ > kThrashGapTolerance.count()) {
    Restart();
  }
  previous_ = sample;
  if (run_.empty()) return std::nullopt;
  run_.push_back(sample);
  if (!thrashing) return std::nullopt;

  const StallSample& base = run_.front();
  const std::int64_t since = run_[1].unix_ms;
  if (sample.unix_ms - since < after_.count()) return std::nullopt;

  StallFigures f;
  f.since_unix_ms = since;
  f.detected_unix_ms = sample.unix_ms;
  f.limit_bytes = *sample.limit_bytes;
  f.min_usage_bytes = run_[1].usage_bytes;
  for (std::size_t i = 1; i < run_.size(); ++i) {
    const StallSample& s = run_[i];
    ++f.samples;
    if (Pinned(s)) ++f.pinned_samples;
    f.min_usage_bytes = std::min(f.min_usage_bytes, s.usage_bytes);
    f.max_usage_bytes = std::max(f.max_usage_bytes, s.usage_bytes);
  }
  const double seconds = static_cast<double>(sample.unix_ms - base.unix_ms) / 1000.0;
  const PressureCounters& a = base.counters;
  const PressureCounters& b = sample.counters;
  f.refaults_per_second = Rate(a.refaults, b.refaults, seconds);
  f.major_faults_per_second = Rate(a.major_faults, b.major_faults, seconds);
  f.fail_count_per_second = Rate(a.fail_count, b.fail_count, seconds);
  if (const auto r = Rate(a.some_stall_us, b.some_stall_us, seconds)) f.some_stall_percent = *r / 1e4;
  if (const auto r = Rate(a.full_stall_us, b.full_stall_us, seconds)) f.full_stall_percent = *r / 1e4;
  f.some_avg10 = b.some_avg10;
  f.full_avg10 = b.full_avg10;
  return f;
}

std::optional<std::int64_t> StallDetector::thrashing_since() const {
  if (run_.size() < 2) return std::nullopt;
  return run_[1].unix_ms;
}

std::string DescribeStall(const StallFigures& f) {
  const auto percent = [&](std::uint64_t usage) {
    return f.limit_bytes == 0 ? 0.0 : 100.0 * static_cast<double>(usage) / static_cast<double>(f.limit_bytes);
  };
  std::string s = "at " + Fixed(std::floor(percent(f.min_usage_bytes)), 0) + "-" +
                  Fixed(std::floor(percent(f.max_usage_bytes)), 0) + "% of its " +
                  Fixed(static_cast<double>(f.limit_bytes) / (1 << 20), 1) + "Mi limit for " +
                  Fixed(static_cast<double>(f.detected_unix_ms - f.since_unix_ms) / 1000.0, 1) + " s (" +
                  std::to_string(f.pinned_samples) + " of " + std::to_string(f.samples) + " samples pinned)";
  std::string figures;
  const auto add = [&](const std::string& part) { figures += (figures.empty() ? ": " : ", ") + part; };
  if (f.some_stall_percent) add("memory pressure some " + Fixed(*f.some_stall_percent, 0) + "% of the time");
  if (f.full_stall_percent) add("full " + Fixed(*f.full_stall_percent, 0) + "%");
  if (f.some_avg10) add("some avg10 " + Fixed(*f.some_avg10, 2));
  if (f.full_avg10) add("full avg10 " + Fixed(*f.full_avg10, 2));
  if (f.refaults_per_second) add(Grouped(*f.refaults_per_second) + " refaults/s");
  if (f.major_faults_per_second) add(Grouped(*f.major_faults_per_second) + " major faults/s");
  // A v1 cgroup with a swap limit counts its hits elsewhere on some kernels: a zero
  // says nothing, so it is left out.
  if (f.fail_count_per_second && *f.fail_count_per_second >= 0.5) {
    add("limit hit " + Grouped(*f.fail_count_per_second) + " times/s");
  }
  return s + figures;
}

}  // namespace gotestrun::sandbox
