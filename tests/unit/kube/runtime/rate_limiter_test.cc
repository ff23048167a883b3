#include "kube/runtime/rate_limiter.h"

#include <gtest/gtest.h>

#include <chrono>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/status.h"

namespace gotestrun::runtime {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

std::unique_ptr<ExponentialFailureRateLimiter> DefaultBackoff() {
  return std::move(ExponentialFailureRateLimiter::Create(5ms, 1000s)).value();
}

std::unique_ptr<TokenBucketRateLimiter> DefaultBucket(const Clock& clock) {
  return std::move(TokenBucketRateLimiter::Create(clock, 10, 100)).value();
}

TEST(ExponentialFailureRateLimiter, DoublesFromFiveMillisecondsUpToTheCap) {
  // failures 0..17 give 5 ms * 2^n (17 -> 655.36 s); from 18 on, 5 ms * 2^n > 1000 s.
  struct Case {
    int failure;
    Clock::duration want;
  };
  const std::vector<Case> cases = {
      {0, 5ms},    {1, 10ms},   {2, 20ms},   {3, 40ms},    {4, 80ms},      {5, 160ms},     {6, 320ms},
      {7, 640ms},  {8, 1280ms}, {9, 2560ms}, {10, 5120ms}, {16, 327680ms}, {17, 655360ms}, {18, 1000s},
      {19, 1000s}, {62, 1000s}, {63, 1000s}, {64, 1000s},  {200, 1000s},
  };
  auto limiter = DefaultBackoff();
  int failures = 0;
  for (const Case& c : cases) {
    Clock::duration got{};
    while (failures <= c.failure) {
      got = limiter->When("default/web");
      ++failures;
    }
    EXPECT_EQ(got, c.want) << "failure " << c.failure;
    EXPECT_EQ(limiter->NumRequeues("default/web"), c.failure + 1);
  }
}

TEST(ExponentialFailureRateLimiter, ForgetStartsOver) {
  auto limiter = DefaultBackoff();
  EXPECT_EQ(limiter->When("default/web"), 5ms);
  EXPECT_EQ(limiter->When("default/web"), 10ms);
  EXPECT_EQ(limiter->When("default/web"), 20ms);
  limiter->Forget("default/web");
  EXPECT_EQ(limiter->NumRequeues("default/web"), 0);
  EXPECT_EQ(limiter->When("default/web"), 5ms);
  EXPECT_EQ(limiter->NumRequeues("default/web"), 1);
}

TEST(ExponentialFailureRateLimiter, KeysBackOffIndependently) {
  auto limiter = DefaultBackoff();
  EXPECT_EQ(limiter->When("default/a"), 5ms);
  EXPECT_EQ(limiter->When("default/a"), 10ms);
  EXPECT_EQ(limiter->When("default/b"), 5ms);
  limiter->Forget("default/a");
  EXPECT_EQ(limiter->When("default/b"), 10ms);
  EXPECT_EQ(limiter->NumRequeues("default/a"), 0);
  EXPECT_EQ(limiter->NumRequeues("default/b"), 2);
}

TEST(ExponentialFailureRateLimiter, CreateRejectsBadDelays) {
  struct Case {
    const char* name;
    Clock::duration base;
    Clock::duration max;
    bool ok;
  };
  const std::vector<Case> cases = {
      {"zero base", 0ms, 1s, false},         {"negative base", -5ms, 1s, false}, {"max below base", 5ms, 1ms, false},
      {"max equal to base", 5ms, 5ms, true}, {"default", 5ms, 1000s, true},
  };
  for (const Case& c : cases) {
    auto limiter = ExponentialFailureRateLimiter::Create(c.base, c.max);
    EXPECT_EQ(limiter.ok(), c.ok) << c.name;
    if (!c.ok) {
      EXPECT_EQ(limiter.status().code(), StatusCode::kInvalidArgument) << c.name;
    }
  }
}

TEST(TokenBucketRateLimiter, BurstOfHundredThenOneEveryHundredMilliseconds) {
  ManualClock clock;
  auto limiter = DefaultBucket(clock);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(limiter->When("default/k" + std::to_string(i)), 0ms) << i;
  // Calls at the same instant reserve the next slots, one per 1/qps.
  for (int i = 1; i <= 5; ++i) EXPECT_EQ(limiter->When("default/late"), milliseconds(100 * i)) << i;
  EXPECT_EQ(limiter->NumRequeues("default/late"), 0);
}

TEST(TokenBucketRateLimiter, OnceEmptyRetriesAreSpacedAtTheRate) {
  // Whatever the callers' timing, consecutive reserved slots start 100 ms apart.
  ManualClock clock;
  auto limiter = DefaultBucket(clock);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(limiter->When("default/x"), 0ms);
  const std::vector<Clock::duration> gaps = {0ms, 37ms, 0ms, 100ms, 5ms, 60ms, 99ms, 1ms};
  Clock::time_point previous = clock.Now() + limiter->When("default/x");
  for (Clock::duration gap : gaps) {
    clock.Advance(gap);
    const Clock::time_point start = clock.Now() + limiter->When("default/x");
    EXPECT_EQ(start - previous, 100ms) << "after a gap of " << gap.count() << " ns";
    previous = start;
  }
}

TEST(TokenBucketRateLimiter, RefillsAtTheRateUpToTheBurst) {
  struct Case {
    const char* name;
    Clock::duration idle;
    int immediate;  // calls that get no delay after the bucket was emptied and left idle
  };
  const std::vector<Case> cases = {
      {"no time", 0ms, 0},    {"less than one token", 99ms, 0}, {"one token", 100ms, 1},
      {"one second", 1s, 10}, {"ten seconds", 10s, 100},        {"an hour, capped at the burst", 1h, 100},
  };
  for (const Case& c : cases) {
    ManualClock clock;
    auto limiter = DefaultBucket(clock);
    for (int i = 0; i < 100; ++i) ASSERT_EQ(limiter->When("default/x"), 0ms) << c.name;
    clock.Advance(c.idle);
    int immediate = 0;
    while (limiter->When("default/x") == 0ms) ++immediate;
    EXPECT_EQ(immediate, c.immediate) << c.name;
  }
}

TEST(TokenBucketRateLimiter, CreateRejectsBadRates) {
  ManualClock clock;
  struct Case {
    const char* name;
    double qps;
    int burst;
    bool ok;
  };
  const std::vector<Case> cases = {
      {"zero qps", 0, 100, false},
      {"negative qps", -1, 100, false},
      {"infinite qps", std::numeric_limits<double>::infinity(), 100, false},
      {"nan qps", std::numeric_limits<double>::quiet_NaN(), 100, false},
      {"zero burst", 10, 0, false},
      {"span past the clock's range", 1e-9, 1000, false},
      {"burst of one", 10, 1, true},
      {"default", 10, 100, true},
  };
  for (const Case& c : cases) {
    auto limiter = TokenBucketRateLimiter::Create(clock, c.qps, c.burst);
    EXPECT_EQ(limiter.ok(), c.ok) << c.name;
    if (!c.ok) {
      EXPECT_EQ(limiter.status().code(), StatusCode::kInvalidArgument) << c.name;
    }
  }
}

// Answers a fixed delay per key and records what it was told.
class ScriptedRateLimiter final : public RateLimiter {
 public:
  explicit ScriptedRateLimiter(std::map<std::string, Clock::duration> delays) : delays_(std::move(delays)) {}
  Clock::duration When(const std::string& key) override {
    ++requeues_[key];
    return delays_.at(key);
  }
  void Forget(const std::string& key) override { requeues_.erase(key); }
  int NumRequeues(const std::string& key) const override {
    auto it = requeues_.find(key);
    return it == requeues_.end() ? 0 : it->second;
  }

