#include "kube/runtime/controller.h"

#include <spdlog/spdlog.h>

#include <chrono>

namespace gotestrun::runtime {

Controller::Controller(std::string name, Reconciler& reconciler, int workers, const Clock& clock)
    : name_(std::move(name)), reconciler_(reconciler), worker_count_(workers), queue_(clock) {}

Controller::~Controller() { Stop(); }

void Controller::For(Informer& informer) {
  informers_.push_back(&informer);
  informer.AddHandler([this](const std::string& key) { queue_.Add(key); });
}

void Controller::Watches(Informer& informer, KeyMapper mapper) {
  informers_.push_back(&informer);
  informer.AddHandler([this, &informer, mapper = std::move(mapper)](const std::string& key) {
    if (std::optional<std::string> owner = mapper(informer.store(), key)) queue_.Add(*owner);
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
    // A slow reconcile holds a worker and delays every key behind it: worth a line.
    if (took > std::chrono::seconds(1)) {
      spdlog::warn("controller={} key={} reconcile={} took {} ms", name_, *key, id,
                   std::chrono::duration_cast<std::chrono::milliseconds>(took).count());
    }
    if (!r.ok()) {
      spdlog::warn("controller={} key={} reconcile={} error, retrying after {} failures: {}", name_, *key, id,
                   queue_.NumRequeues(*key) + 1, r.status().ToString());
      queue_.AddRateLimited(*key);
    } else {
      queue_.Forget(*key);
      if (r->requeue_after) queue_.AddAfter(*key, *r->requeue_after);
    }
    queue_.Done(*key);
  }
}

std::optional<std::string> ControllerOwnerKey(const kube::Json& object, const std::string& owner_kind) {
  if (!object.is_object() || !object.contains("metadata")) return std::nullopt;
  const kube::Json& meta = object["metadata"];
  if (!meta.is_object() || !meta.contains("ownerReferences") || !meta["ownerReferences"].is_array()) return std::nullopt;
  for (const kube::Json& ref : meta["ownerReferences"]) {
    if (!ref.is_object() || !ref.contains("controller") || ref["controller"] != true) continue;
    if (!ref.contains("kind") || ref["kind"] != owner_kind || !ref.contains("name") || !ref["name"].is_string()) continue;
    std::string ns = kube::MetaString(object, "namespace");
    std::string name = ref["name"].get<std::string>();
    return ns.empty() ? name : ns + "/" + name;
  }
  return std::nullopt;
}

}  // namespace gotestrun::runtime
