#include "kube/runtime/rate_limiter.h"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <limits>
#include <string>
#include <utility>

namespace gotestrun::runtime {

StatusOr<std::unique_ptr<ExponentialFailureRateLimiter>> ExponentialFailureRateLimiter::Create(
    Clock::duration base_delay, Clock::duration max_delay) {
  if (base_delay <= Clock::duration::zero()) {
    return InvalidArgumentError("exponential backoff: base delay must be positive");
  }
  if (max_delay < base_delay) {
    return InvalidArgumentError("exponential backoff: max delay must not be less than the base delay");
  }
  return std::unique_ptr<ExponentialFailureRateLimiter>(new ExponentialFailureRateLimiter(base_delay, max_delay));
}

Clock::duration ExponentialFailureRateLimiter::When(const std::string& key) {
  int exponent = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    int& failures = failures_[key];
    exponent = failures;
    if (failures < INT_MAX) ++failures;
  }
  // base << exponent <= max exactly when base <= max >> exponent; comparing this way
  // never overflows, however many times the key has failed.
  const auto base = base_delay_.count();
  const auto max = max_delay_.count();
  if (exponent >= std::numeric_limits<decltype(max)>::digits || base > (max >> exponent)) return max_delay_;
  return Clock::duration(base << exponent);
}

void ExponentialFailureRateLimiter::Forget(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  failures_.erase(key);
}

int ExponentialFailureRateLimiter::NumRequeues(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = failures_.find(key);
  return it == failures_.end() ? 0 : it->second;
}

StatusOr<std::unique_ptr<TokenBucketRateLimiter>> TokenBucketRateLimiter::Create(const Clock& clock, double qps,
                                                                                 int burst) {
  if (!(qps > 0) || !std::isfinite(qps)) {
    return InvalidArgumentError("token bucket: qps must be a positive number");
  }
  if (burst < 1) return InvalidArgumentError("token bucket: burst must be at least 1");
  const double interval_ns = std::round(1e9 / qps);
  // The bucket's span (burst intervals) must fit in a duration, with room to spare
  // for reservations made beyond it.
  if (interval_ns * burst > static_cast<double>(std::numeric_limits<Clock::duration::rep>::max() / 4)) {
    return InvalidArgumentError("token bucket: qps too low for the burst");
  }
  const Clock::duration interval = std::chrono::duration_cast<Clock::duration>(
      std::chrono::nanoseconds(static_cast<std::chrono::nanoseconds::rep>(interval_ns)));
  return std::unique_ptr<TokenBucketRateLimiter>(new TokenBucketRateLimiter(clock, interval, burst));
}

Clock::duration TokenBucketRateLimiter::When(const std::string& /*key*/) {
  std::lock_guard<std::mutex> lock(mu_);
  const Clock::time_point now = clock_.Now();
  // A bucket that filled up while idle holds no more than `burst` tokens: reserving
  // starts from now. Taking a token moves the full-again time one interval later.
  full_at_ = std::max(full_at_, now) + interval_;
  // The slot just reserved may start once the bucket would hold a whole token again.
  return std::max(Clock::duration::zero(), full_at_ - now - burst_span_);
}

void TokenBucketRateLimiter::Forget(const std::string& /*key*/) {}

int TokenBucketRateLimiter::NumRequeues(const std::string& /*key*/) const { return 0; }

Clock::duration MaxOfRateLimiter::When(const std::string& key) {
  Clock::duration longest = Clock::duration::zero();
  for (const auto& limiter : limiters_) longest = std::max(longest, limiter->When(key));
  return longest;
}

void MaxOfRateLimiter::Forget(const std::string& key) {
  for (const auto& limiter : limiters_) limiter->Forget(key);
}

int MaxOfRateLimiter::NumRequeues(const std::string& key) const {
  int most = 0;
  for (const auto& limiter : limiters_) most = std::max(most, limiter->NumRequeues(key));
  return most;
}

std::unique_ptr<RateLimiter> DefaultControllerRateLimiter(const Clock& clock) {
  using std::chrono::milliseconds;
  using std::chrono::seconds;
  std::vector<std::unique_ptr<RateLimiter>> parts;
  // Both sets of arguments are valid constants, so Create cannot fail here.
  parts.push_back(std::move(ExponentialFailureRateLimiter::Create(milliseconds(5), seconds(1000))).value());
  parts.push_back(std::move(TokenBucketRateLimiter::Create(clock, 10, 100)).value());
  return std::make_unique<MaxOfRateLimiter>(std::move(parts));
}

}  // namespace gotestrun::runtime
