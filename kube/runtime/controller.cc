#include "kube/runtime/controller.h"

#include <spdlog/spdlog.h>

#include <chrono>

#include "base/metrics.h"

namespace gotestrun::runtime {

namespace {

// controller-runtime's names and buckets, so dashboards made for Go operators work.
struct ReconcileMetrics {
  metrics::CounterFamily& total = metrics::Registry::Default().Counter(
      "controller_runtime_reconcile_total", "Total number of reconciliations per controller", {"controller", "result"});
  metrics::CounterFamily& errors =
      metrics::Registry::Default().Counter("controller_runtime_reconcile_errors_total",
                                           "Total number of reconciliation errors per controller", {"controller"});
  metrics::HistogramFamily& time = metrics::Registry::Default().Histogram(
      "controller_runtime_reconcile_time_seconds", "Length of time per reconciliation per controller", {"controller"},
      {0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.25, 1.5,
       1.75,  2.0,  2.5,   3.0,  3.5, 4.0,  4.5, 5,    6,   7,    8,   9,    10,  15,  20,  25,  30,  40,  50,   60});
};

ReconcileMetrics& Metrics() {
  static ReconcileMetrics m;
  return m;
}

}  // namespace

Controller::Controller(std::string name, Reconciler& reconciler, int workers, const Clock& clock)
    : name_(std::move(name)), reconciler_(reconciler), worker_count_(workers), queue_(clock) {
  queue_.EnableMetrics(name_);
  // Every result label exists from the start, as in controller-runtime, so a rate()
  // over a series that has not happened yet reads 0 rather than nothing.
  for (const char* result : {"success", "error", "requeue_after"}) Metrics().total.With({name_, result});
  Metrics().errors.With({name_});
}

Controller::~Controller() { Stop(); }

void Controller::For(Informer& informer) {
  informers_.push_back(&informer);
  informer.AddHandler([this](const std::string& key) { queue_.Add(key); });
}

void Controller::Watches(Informer& informer, KeyMapper mapper, Urgency urgent) {
  informers_.push_back(&informer);
  informer.AddHandler(
      [this, &informer, mapper = std::move(mapper), urgent = std::move(urgent)](const std::string& key) {
        std::optional<std::string> owner = mapper(informer.store(), key);
        if (!owner) return;
        if (urgent && urgent(informer.store(), key)) {
          queue_.AddUrgent(*owner);
        } else {
          queue_.Add(*owner);
        }
      });
}

Status Controller::Start(std::chrono::milliseconds sync_timeout) {
  for (Informer* i : informers_) i->Start();
  for (Informer* i : informers_) {
    if (!i->WaitForSync(sync_timeout)) return DeadlineExceededError(name_ + ": informers did not sync");
  }
  for (int i = 0; i < worker_count_; ++i) workers_.emplace_back([this] { Work(); });
  return Status::Ok();
}

void Controller::Stop() {
  queue_.ShutDown();
  for (std::thread& t : workers_) t.join();
  workers_.clear();
}

void Controller::Work() {
  while (std::optional<std::string> key = queue_.Get()) {
    uint64_t id = ++reconciles_;
    auto started = std::chrono::steady_clock::now();
    StatusOr<ReconcileResult> r = reconciler_.Reconcile(*key, id);
    auto took = std::chrono::steady_clock::now() - started;
    Metrics().time.With({name_}).Observe(std::chrono::duration<double>(took).count());
    // A slow reconcile holds a worker and delays every key behind it: worth a line.
    if (took > std::chrono::seconds(1)) {
      spdlog::warn("controller={} key={} reconcile={} took {} ms", name_, *key, id,
                   std::chrono::duration_cast<std::chrono::milliseconds>(took).count());
    }
    if (!r.ok()) {
      spdlog::warn("controller={} key={} reconcile={} error, retrying after {} failures: {}", name_, *key, id,
                   queue_.NumRequeues(*key) + 1, r.status().ToString());
      Metrics().total.With({name_, "error"}).Inc();
      Metrics().errors.With({name_}).Inc();
      queue_.AddRateLimited(*key);
    } else {
      Metrics().total.With({name_, r->requeue_after ? "requeue_after" : "success"}).Inc();
      queue_.Forget(*key);
      if (r->requeue_after) queue_.AddAfter(*key, *r->requeue_after);
    }
    queue_.Done(*key);
  }
}

std::optional<std::string> ControllerOwnerKey(const kube::Json& object, const std::string& owner_kind) {
  if (!object.is_object() || !object.contains("metadata")) return std::nullopt;
  const kube::Json& meta = object["metadata"];
  if (!meta.is_object() || !meta.contains("ownerReferences") || !meta["ownerReferences"].is_array())
    return std::nullopt;
  for (const kube::Json& ref : meta["ownerReferences"]) {
    if (!ref.is_object() || !ref.contains("controller") || ref["controller"] != true) continue;
    if (!ref.contains("kind") || ref["kind"] != owner_kind || !ref.contains("name") || !ref["name"].is_string())
      continue;
    std::string ns = kube::MetaString(object, "namespace");
    std::string name = ref["name"].get<std::string>();
    return ns.empty() ? name : ns + "/" + name;
  }
  return std::nullopt;
}

}  // namespace gotestrun::runtime
