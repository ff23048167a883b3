#include "kube/runtime/watcher.h"

#include <spdlog/spdlog.h>

#include <random>

namespace gotestrun::runtime {

Watcher::Watcher(kube::Client& client, kube::ResourceType type, WatcherOptions options, WatchConsumer& consumer)
    : client_(client),
      type_(std::move(type)),
      options_(std::move(options)),
      consumer_(consumer),
      backoff_(options_.initial_backoff) {
  if (!options_.initial_resource_version.empty()) {
    state_ = State::kWatching;
    stats_.resource_version = options_.initial_resource_version;
  }
}

WatcherStats Watcher::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void Watcher::Progress() {
  if (on_progress_) on_progress_(stats());
}

void Watcher::Run(kube::StopSignal& stop) {
  while (!stop.stopped()) {
    if (state_ == State::kListing) {
      if (!List(stop)) Backoff(stop);
    } else {
      Watch(stop);
    }
  }
}

bool Watcher::List(kube::StopSignal& stop) {
  kube::ListOptions list_options;
  list_options.label_selector = options_.label_selector;
  list_options.field_selector = options_.field_selector;
  StatusOr<kube::ObjectList> list = client_.ListAll(type_, options_.ns, list_options, options_.page_size);
  if (stop.stopped()) return true;
  if (!list.ok()) {
    spdlog::warn("list {} failed: {}", type_.Name(), list.status().ToString());
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.errors;
    return false;
  }
  std::string rv = list->resource_version;
  consumer_.Replace(std::move(list->items), rv);
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.lists;
    stats_.resource_version = rv;
  }
  state_ = State::kWatching;
  backoff_ = options_.initial_backoff;
  Progress();
  return true;
}

void Watcher::Watch(kube::StopSignal& stop) {
  kube::WatchOptions watch_options;
  watch_options.label_selector = options_.label_selector;
  watch_options.field_selector = options_.field_selector;
  watch_options.timeout_seconds = options_.watch_timeout_seconds;
  {
    std::lock_guard<std::mutex> lock(mu_);
    watch_options.resource_version = stats_.resource_version;
    ++stats_.watches;
  }
  Progress();
  bool saw_event = false;
  Status s = client_.Watch(
      type_, options_.ns, watch_options,
      [&](kube::WatchEvent&& ev) {
        std::string rv = kube::ResourceVersionOf(ev.object);
        if (ev.type != kube::WatchEventType::kBookmark) consumer_.Apply(ev.type, std::move(ev.object));
        if (!rv.empty()) {
          std::lock_guard<std::mutex> lock(mu_);
          stats_.resource_version = rv;
        }
        saw_event = true;
        return true;
      },
      &stop);
  if (saw_event) backoff_ = options_.initial_backoff;
  if (s.code() == StatusCode::kCancelled) return;
  if (s.ok()) {
    // The server's timeout: resume at once, unless it ended the watch without a word
    // (not even a bookmark), which would otherwise become a tight loop.
    if (!saw_event) Backoff(stop);
    return;
  }
  if (s.code() == StatusCode::kOutOfRange) {
    spdlog::info("watch {} from resourceVersion {} expired; listing again", type_.Name(),
                 watch_options.resource_version);
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.expired;
    }
    state_ = State::kListing;
    return;
  }
  spdlog::warn("watch {} broke: {}", type_.Name(), s.ToString());
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.errors;
  }
  Backoff(stop);
}

void Watcher::Backoff(kube::StopSignal& stop) {
  // Full jitter keeps many watchers from reconnecting to a restarted server in step.
  static thread_local std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int64_t> jitter(backoff_.count() / 2, backoff_.count());
  stop.WaitFor(std::chrono::milliseconds(jitter(rng)));
  backoff_ = std::min(backoff_ * 2, options_.max_backoff);
}

void StripManagedFields(kube::Json& object) {
  if (object.is_object() && object.contains("metadata") && object["metadata"].is_object())
    object["metadata"].erase("managedFields");
}

}  // namespace gotestrun::runtime
