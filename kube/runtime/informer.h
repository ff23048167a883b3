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
  Watcher watcher_;
  kube::StopSignal stop_;
  std::thread thread_;
  std::vector<KeyHandler> handlers_;
  std::atomic<bool> synced_{false};
  std::mutex sync_mu_;
  std::condition_variable sync_cv_;
};

}  // namespace gotestrun::runtime
