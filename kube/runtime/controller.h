// A controller: informers announce keys, a work queue merges them, workers reconcile.
//
// The contract is controller-runtime's. A Reconciler gets a key, never an event; it
// reads the world from the informers' stores, enforces the whole desired state and
// says when to look again. Errors requeue the key with per-item exponential backoff
// under an overall rate limit; success forgets the key's failures. A key is never
// reconciled by two workers at once.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "kube/runtime/informer.h"
#include "kube/runtime/workqueue.h"

namespace gotestrun::runtime {

struct ReconcileResult {
  // Look at the key again after this long even if nothing changes (e.g. a timeout).
  std::optional<std::chrono::milliseconds> requeue_after;
};

class Reconciler {
 public:
  virtual ~Reconciler() = default;
  // `reconcile_id` numbers reconciles, for logs.
  virtual StatusOr<ReconcileResult> Reconcile(const std::string& key, uint64_t reconcile_id) = 0;
};

// Maps a changed object of a watched kind to the key of the object that owns it (for
// Pods: the GoTestRun named in their controller ownerReference); nullopt to ignore.
using KeyMapper = std::function<std::optional<std::string>(const Store& store, const std::string& key)>;
// Whether a change of a watched object needs its owner reconciled ahead of the queue
// (WorkQueue::AddUrgent): for Pods, that one has ended.
using Urgency = std::function<bool(const Store& store, const std::string& key)>;

class Controller {
 public:
  Controller(std::string name, Reconciler& reconciler, int workers = 2, const Clock& clock = SystemClock::Get());
  ~Controller();

  // The primary kind: each change enqueues the object's own key.
  void For(Informer& informer);
  // A secondary kind: each change enqueues what `mapper` says.
  void Watches(Informer& informer, KeyMapper mapper, Urgency urgent = nullptr);

  // Starts the informers (if not yet), waits for their first lists, then the workers.
  Status Start(std::chrono::milliseconds sync_timeout = std::chrono::seconds(60));
  // Stops taking keys, lets running reconciles finish, joins the workers.
  void Stop();

  WorkQueue& queue() { return queue_; }
  uint64_t reconciles() const { return reconciles_.load(); }

 private:
  void Work();

  std::string name_;
  Reconciler& reconciler_;
  int worker_count_;
  WorkQueue queue_;
  std::vector<Informer*> informers_;
  std::vector<std::thread> workers_;
  std::atomic<uint64_t> reconciles_{0};
};

// The controller ownerReference of an object: its owner's key in the same namespace
// when the owner is of `owner_kind`.
std::optional<std::string> ControllerOwnerKey(const kube::Json& object, const std::string& owner_kind);

}  // namespace gotestrun::runtime
