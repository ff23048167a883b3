// How long a key should wait before it is retried. A work queue asks a RateLimiter
// every time a reconcile of a key fails (WorkQueue::AddRateLimited) and tells it when
// the key succeeded (WorkQueue::Forget).
//
// The limiters here follow client-go's: a per-key exponential backoff, an overall
// token bucket, and the maximum of several limiters. Their answers depend only on
// the calls made to them and on the injected Clock, so tests drive them with a
// ManualClock. Every limiter here is safe to call from several threads.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/clock.h"
#include "base/status.h"

namespace gotestrun::runtime {

class RateLimiter {
 public:
  virtual ~RateLimiter() = default;
  // Records one more failure of `key` and returns how long to wait before retrying it.
  virtual Clock::duration When(const std::string& key) = 0;
  // The key succeeded: its failure history is dropped.
  virtual void Forget(const std::string& key) = 0;
  // Failures recorded for `key` since it was last forgotten.
  virtual int NumRequeues(const std::string& key) const = 0;
};

// Per-key exponential backoff: base, 2*base, 4*base, ... capped at max_delay.
// Needs no clock: the answer depends only on how often the key has failed.
class ExponentialFailureRateLimiter final : public RateLimiter {
 public:
  // InvalidArgument unless 0 < base_delay <= max_delay.
  static StatusOr<std::unique_ptr<ExponentialFailureRateLimiter>> Create(Clock::duration base_delay,
                                                                         Clock::duration max_delay);

  Clock::duration When(const std::string& key) override;
  void Forget(const std::string& key) override;
  int NumRequeues(const std::string& key) const override;

 private:
  ExponentialFailureRateLimiter(Clock::duration base_delay, Clock::duration max_delay)
      : base_delay_(base_delay), max_delay_(max_delay) {}

  const Clock::duration base_delay_;
  const Clock::duration max_delay_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, int> failures_;
};

// One bucket shared by all keys: `burst` retries may start at once, after that one
// every 1/qps. Like golang.org/x/time/rate's Reserve, every call reserves a slot, so
// calls made at the same instant get delays of 1/qps, 2/qps, ... Keys are not
// tracked: Forget does nothing and NumRequeues is 0.
class TokenBucketRateLimiter final : public RateLimiter {
 public:
  // InvalidArgument unless qps > 0 (finite) and burst >= 1. `clock` must outlive
  // the limiter.
  static StatusOr<std::unique_ptr<TokenBucketRateLimiter>> Create(const Clock& clock, double qps, int burst);

  Clock::duration When(const std::string& key) override;
  void Forget(const std::string& key) override;
  int NumRequeues(const std::string& key) const override;

 private:
  TokenBucketRateLimiter(const Clock& clock, Clock::duration interval, int burst)
      : clock_(clock), interval_(interval), burst_span_(interval * burst) {}

  const Clock& clock_;
  // The time one token takes to refill, and the time the whole bucket takes.
  const Clock::duration interval_;
  const Clock::duration burst_span_;
  mutable std::mutex mu_;
  // The instant at which the bucket would be full again given the slots reserved so
  // far (a "theoretical arrival time"). Integer time keeps delays exact: no drift
  // from summing fractional tokens.
  Clock::time_point full_at_ = Clock::time_point::min();
};

// The largest delay of its parts; every part sees every call, so each keeps its own
// history. NumRequeues is the largest of the parts'.
class MaxOfRateLimiter final : public RateLimiter {
 public:
  explicit MaxOfRateLimiter(std::vector<std::unique_ptr<RateLimiter>>&& limiters) : limiters_(std::move(limiters)) {}

  Clock::duration When(const std::string& key) override;
  void Forget(const std::string& key) override;
  int NumRequeues(const std::string& key) const override;

 private:
  const std::vector<std::unique_ptr<RateLimiter>> limiters_;
};

// client-go's DefaultControllerRateLimiter: the maximum of a per-key exponential
// backoff (5 ms doubling up to 1000 s) and an overall bucket of 10 qps with a burst
// of 100. `clock` must outlive the limiter.
std::unique_ptr<RateLimiter> DefaultControllerRateLimiter(const Clock& clock);

}  // namespace gotestrun::runtime
