// Events are for people (kubectl describe, kubectl get events); nothing waits on them.
// A reconcile hands its Events over and goes on to the next key, and one thread posts
// them in the order given, so a worker is never held by Event writes while a run whose
// Pod just ended waits in the queue (under load each write waits on etcd).
//
// Bounded, like client-go's event broadcaster: when the API server takes Events more
// slowly than runs make them, the ones that do not fit are dropped, counted and logged
// once per burst, never allowed to grow the operator's memory.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "controllers/gotestrun/objects.h"

namespace gotestrun::controllers {

class EventQueue {
 public:
  // `writer` must outlive the queue and be safe to call from another thread.
  explicit EventQueue(ObjectWriter& writer, std::size_t capacity = 1000);
  // Events still queued are dropped (the operator is stopping); the one being posted
  // is finished.
  ~EventQueue();
  EventQueue(const EventQueue&) = delete;
  EventQueue& operator=(const EventQueue&) = delete;

  // Queues `event` (a core/v1 Event) for namespace `ns`.
  void Post(std::string ns, Json event);
  // Returns once every Event posted before the call has been written (or failed).
  void Flush();
  std::uint64_t dropped() const;

 private:
  void Send();

  ObjectWriter& writer_;
  const std::size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<std::string, Json>> queue_;
  bool sending_ = false;  // an Event taken from queue_ is being written
  bool stopping_ = false;
  std::uint64_t dropped_ = 0;
  bool dropping_ = false;  // in a burst of drops (logged at its start)
  std::thread thread_;
};

}  // namespace gotestrun::controllers
