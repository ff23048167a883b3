#include "kube/runtime/workqueue.h"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "kube/runtime/rate_limiter.h"

namespace gotestrun::runtime {
namespace {

using namespace std::chrono_literals;

// Only turns a hang into a failure; never a statement about how fast things are.
constexpr auto kHangGuard = 30s;

// One step of a scripted, single-threaded run against a ManualClock.
struct Step {
  enum class Op { kAdd, kAddUrgent, kAddAfter, kAdvance, kTake, kDone, kLen };
  Op op;
  std::string key;          // kAdd, kAddUrgent, kAddAfter, kDone; for kTake the key expected, "" for none
  Clock::duration delay{};  // kAddAfter, kAdvance
  int len = 0;              // kLen
};

Step Add(std::string key) { return {Step::Op::kAdd, std::move(key)}; }
Step AddUrgent(std::string key) { return {Step::Op::kAddUrgent, std::move(key)}; }
Step AddAfter(std::string key, Clock::duration d) { return {Step::Op::kAddAfter, std::move(key), d}; }
Step Advance(Clock::duration d) { return {Step::Op::kAdvance, "", d}; }
Step Take(std::string key) { return {Step::Op::kTake, std::move(key)}; }
Step TakeNothing() { return {Step::Op::kTake, ""}; }
Step Done(std::string key) { return {Step::Op::kDone, std::move(key)}; }
Step Len(int n) { return {Step::Op::kLen, "", {}, n}; }

struct Script {
  const char* name;
  std::vector<Step> steps;
};

void RunScript(const Script& script) {
  ManualClock clock;
  WorkQueue queue(clock);
  for (std::size_t i = 0; i < script.steps.size(); ++i) {
    const Step& s = script.steps[i];
    SCOPED_TRACE(std::string(script.name) + ", step " + std::to_string(i));
    switch (s.op) {
      case Step::Op::kAdd: queue.Add(s.key); break;
      case Step::Op::kAddUrgent: queue.AddUrgent(s.key); break;
      case Step::Op::kAddAfter: queue.AddAfter(s.key, s.delay); break;
      case Step::Op::kAdvance: clock.Advance(s.delay); break;
      case Step::Op::kTake: EXPECT_EQ(queue.TryGet().value_or(""), s.key); break;
      case Step::Op::kDone: queue.Done(s.key); break;
      case Step::Op::kLen: EXPECT_EQ(queue.Len(), s.len); break;
    }
  }
}

TEST(WorkQueue, AddGetDone) {
  const std::vector<Script> scripts = {
      {"adds of a waiting key are merged",
       {Add("ns/a"), Add("ns/b"), Add("ns/a"), Len(2), Take("ns/a"), Take("ns/b"), TakeNothing()}},
      {"keys come out in the order first added",
       {Add("ns/c"), Add("ns/a"), Add("ns/b"), Add("ns/c"), Take("ns/c"), Take("ns/a"), Take("ns/b")}},
      {"an add while processing waits for Done and is delivered once",
       {Add("ns/a"), Take("ns/a"), Add("ns/a"), Add("ns/a"), Len(0), TakeNothing(), Done("ns/a"), Len(1), Take("ns/a"),
        TakeNothing(), Done("ns/a"), Len(0), TakeNothing()}},
      {"Done without an add does not queue again", {Add("ns/a"), Take("ns/a"), Done("ns/a"), Len(0), TakeNothing()}},
      {"other keys are served while one is processed",
       {Add("ns/a"), Take("ns/a"), Add("ns/a"), Add("ns/b"), Take("ns/b"), TakeNothing(), Done("ns/a"), Take("ns/a")}},
      {"Done of a key not being processed is ignored",
       {Add("ns/a"), Done("ns/a"), Done("ns/zzz"), Len(1), Take("ns/a"), TakeNothing()}},
      {"a key taken again after Done", {Add("ns/a"), Take("ns/a"), Done("ns/a"), Add("ns/a"), Take("ns/a")}},
  };
  for (const Script& s : scripts) RunScript(s);
}

TEST(WorkQueue, AddUrgent) {
  const std::vector<Script> scripts = {
      {"an urgent key goes ahead of plain ones",
       {Add("ns/a"), Add("ns/b"), AddUrgent("ns/u"), Len(3), Take("ns/u"), Take("ns/a"), Take("ns/b")}},
      {"urgent keys keep their order among themselves",
       {Add("ns/a"), AddUrgent("ns/u"), AddUrgent("ns/v"), Add("ns/b"), AddUrgent("ns/w"), Take("ns/u"), Take("ns/v"),
        Take("ns/w"), Take("ns/a"), Take("ns/b"), TakeNothing()}},
      {"an urgent add of a waiting key moves it forward, once",
       {Add("ns/a"), Add("ns/b"), Add("ns/c"), AddUrgent("ns/c"), Len(3), Take("ns/c"), Take("ns/a"), Take("ns/b"),
        TakeNothing()}},
      {"an urgent key stays ahead when added again plainly or urgently",
       {Add("ns/a"), AddUrgent("ns/u"), AddUrgent("ns/v"), Add("ns/u"), AddUrgent("ns/u"), Len(3), Take("ns/u"),
        Take("ns/v"), Take("ns/a"), TakeNothing()}},
      {"an urgent add while processing makes the requeue urgent",
       {Add("ns/u"), Take("ns/u"), Add("ns/a"), AddUrgent("ns/u"), Len(1), Done("ns/u"), Len(2), Take("ns/u"),
        Take("ns/a")}},
      {"a plain add then an urgent one while processing: one urgent requeue",
       {Add("ns/u"), Take("ns/u"), Add("ns/u"), Add("ns/a"), AddUrgent("ns/u"), Done("ns/u"), Take("ns/u"),
        Take("ns/a"), Done("ns/u"), TakeNothing()}},
      {"a requeue after an urgent one is plain again",
       {Add("ns/u"), Take("ns/u"), AddUrgent("ns/u"), Done("ns/u"), Take("ns/u"), Add("ns/a"), Add("ns/u"),
        Done("ns/u"), Take("ns/a"), Take("ns/u")}},
      {"a delayed key that comes due queues plainly behind urgent ones",
       {AddAfter("ns/d", 10ms), AddUrgent("ns/u"), Advance(10ms), Add("ns/a"), Take("ns/u"), Take("ns/d"),
        Take("ns/a")}},
  };
  for (const Script& s : scripts) RunScript(s);
}

TEST(WorkQueue, AddAfter) {
  const std::vector<Script> scripts = {
      {"waits for its time",
       {AddAfter("ns/a", 10ms), Len(0), TakeNothing(), Advance(9ms), Len(0), TakeNothing(), Advance(1ms), Len(1),
        Take("ns/a"), TakeNothing()}},
      {"comes out by ready time",
       {AddAfter("ns/a", 30ms), AddAfter("ns/b", 10ms), AddAfter("ns/c", 20ms), Advance(15ms), Take("ns/b"),
        TakeNothing(), Advance(15ms), Take("ns/c"), Take("ns/a")}},
      {"equal ready times keep the order of adding",
       {AddAfter("ns/b", 10ms), AddAfter("ns/a", 10ms), Advance(10ms), Take("ns/b"), Take("ns/a")}},
      {"due keys queue behind keys already ready",
       {AddAfter("ns/a", 10ms), Add("ns/b"), Advance(10ms), Add("ns/c"), Take("ns/b"), Take("ns/a"), Take("ns/c")}},
      {"a sooner time moves the key earlier",
       {AddAfter("ns/a", 50ms), AddAfter("ns/a", 10ms), Advance(10ms), Take("ns/a"), Done("ns/a"), Advance(40ms),
        TakeNothing()}},
      {"a later time does not move the key",
       {AddAfter("ns/a", 10ms), AddAfter("ns/a", 50ms), Advance(10ms), Take("ns/a"), Done("ns/a"), Advance(40ms),
        TakeNothing()}},
      {"moving one key keeps the others in place",
       {AddAfter("ns/a", 20ms), AddAfter("ns/b", 30ms), AddAfter("ns/b", 10ms), Advance(10ms), Take("ns/b"),
        TakeNothing(), Advance(10ms), Take("ns/a")}},
      {"no delay adds at once", {AddAfter("ns/a", 0ms), AddAfter("ns/b", -1s), Len(2), Take("ns/a"), Take("ns/b")}},
      {"a due key merges with a waiting add",
       {Add("ns/a"), AddAfter("ns/a", 10ms), Advance(10ms), Len(1), Take("ns/a"), TakeNothing()}},
      {"a due key being processed waits for Done",
       {Add("ns/a"), Take("ns/a"), AddAfter("ns/a", 10ms), Advance(10ms), Len(0), TakeNothing(), Done("ns/a"),
        Take("ns/a")}},
      {"a key that came due while processed is queued once at Done",
       {Add("ns/a"), Take("ns/a"), Add("ns/a"), AddAfter("ns/a", 10ms), Advance(10ms), Done("ns/a"), Len(1),
        Take("ns/a"), Done("ns/a"), TakeNothing()}},
      {"a key that came due while processed, with no other add, is queued once at Done",
       {Add("ns/a"), Take("ns/a"), AddAfter("ns/a", 10ms), Advance(10ms), Done("ns/a"), Len(1), Take("ns/a"),
        Done("ns/a"), Len(0), TakeNothing()}},
      {"a delay is independent of an add in between",
       {AddAfter("ns/a", 10ms), Add("ns/a"), Take("ns/a"), Done("ns/a"), TakeNothing(), Advance(10ms), Take("ns/a")}},
      {"an hour's delay", {AddAfter("ns/a", 1h), Advance(59min), TakeNothing(), Advance(1min), Take("ns/a")}},
      {"a delay past the end of time never comes due",
       {AddAfter("ns/a", Clock::duration::max()), Advance(24h * 365 * 100), Len(0), TakeNothing()}},
  };
  for (const Script& s : scripts) RunScript(s);
}

TEST(WorkQueue, AddRateLimitedBacksOffUntilForgotten) {
  ManualClock clock;
  WorkQueue queue(clock);
  struct Failure {
    Clock::duration backoff;
  };
  const std::vector<Failure> failures = {{5ms}, {10ms}, {20ms}, {40ms}};
  for (std::size_t i = 0; i < failures.size(); ++i) {
    SCOPED_TRACE("failure " + std::to_string(i));
    queue.AddRateLimited("ns/a");
    EXPECT_EQ(queue.NumRequeues("ns/a"), static_cast<int>(i) + 1);
    clock.Advance(failures[i].backoff - 1ns);
    EXPECT_FALSE(queue.TryGet().has_value());
    clock.Advance(1ns);
    EXPECT_EQ(queue.TryGet().value_or(""), "ns/a");
    queue.Done("ns/a");
  }
  queue.Forget("ns/a");
  EXPECT_EQ(queue.NumRequeues("ns/a"), 0);
  queue.AddRateLimited("ns/a");
  clock.Advance(5ms);
  EXPECT_EQ(queue.TryGet().value_or(""), "ns/a");
}

TEST(WorkQueue, UsesTheLimiterItIsGiven) {
  ManualClock clock;
  WorkQueue queue(clock, std::move(ExponentialFailureRateLimiter::Create(1s, 1s)).value());
  queue.AddRateLimited("ns/a");
  clock.Advance(999ms);
  EXPECT_FALSE(queue.TryGet().has_value());
  clock.Advance(1ms);
  EXPECT_EQ(queue.TryGet().value_or(""), "ns/a");
}

TEST(WorkQueue, ShutDownHandsOutReadyKeysAndDropsTheRest) {
  ManualClock clock;
  WorkQueue queue(clock);
  queue.Add("ns/ready");
  queue.Add("ns/busy");
  ASSERT_EQ(queue.TryGet().value_or(""), "ns/ready");
  queue.Add("ns/ready");  // processing: goes back in at Done
  queue.AddAfter("ns/delayed", 10ms);
  EXPECT_FALSE(queue.ShuttingDown());
  queue.ShutDown();
  EXPECT_TRUE(queue.ShuttingDown());

  queue.Add("ns/late");
  queue.AddAfter("ns/late-delayed", 1ms);
  queue.AddRateLimited("ns/late-limited");
  clock.Advance(1h);
  EXPECT_EQ(queue.Len(), 1);
  EXPECT_EQ(queue.Get(), "ns/busy");
  queue.Done("ns/ready");
  EXPECT_EQ(queue.Get(), "ns/ready");
  EXPECT_EQ(queue.Get(), std::nullopt);
  EXPECT_EQ(queue.Get(), std::nullopt);
  EXPECT_EQ(queue.TryGet(), std::nullopt);
}

// The tests below wait in real time, a few milliseconds at most.

std::optional<std::string> Await(std::future<std::optional<std::string>>& getter, WorkQueue& queue) {
  if (getter.wait_for(kHangGuard) != std::future_status::ready) {
    ADD_FAILURE() << "Get() did not return";
    queue.ShutDown();
  }
  return getter.get();
}

std::future<std::optional<std::string>> StartGet(WorkQueue& queue) {
  return std::async(std::launch::async, [&queue] { return queue.Get(); });
}

TEST(WorkQueueRealTime, GetBlocksUntilAKeyIsAdded) {
  WorkQueue queue(SystemClock::Get());
  auto getter = StartGet(queue);
  // A correct queue never returns here; this only checks that Get() waits.
  EXPECT_EQ(getter.wait_for(5ms), std::future_status::timeout);
  queue.Add("ns/a");
  EXPECT_EQ(Await(getter, queue), "ns/a");
}

TEST(WorkQueueRealTime, ShutDownWakesEveryBlockedGet) {
  WorkQueue queue(SystemClock::Get());
  queue.AddAfter("ns/far", 1h);  // one getter times this, the others wait untimed
  std::vector<std::future<std::optional<std::string>>> getters;
  for (int i = 0; i < 4; ++i) getters.push_back(StartGet(queue));
  EXPECT_EQ(getters[0].wait_for(5ms), std::future_status::timeout);
  queue.ShutDown();
  for (auto& getter : getters) EXPECT_EQ(Await(getter, queue), std::nullopt);
}

TEST(WorkQueueRealTime, GetWaitsForTheDelay) {
  const SystemClock& clock = SystemClock::Get();
  WorkQueue queue(clock);
  const Clock::time_point start = clock.Now();
  queue.AddAfter("ns/a", 3ms);
  auto getter = StartGet(queue);
  EXPECT_EQ(Await(getter, queue), "ns/a");
  EXPECT_GE(clock.Now() - start, 3ms);
}

TEST(WorkQueueRealTime, AddRateLimitedWaitsForTheBackoff) {
  const SystemClock& clock = SystemClock::Get();
  WorkQueue queue(clock);
  const Clock::time_point start = clock.Now();
  queue.AddRateLimited("ns/a");
  EXPECT_EQ(queue.Get(), "ns/a");
  EXPECT_GE(clock.Now() - start, 5ms);
}

TEST(WorkQueueRealTime, AnEarlierDelayWakesAGetWaitingForALaterOne) {
  WorkQueue queue(SystemClock::Get());
  queue.AddAfter("ns/late", 1h);
  auto getter = StartGet(queue);
  EXPECT_EQ(getter.wait_for(2ms), std::future_status::timeout);
  queue.AddAfter("ns/soon", 1ms);
  EXPECT_EQ(Await(getter, queue), "ns/soon");
  queue.ShutDown();
}

TEST(WorkQueueRealTime, EveryDelayedKeyReachesAWaitingGet) {
  // Two getters wait with nothing delayed; the one woken for the first key must hand
  // the timing of the second to the other.
  WorkQueue queue(SystemClock::Get());
  auto first = StartGet(queue);
  auto second = StartGet(queue);
  EXPECT_EQ(first.wait_for(2ms), std::future_status::timeout);
  queue.AddAfter("ns/a", 1ms);
  queue.AddAfter("ns/b", 2ms);
  std::set<std::string> got;
  for (auto* getter : {&first, &second}) {
    if (auto key = Await(*getter, queue)) got.insert(*key);
  }
  EXPECT_EQ(got, (std::set<std::string>{"ns/a", "ns/b"}));
}

TEST(WorkQueueRealTime, ShutDownWithDrainWaitsForDone) {
  WorkQueue queue(SystemClock::Get());
  queue.Add("ns/a");
  queue.Add("ns/b");
  ASSERT_EQ(queue.Get(), "ns/a");
  queue.Add("ns/a");
  auto drain = std::async(std::launch::async, [&queue] { queue.ShutDownWithDrain(); });
  // Processing is in flight, so a correct queue cannot have drained yet.
  EXPECT_EQ(drain.wait_for(5ms), std::future_status::timeout);
  EXPECT_EQ(queue.Get(), "ns/b");
  queue.Done("ns/b");
  queue.Done("ns/a");  // was added meanwhile: queued again, still to drain
  EXPECT_EQ(drain.wait_for(2ms), std::future_status::timeout);
  EXPECT_EQ(queue.Get(), "ns/a");
  queue.Done("ns/a");
  EXPECT_EQ(drain.wait_for(kHangGuard), std::future_status::ready);
  EXPECT_EQ(queue.Get(), std::nullopt);
}

TEST(WorkQueueRealTime, ShutDownWithDrainOfAnIdleQueueReturns) {
  WorkQueue queue(SystemClock::Get());
  queue.ShutDownWithDrain();
  EXPECT_TRUE(queue.ShuttingDown());
}

TEST(WorkQueueConcurrency, NoKeyIsProcessedTwiceAtOnceAndEveryAddIsServed) {
  constexpr int kKeys = 16;
  constexpr int kWorkers = 4;
  constexpr int kProducers = 3;
  constexpr int kAddsPerProducer = 3000;
  WorkQueue queue(SystemClock::Get());

  std::array<std::atomic<int>, kKeys> in_flight{};
  // adds[k] counts adds of key k; each is counted before its Add() so that a pass
  // started after the last Add() sees the final count.
  std::array<std::atomic<int>, kKeys> adds{};
  std::array<std::atomic<int>, kKeys> seen_by_a_pass{};
  std::atomic<int> overlaps{0};
  std::atomic<int> passes{0};
  auto key_of = [](int k) { return "ns/object-" + std::to_string(k); };
  auto index_of = [](const std::string& key) { return std::stoi(key.substr(key.rfind('-') + 1)); };

  std::vector<std::thread> workers;
  for (int w = 0; w < kWorkers; ++w) {
    workers.emplace_back([&] {
      while (std::optional<std::string> key = queue.Get()) {
        const int k = index_of(*key);
        if (in_flight[k].fetch_add(1) != 0) overlaps.fetch_add(1);
        const int seen = adds[k].load();
        if (seen > seen_by_a_pass[k].load()) seen_by_a_pass[k].store(seen);
        std::this_thread::yield();  // widen the window for a second worker to collide
        in_flight[k].fetch_sub(1);
        passes.fetch_add(1);
        queue.Done(*key);
      }
    });
  }
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      for (int i = 0; i < kAddsPerProducer; ++i) {
        const int k = (i * 7 + p * 3) % kKeys;
        adds[k].fetch_add(1);
        // Every third add urgent: the two lanes share the same guarantees.
        if (i % 3 == 0) {
          queue.AddUrgent(key_of(k));
        } else {
          queue.Add(key_of(k));
        }
        if (i % 64 == 0) std::this_thread::yield();
      }
    });
  }
  for (auto& producer : producers) producer.join();
  queue.ShutDownWithDrain();
  for (auto& worker : workers) worker.join();

  EXPECT_EQ(overlaps.load(), 0);
  EXPECT_LE(passes.load(), kProducers * kAddsPerProducer);
  for (int k = 0; k < kKeys; ++k) {
    EXPECT_GT(adds[k].load(), 0) << key_of(k);
    EXPECT_EQ(seen_by_a_pass[k].load(), adds[k].load()) << key_of(k) << " was not processed after its last add";
  }
  EXPECT_EQ(queue.Len(), 0);
}

}  // namespace
}  // namespace gotestrun::runtime
