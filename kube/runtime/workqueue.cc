#include "kube/runtime/workqueue.h"

#include <algorithm>
#include <chrono>

#include "base/metrics.h"

namespace gotestrun::runtime {
namespace {

// The longest single wait of a blocked Get(). Long delays (a 1000 s backoff, or a
// time past the end of the clock) are waited in steps, so the deadline arithmetic in
// the condition variable cannot overflow and a clock that strays from real time is
// read again now and then.
constexpr Clock::duration kMaxWait = std::chrono::minutes(1);

// now + delay, saturating at the end of time instead of overflowing.
Clock::time_point ReadyAt(Clock::time_point now, Clock::duration delay) {
  const Clock::time_point from = std::max(now, Clock::time_point{});
  if (delay >= Clock::time_point::max() - from) return Clock::time_point::max();
  return now + delay;
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

struct WorkQueue::Metrics {
  metrics::GaugeValue* depth;
  metrics::CounterValue* adds;
  metrics::CounterValue* retries;
  metrics::HistogramValue* queue_duration;
  metrics::HistogramValue* work_duration;
};

WorkQueue::WorkQueue(const Clock& clock, std::unique_ptr<RateLimiter> limiter)
    : clock_(clock), limiter_(std::move(limiter)) {}

WorkQueue::WorkQueue(const Clock& clock) : WorkQueue(clock, DefaultControllerRateLimiter(clock)) {}

WorkQueue::~WorkQueue() = default;

void WorkQueue::EnableMetrics(const std::string& name) {
  // client-go's buckets: 10 ns to 1000 s, by factors of ten.
  static const std::vector<double> kBuckets = metrics::ExponentialBuckets(10e-9, 10, 12);
  auto& r = metrics::Registry::Default();
  auto m = std::make_unique<Metrics>();
  m->depth = &r.Gauge("workqueue_depth", "Current depth of workqueue", {"name"}).With({name});
  m->adds = &r.Counter("workqueue_adds_total", "Total number of adds handled by workqueue", {"name"}).With({name});
  m->retries =
      &r.Counter("workqueue_retries_total", "Total number of retries handled by workqueue", {"name"}).With({name});
  m->queue_duration =
      &r.Histogram("workqueue_queue_duration_seconds",
                   "How long in seconds an item stays in workqueue before being requested", {"name"}, kBuckets)
           .With({name});
  m->work_duration = &r.Histogram("workqueue_work_duration_seconds",
                                  "How long in seconds processing an item from workqueue takes", {"name"}, kBuckets)
                          .With({name});
  std::lock_guard<std::mutex> lock(mu_);
  metrics_ = std::move(m);
}

void WorkQueue::UpdateDepthLocked() {
  if (metrics_) metrics_->depth->Set(static_cast<double>(ready_.size()));
}

void WorkQueue::Add(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  if (shutting_down_) return;
  PromoteDueLocked();
  AddLocked(key);
}

void WorkQueue::AddUrgent(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  if (shutting_down_) return;
  PromoteDueLocked();
  AddLocked(key, /*urgent=*/true);
}

void WorkQueue::AddLocked(const std::string& key, bool urgent) {
  if (!dirty_.insert(key).second) {
    // Already waiting: this add is merged, but an urgent one moves the key forward.
    if (!urgent) return;
    if (processing_.contains(key)) {
      urgent_requeue_.insert(key);
      return;
    }
    auto at = std::find(ready_.begin(), ready_.end(), key);
    if (at == ready_.end() || at - ready_.begin() < static_cast<std::ptrdiff_t>(urgent_count_)) return;
    ready_.erase(at);
    QueueReadyLocked(key, /*urgent=*/true);
    return;
  }
  if (metrics_) {
    metrics_->adds->Inc();
    added_at_.emplace(key, clock_.Now());
  }
  // A key being processed goes back in the queue from Done(), never to a second worker.
  if (processing_.contains(key)) {
    if (urgent) urgent_requeue_.insert(key);
    return;
  }
  QueueReadyLocked(key, urgent);
}

void WorkQueue::QueueReadyLocked(const std::string& key, bool urgent) {
  if (urgent) {
    ready_.insert(ready_.begin() + static_cast<std::ptrdiff_t>(urgent_count_), key);
    ++urgent_count_;
  } else {
    ready_.push_back(key);
  }
  UpdateDepthLocked();
  ready_cv_.notify_one();
}

void WorkQueue::AddAfter(const std::string& key, Clock::duration delay) {
  if (delay <= Clock::duration::zero()) {
    Add(key);
    return;
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (shutting_down_) return;
  PromoteDueLocked();
  const Clock::time_point ready_at = ReadyAt(clock_.Now(), delay);
  auto known = waiting_by_key_.find(key);
  if (known != waiting_by_key_.end()) {
    if (known->second.first <= ready_at) return;  // never later
    waiting_.erase(known->second);
    waiting_by_key_.erase(known);
  }
  const WaitingSlot slot{ready_at, next_sequence_++};
  waiting_.emplace(slot, key);
  waiting_by_key_.emplace(key, slot);
  // A blocked Get() may be waiting for a later time; one of them must wait for this.
  if (waiting_.begin()->first == slot) ready_cv_.notify_one();
}

void WorkQueue::AddRateLimited(const std::string& key) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (metrics_ && !shutting_down_) metrics_->retries->Inc();
  }
  AddAfter(key, limiter_->When(key));
}

void WorkQueue::Forget(const std::string& key) { limiter_->Forget(key); }

int WorkQueue::NumRequeues(const std::string& key) const { return limiter_->NumRequeues(key); }

void WorkQueue::PromoteDueLocked() {
  if (waiting_.empty()) return;
  PromoteDueLocked(clock_.Now());
}

void WorkQueue::PromoteDueLocked(Clock::time_point now) {
  while (!waiting_.empty() && waiting_.begin()->first.first <= now) {
    auto first = waiting_.begin();
    const std::string key = std::move(first->second);
    waiting_.erase(first);
    waiting_by_key_.erase(key);
    AddLocked(key);
  }
}

std::string WorkQueue::TakeLocked() {
  std::string key = std::move(ready_.front());
  ready_.pop_front();
  if (urgent_count_ > 0) --urgent_count_;
  dirty_.erase(key);
  processing_.insert(key);
  if (metrics_) {
    const Clock::time_point now = clock_.Now();
    if (auto added = added_at_.find(key); added != added_at_.end()) {
      metrics_->queue_duration->Observe(Seconds(now - added->second));
      added_at_.erase(added);
    }
    started_at_[key] = now;
    UpdateDepthLocked();
  }
  // Waiters wake one at a time: pass the turn on, either to take the next ready key
  // or to wait for the next delayed one, which no other waiter may be timing.
  if (!ready_.empty() || !waiting_.empty()) ready_cv_.notify_one();
  return key;
}

std::optional<std::string> WorkQueue::Get() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    if (waiting_.empty()) {
      if (!ready_.empty()) break;
      if (shutting_down_) return std::nullopt;
      ready_cv_.wait(lock);
      continue;
    }
    const Clock::time_point now = clock_.Now();
    PromoteDueLocked(now);
    if (!ready_.empty()) break;
    if (waiting_.empty()) continue;  // every due key was already queued or processing
    const Clock::time_point wake_at = std::min(waiting_.begin()->first.first, ReadyAt(now, kMaxWait));
    ready_cv_.wait_for(lock, wake_at - now);
  }
  return TakeLocked();
}

