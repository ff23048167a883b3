#include "controllers/gotestrun/event_queue.h"

#include <spdlog/spdlog.h>

#include <utility>

namespace gotestrun::controllers {

EventQueue::EventQueue(ObjectWriter& writer, std::size_t capacity)
    : writer_(writer), capacity_(capacity), thread_([this] { Send(); }) {}

EventQueue::~EventQueue() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    if (!queue_.empty()) spdlog::info("{} Event(s) not written: the operator is stopping", queue_.size());
    queue_.clear();
  }
  cv_.notify_all();
  thread_.join();
}

void EventQueue::Post(std::string ns, Json event) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    if (queue_.size() >= capacity_) {
      ++dropped_;
      if (!dropping_) {
        spdlog::warn(
            "Events dropped: {} are waiting for the API server (the ones that follow are dropped until "
            "the queue drains; {} dropped so far)",
            queue_.size(), dropped_);
      }
      dropping_ = true;
      return;
    }
    dropping_ = false;
    queue_.emplace_back(std::move(ns), std::move(event));
  }
  cv_.notify_all();
}

void EventQueue::Flush() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return stopping_ || (queue_.empty() && !sending_); });
}

std::uint64_t EventQueue::dropped() const {
  std::lock_guard<std::mutex> lock(mu_);
  return dropped_;
}

void EventQueue::Send() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    auto [ns, event] = std::move(queue_.front());
    queue_.pop_front();
    sending_ = true;
    lock.unlock();
    auto r = writer_.Create(kube::ResourceType::Events(), ns, event);
    if (!r.ok()) {
      spdlog::warn("event {} for {}/{}: {}", event.value("reason", ""), ns, event["involvedObject"].value("name", ""),
                   r.status().ToString());
    }
    lock.lock();
    sending_ = false;
    cv_.notify_all();  // a Flush() may be waiting
  }
}

}  // namespace gotestrun::controllers
