// The operator's own HTTP endpoints, as a controller-runtime manager serves them:
//
//   /healthz   200 while the process serves (the liveness probe)
//   /readyz    200 when `ready` says so, else 503 with its reason (the readiness probe)
//   /metrics   every metric of the process's registry, Prometheus text format 0.0.4
//
// Plain HTTP on one port, for the kubelet's probes and a Prometheus scrape inside the
// cluster; nothing here changes state.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "base/status.h"

namespace httplib {
class Server;
}

namespace gotestrun::runtime {

class ProbeServer {
 public:
  // Empty when ready, else why not (shown in the 503's body).
  using ReadyCheck = std::function<std::string()>;

  ProbeServer(std::string bind_address, int port, ReadyCheck ready);
  ~ProbeServer();
  ProbeServer(const ProbeServer&) = delete;
  ProbeServer& operator=(const ProbeServer&) = delete;

  // Binds (port 0 takes a free one) and serves on a thread of its own.
  Status Start();
  void Stop();
  int port() const { return port_; }

 private:
  std::string bind_address_;
  int port_;
  ReadyCheck ready_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
};

}  // namespace gotestrun::runtime