std::optional<std::string> WorkQueue::TryGet() {
  std::lock_guard<std::mutex> lock(mu_);
  PromoteDueLocked();
  if (ready_.empty()) return std::nullopt;
  return TakeLocked();
}

void WorkQueue::Done(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!processing_.contains(key)) return;
  // Before the key leaves processing_, so that its own delayed add, if due, is merged
  // into the requeue below rather than queued twice.
  PromoteDueLocked();
  processing_.erase(key);
  if (metrics_) {
    if (auto started = started_at_.find(key); started != started_at_.end()) {
      metrics_->work_duration->Observe(Seconds(clock_.Now() - started->second));
      started_at_.erase(started);
    }
  }
  const bool urgent = urgent_requeue_.erase(key) > 0;
  if (dirty_.contains(key)) QueueReadyLocked(key, urgent);
  if (processing_.empty() && ready_.empty()) drained_cv_.notify_all();
}

int WorkQueue::Len() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::size_t count = ready_.size();
  if (!waiting_.empty()) {
    const Clock::time_point now = clock_.Now();
    for (auto it = waiting_.begin(); it != waiting_.end() && it->first.first <= now; ++it) {
      // Such a key would be merged into a pending add or wait for Done().
      if (!dirty_.contains(it->second) && !processing_.contains(it->second)) ++count;
    }
  }
  return static_cast<int>(count);
}

void WorkQueue::ShutDown() {
  std::lock_guard<std::mutex> lock(mu_);
  shutting_down_ = true;
  waiting_.clear();
  waiting_by_key_.clear();
  ready_cv_.notify_all();
  drained_cv_.notify_all();
}

void WorkQueue::ShutDownWithDrain() {
  ShutDown();
  std::unique_lock<std::mutex> lock(mu_);
  drained_cv_.wait(lock, [this] { return ready_.empty() && processing_.empty(); });
}

bool WorkQueue::ShuttingDown() const {
  std::lock_guard<std::mutex> lock(mu_);
  return shutting_down_;
}

}  // namespace gotestrun::runtime
