// The body of a watch response (one JSON event per line) decoded into events, as the
// bytes arrive in chunks of any size. Sans I/O, so hostile streams can be fed to it
// directly.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "kube/client/resource.h"

namespace gotestrun::kube {

// One line of a watch body: {"type": "ADDED", "object": {...}}. DataLoss when it is not.
StatusOr<WatchEvent> ParseWatchLine(std::string_view line);

// The Status an ERROR event carries (a metav1.Status object, or anything else sent
// in its place).
Status WatchErrorStatus(const Json& object);

class WatchStreamDecoder {
 public:
  // One watch event is one object; anything larger than the API server would store
  // (1.5 MiB per object in etcd by default) with headroom is not a real event.
  static constexpr size_t kDefaultMaxEventBytes = size_t{16} << 20;

  explicit WatchStreamDecoder(size_t max_event_bytes = kDefaultMaxEventBytes) : max_event_bytes_(max_event_bytes) {}

  // Feeds the next bytes; `on_event` gets each complete event and returns false to
  // stop. The error of the first malformed or oversized event; once an error is
  // returned (or on_event said stop) the decoder takes nothing more.
  Status Feed(std::string_view bytes, const std::function<bool(WatchEvent&&)>& on_event);
  bool stopped() const { return stopped_; }

 private:
  size_t max_event_bytes_;
  std::string pending_;  // bytes of a line not yet complete
  bool stopped_ = false;
};

}  // namespace gotestrun::kube
