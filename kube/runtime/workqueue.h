// The queue of object keys ("namespace/name") that a controller's workers reconcile,
// with the semantics of client-go's rate-limiting work queue, which
// controller-runtime uses:
//
//  - A key is handed to at most one worker at a time. Between Get() and Done() the
//    key is "processing"; adding it again meanwhile marks it dirty, and it is queued
//    once more when Done() is called.
//  - Adds of a key that is already waiting are merged: however many events arrive,
//    the key is reconciled once for all of them. Keys are handed out in the order
//    they became ready.
//  - Every key added is handed out at some point after its last add, as long as
//    workers keep calling Get() and Done(). Only ShutDown() loses keys: those still
//    delayed, and those added after it.
//  - AddUrgent() queues a key ahead of every key added plainly (after the urgent keys
//    already waiting, in their order). An urgent add of a key that is already waiting
//    moves it forward; of a key being processed, makes its requeue from Done() urgent.
//    client-go has one lane; this one is for events that need an action now (a Pod
//    ended and its run's next attempt waits) while the queue is deep with keys whose
//    events need none (a Pod scheduled, a status the operator itself wrote).
//  - AddAfter() delays a key; a delayed key asked for again sooner is moved earlier,
//    never later. AddRateLimited() delays it by what the RateLimiter says, Forget()
//    clears the key's failure history.
//
// Time comes from the injected Clock. Blocking Get() waits in real time for the
// earliest delayed key, so it is meant for a clock that follows real time (the
// SystemClock). TryGet() never blocks: with a ManualClock, tests move the clock and
// then take what has become ready.
//
// Thread safety: every method may be called from any thread at any time. The queue
// reads the clock under its lock from whichever thread calls it, so a clock that is
// not itself thread-safe (a ManualClock) must be moved only from the one thread that
// uses the queue.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "base/clock.h"
#include "kube/runtime/rate_limiter.h"

namespace gotestrun::runtime {

class WorkQueue {
 public:
  // `clock` must outlive the queue.
  WorkQueue(const Clock& clock, std::unique_ptr<RateLimiter> limiter);
  // With DefaultControllerRateLimiter(clock).
  explicit WorkQueue(const Clock& clock);
  ~WorkQueue();
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // Queues `key` unless it is already waiting; if it is being processed it is queued
  // again when Done(key) is called. Ignored once the queue is shut down.
  void Add(const std::string& key);
  // Add(), ahead of every key added plainly that is still waiting.
  void AddUrgent(const std::string& key);
  // Adds `key` once `delay` has passed (at once if delay <= 0). A key already delayed
  // until a later time is moved to the earlier one; an earlier time is kept.
  void AddAfter(const std::string& key, Clock::duration delay);
  // AddAfter(key, limiter.When(key)): counts one more failure of the key.
  void AddRateLimited(const std::string& key);
  // The key was reconciled successfully: its failure history is dropped. It does not
  // remove the key from the queue.
  void Forget(const std::string& key);
  // Failures recorded for `key` since it was last forgotten.
  int NumRequeues(const std::string& key) const;

  // Blocks until a key is ready and hands it out; the caller must call Done(key)
  // when finished with it. After ShutDown() it still hands out keys that were ready,
  // then returns nullopt, at once, to every caller.
  std::optional<std::string> Get();
  // Like Get() but never blocks: nullopt when no key is ready now.
  std::optional<std::string> TryGet();
  // Processing of `key` finished. If it was added meanwhile it is queued again.
  // A key that is not being processed is ignored.
  void Done(const std::string& key);

  // Keys ready to be handed out now, counting delayed keys whose time has come.
  // Keys being processed or still delayed are not counted.
  int Len() const;

  // Stops the queue: later adds are ignored, delayed keys are dropped, and blocked
  // Get() calls return nullopt once no ready key is left.
  void ShutDown();
  // ShutDown(), then waits until every ready key has been handed out and every key
  // handed out is Done. Needs workers still calling Get() and Done().
  void ShutDownWithDrain();
  bool ShuttingDown() const;

  // Reports this queue as client-go's work queues do, under `name` in the process's
  // metrics registry: workqueue_depth, workqueue_adds_total, workqueue_retries_total,
  // workqueue_queue_duration_seconds (add to Get) and workqueue_work_duration_seconds
  // (Get to Done). Call once, before the queue is used.
  void EnableMetrics(const std::string& name);

 private:
  struct Metrics;
  void UpdateDepthLocked();

  // Orders delayed keys by ready time, then by when they were delayed, so keys due at
  // the same instant come out in the order they were added.
  using WaitingSlot = std::pair<Clock::time_point, std::uint64_t>;

  void AddLocked(const std::string& key, bool urgent = false);
  // Puts a key that is not in ready_ there: at the back, or behind the urgent keys.
  void QueueReadyLocked(const std::string& key, bool urgent);
  // Moves delayed keys whose time has come into the ready queue. Every operation
  // that queues a key does this first, so a key that came due earlier is handed out
  // before one added later, as if it had been moved at its ready time.
  void PromoteDueLocked();
  void PromoteDueLocked(Clock::time_point now);
  std::string TakeLocked();

  const Clock& clock_;
  const std::unique_ptr<RateLimiter> limiter_;

  mutable std::mutex mu_;
  // Signalled when a key may have become ready, the earliest delayed time moved, or
  // the queue shut down.
  std::condition_variable ready_cv_;
  // Signalled when the queue may have drained.
  std::condition_variable drained_cv_;

  // Keys ready to be handed out, in order; the first urgent_count_ were added urgently.
  // Each is also in dirty_.
  std::deque<std::string> ready_;
  std::size_t urgent_count_ = 0;
  // Keys being processed whose requeue from Done() goes in the urgent lane.
  std::unordered_set<std::string> urgent_requeue_;
  // Keys that need processing: those in ready_, and those being processed that were
  // added again meanwhile.
  std::unordered_set<std::string> dirty_;
  // Keys handed out by Get() and not yet Done().
  std::unordered_set<std::string> processing_;
  // Delayed keys: by slot for the earliest, by key to move one earlier.
  std::map<WaitingSlot, std::string> waiting_;
  std::unordered_map<std::string, WaitingSlot> waiting_by_key_;
  std::uint64_t next_sequence_ = 0;
  bool shutting_down_ = false;

  // With metrics on: when each dirty key was first added, and when each key being
  // processed was handed out.
  std::unique_ptr<Metrics> metrics_;
  std::unordered_map<std::string, Clock::time_point> added_at_;
  std::unordered_map<std::string, Clock::time_point> started_at_;
};

}  // namespace gotestrun::runtime
