// A Kubernetes REST client: one object per API server, safe to share between threads.
//
// It does I/O and nothing else: no caching, no retries (callers decide by the Status
// code, see errors.h), no watch resumption (the runtime's Watcher does that). Objects
// are JSON. Requests reuse kept-alive TLS connections from a small pool; a watch holds
// a connection of its own for as long as it runs.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "kube/client/config.h"
#include "kube/client/resource.h"

namespace httplib {
class SSLClient;
}

namespace gotestrun::kube {

// Stops blocking operations from another thread: a running watch is closed at once
// (its socket is shut down) and waits between retries end early. Once stopped, it
// stays stopped.
class StopSignal {
 public:
  void Stop();
  bool stopped() const { return stopped_.load(); }
  // Waits up to `d`; true when stopped (then at once).
  bool WaitFor(std::chrono::milliseconds d);

  // Runs `fn` on Stop() (at once, if already stopped) until the returned id is removed.
  int OnStop(std::function<void()> fn);
  void RemoveOnStop(int id);

 private:
  std::atomic<bool> stopped_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  int next_id_ = 0;
  std::vector<std::pair<int, std::function<void()>>> callbacks_;
};

class Client {
 public:
  // Checks the config's certificates and keys before any request is made.
  static StatusOr<std::unique_ptr<Client>> Create(ClusterConfig config);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const ClusterConfig& config() const { return config_; }

  StatusOr<Json> Get(const ResourceType& type, std::string_view ns, std::string_view name);
  // One page; follow `continue_token` for the next.
  StatusOr<ObjectList> List(const ResourceType& type, std::string_view ns, const ListOptions& options = {});
  // Every page, `page_size` objects at a time. If the snapshot expires between pages
  // (410) the list restarts from the beginning, once.
  StatusOr<ObjectList> ListAll(const ResourceType& type, std::string_view ns, ListOptions options = {},
                               int64_t page_size = 500);
  StatusOr<Json> Create(const ResourceType& type, std::string_view ns, const Json& object);
  // PUT: the object's metadata.resourceVersion makes this a compare-and-swap; a stale
  // one is Aborted (409 Conflict), for the caller to re-read and retry.
  StatusOr<Json> Update(const ResourceType& type, const Json& object, Subresource sub = Subresource::kNone);
  StatusOr<Json> UpdateStatus(const ResourceType& type, const Json& object) {
    return Update(type, object, Subresource::kStatus);
  }
  // application/merge-patch+json (RFC 7386).
  StatusOr<Json> MergePatch(const ResourceType& type, std::string_view ns, std::string_view name, const Json& patch,
                            Subresource sub = Subresource::kNone);
  Status Delete(const ResourceType& type, std::string_view ns, std::string_view name,
                const DeleteOptions& options = {});
  // POST to a subresource of an object, e.g. a Pod's "binding" or "eviction".
  StatusOr<Json> CreateSubresource(const ResourceType& type, std::string_view ns, std::string_view name,
                                   std::string_view subresource, const Json& body);

  // Streams watch events to `on_event` until the server ends the watch (OK), the
  // connection breaks (Unavailable), `on_event` returns false (OK) or `stop` fires
  // (Cancelled). An ERROR event is returned as its Status (410 Expired is OutOfRange)
  // rather than passed on. A watch that cannot start returns the API's error.
  Status Watch(const ResourceType& type, std::string_view ns, const WatchOptions& options,
               const std::function<bool(WatchEvent&&)>& on_event, StopSignal* stop = nullptr);

  // GET of a raw path (e.g. "/readyz", "/version"); the body as text.
  StatusOr<std::string> GetRaw(const std::string& path);

  // Whether the API server serves `type` (its group/version lists it): false when a
  // CRD that an optional integration needs (Tekton's, Argo's) is not installed.
  StatusOr<bool> Serves(const ResourceType& type);

 private:
  explicit Client(ClusterConfig config);
  Status Init();
  std::unique_ptr<httplib::SSLClient> NewConnection(std::chrono::seconds read_timeout) const;
  std::unique_ptr<httplib::SSLClient> Acquire();
  void Release(std::unique_ptr<httplib::SSLClient> conn);
  std::string BearerToken();
  // One request/response exchange; returns the body of a 2xx response.
  StatusOr<std::string> Send(const std::string& method, const std::string& path, const std::string& body,
                             const std::string& content_type);
  StatusOr<Json> SendJson(const std::string& method, const std::string& path, const Json& body,
                          const std::string& content_type);

  ClusterConfig config_;
  struct TlsMaterial;
  std::unique_ptr<TlsMaterial> tls_;

  std::mutex pool_mu_;
  std::vector<std::unique_ptr<httplib::SSLClient>> idle_;

  std::mutex token_mu_;
  std::string token_;
  std::chrono::steady_clock::time_point token_read_{};
};

}  // namespace gotestrun::kube