 private:
  const std::map<std::string, Clock::duration> delays_;
  std::map<std::string, int> requeues_;
};

TEST(MaxOfRateLimiter, AnswersTheLongestDelay) {
  struct Case {
    const char* name;
    std::vector<Clock::duration> parts;
    Clock::duration want;
  };
  const std::vector<Case> cases = {
      {"no parts", {}, 0ms},
      {"one part", {7ms}, 7ms},
      {"first longest", {9ms, 2ms, 3ms}, 9ms},
      {"last longest", {1ms, 2ms, 3s}, 3s},
      {"all zero", {0ms, 0ms}, 0ms},
  };
  for (const Case& c : cases) {
    std::vector<std::unique_ptr<RateLimiter>> parts;
    for (Clock::duration d : c.parts) {
      parts.push_back(std::make_unique<ScriptedRateLimiter>(std::map<std::string, Clock::duration>{{"ns/a", d}}));
    }
    MaxOfRateLimiter limiter(std::move(parts));
    EXPECT_EQ(limiter.When("ns/a"), c.want) << c.name;
  }
}

TEST(MaxOfRateLimiter, EveryPartSeesEveryCall) {
  std::vector<std::unique_ptr<RateLimiter>> parts;
  auto first = std::make_unique<ScriptedRateLimiter>(std::map<std::string, Clock::duration>{{"ns/a", 1ms}});
  auto second = std::make_unique<ScriptedRateLimiter>(std::map<std::string, Clock::duration>{{"ns/a", 2ms}});
  const ScriptedRateLimiter& first_view = *first;
  const ScriptedRateLimiter& second_view = *second;
  parts.push_back(std::move(first));
  parts.push_back(std::move(second));
  MaxOfRateLimiter limiter(std::move(parts));

  EXPECT_EQ(limiter.When("ns/a"), 2ms);
  EXPECT_EQ(limiter.When("ns/a"), 2ms);
  EXPECT_EQ(first_view.NumRequeues("ns/a"), 2);
  EXPECT_EQ(second_view.NumRequeues("ns/a"), 2);
  EXPECT_EQ(limiter.NumRequeues("ns/a"), 2);
  limiter.Forget("ns/a");
  EXPECT_EQ(first_view.NumRequeues("ns/a"), 0);
  EXPECT_EQ(second_view.NumRequeues("ns/a"), 0);
  EXPECT_EQ(limiter.NumRequeues("ns/a"), 0);
}

TEST(DefaultControllerRateLimiter, BackoffUntilTheBucketRunsDryThenTheBucket) {
  ManualClock clock;
  auto limiter = DefaultControllerRateLimiter(clock);
  // 100 first failures fit in the burst: the per-key backoff decides.
  for (int i = 0; i < 100; ++i) EXPECT_EQ(limiter->When("default/k" + std::to_string(i)), 5ms) << i;
  // The bucket is empty: its 100 ms slot is longer than a first failure's 5 ms.
  EXPECT_EQ(limiter->When("default/k100"), 100ms);
  EXPECT_EQ(limiter->When("default/k0"), 200ms);
  // Once the bucket has refilled, a key that keeps failing is held back by its backoff.
  clock.Advance(1h);
  EXPECT_EQ(limiter->When("default/k0"), 20ms);
  EXPECT_EQ(limiter->When("default/k0"), 40ms);
  EXPECT_EQ(limiter->NumRequeues("default/k0"), 4);
  limiter->Forget("default/k0");
  EXPECT_EQ(limiter->NumRequeues("default/k0"), 0);
  EXPECT_EQ(limiter->When("default/k0"), 5ms);
}

}  // namespace
}  // namespace gotestrun::runtime
