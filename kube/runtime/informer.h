// An informer: a Watcher feeding a Store on a thread of its own, announcing the key of
// every object that changed. Handlers get keys, never events: a controller reads the
// current object from the store when it gets to the key (level-triggered), so merged
// or missed notifications cannot make it act on stale news.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "kube/runtime/store.h"
#include "kube/runtime/watcher.h"

namespace gotestrun::runtime {

class Informer final : private WatchConsumer {
 public:
  using KeyHandler = std::function<void(const std::string& key)>;

  Informer(kube::Client& client, kube::ResourceType type, WatcherOptions options = {});
  ~Informer() override;

  // Handlers must be added before Start; they run on the informer's thread.
  void AddHandler(KeyHandler handler);
  void Start();
  // Ends the watch at once and joins the thread.
  void Stop();
  // True once the first full list has been stored.
  bool WaitForSync(std::chrono::milliseconds timeout);
  bool synced() const { return synced_.load(); }

  const Store& store() const { return store_; }
  WatcherStats stats() const { return watcher_.stats(); }
  Watcher& watcher() { return watcher_; }

 private:
  void Replace(std::vector<Json>&& objects, const std::string& resource_version) override;
  void Apply(kube::WatchEventType type, Json&& object) override;
  void Notify(const std::string& key);

  Store store_;
  std::function<void(Json&)> transform_;
  Watcher watcher_;
  kube::StopSignal stop_;
  std::thread thread_;
  std::vector<KeyHandler> handlers_;
  std::atomic<bool> synced_{false};
  std::mutex sync_mu_;
  std::condition_variable sync_cv_;
};

// Several informers of one kind read as one, as a controller watching a list of
// namespaces has them: one informer per namespace (or one for the whole cluster). The
// stores hold disjoint namespaces, so a key is in at most one. A view: it owns nothing,
// and the informers outlive it. A single informer converts to a view of one.
class Informers {
 public:
  Informers(std::vector<Informer*> informers) : informers_(std::move(informers)) {}
  Informers(Informer& one) : informers_{&one} {}  // NOLINT: a view of one, implicitly

  // The object with key "<ns>/<name>" in whichever store has it, or null.
  ObjectPtr Get(const std::string& key) const;
  // Every object of every store.
  std::vector<ObjectPtr> List() const;
  const std::vector<Informer*>& all() const { return informers_; }

 private:
  std::vector<Informer*> informers_;
};

}  // namespace gotestrun::runtime
