// Keeps a consumer in step with one kind of object on the API server.
//
// An explicit state machine, as kube-rs's watcher has it:
//   listing  -> list every page; hand the whole set over with Replace; go watching
//   watching -> stream events from the last resourceVersion seen (bookmarks move it
//               too); when the server ends the watch, resume from there; when the
//               connection breaks, back off and resume from there; when the version
//               has left the server's window (410 Expired), go listing
// So a consumer sees every change exactly once while the watch window holds, and a
// complete fresh set (never a partial one) when it does not.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "kube/client/client.h"

namespace gotestrun::runtime {

using kube::Json;

class WatchConsumer {
 public:
  virtual ~WatchConsumer() = default;
  // Everything that exists, as of `resource_version`; replaces what was known.
  virtual void Replace(std::vector<Json>&& objects, const std::string& resource_version) = 0;
  // One change (Added, Modified or Deleted).
  virtual void Apply(kube::WatchEventType type, Json&& object) = 0;
};

struct WatcherOptions {
  std::string ns;  // empty: all namespaces
  std::string label_selector;
  std::string field_selector;
  int64_t page_size = 500;
  int watch_timeout_seconds = 290;
  // Resume from here instead of listing first (e.g. a version kept from before).
  std::string initial_resource_version;
  std::chrono::milliseconds initial_backoff{200};
  std::chrono::milliseconds max_backoff{30000};
  // Applied by an informer to each object before it is stored (controller-runtime's
  // cache TransformFunc): dropping what no reader needs keeps a large cache small.
  std::function<void(kube::Json&)> transform;
};

// A transform that drops metadata.managedFields: the field managers' record, often the
// largest part of an object, which a controller never reads. An update sent without it
// leaves the server's copy as it was.
void StripManagedFields(kube::Json& object);

// What the watcher has done, for tests and logs.
struct WatcherStats {
  int lists = 0;
  int watches = 0;  // watch requests started
  int expired = 0;  // 410s that sent it back to listing
  int errors = 0;   // failed lists or broken watches
  std::string resource_version;
};

class Watcher {
 public:
  Watcher(kube::Client& client, kube::ResourceType type, WatcherOptions options, WatchConsumer& consumer);

  // Runs until `stop` fires. Errors are retried with backoff; they never end the run.
  void Run(kube::StopSignal& stop);

  WatcherStats stats() const;
  // Called after each state change; for tests that need to know the watch is up.
  void set_on_progress(std::function<void(const WatcherStats&)> fn) { on_progress_ = std::move(fn); }

 private:
  enum class State { kListing, kWatching };
  bool List(kube::StopSignal& stop);
  void Watch(kube::StopSignal& stop);
  void Backoff(kube::StopSignal& stop);
  void Progress();

  kube::Client& client_;
  kube::ResourceType type_;
  WatcherOptions options_;
  WatchConsumer& consumer_;
  State state_ = State::kListing;
  std::chrono::milliseconds backoff_;
  mutable std::mutex mu_;
  WatcherStats stats_;
  std::function<void(const WatcherStats&)> on_progress_;
};

}  // namespace gotestrun::runtime
