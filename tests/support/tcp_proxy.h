// A loopback TCP proxy whose connections a test can cut, to see what a client does
// when the network drops under a watch. Bytes pass through untouched (TLS included).
#pragma once

#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <thread>

#include "base/status.h"

namespace gotestrun::testing {

class TcpProxy {
 public:
  // Listens on `listen_ipv4` (host byte order; 127.0.0.1 unless another address is
  // wanted, e.g. a loopback one a server certificate does not name, or a bridge's that
  // containers reach) and `listen_port` (0: a free one), and forwards to
  // 127.0.0.1:`target_port`.
  static StatusOr<std::unique_ptr<TcpProxy>> Start(int target_port, uint32_t listen_ipv4 = 0x7f000001,
                                                   int listen_port = 0);
  ~TcpProxy();

  int port() const { return port_; }
  // Closes every open connection at once (both ends see a reset or EOF); new
  // connections are still accepted.
  void CutAll();
  int connections_accepted() const { return accepted_.load(); }

 private:
  TcpProxy() = default;
  void AcceptLoop();
  void Pump(int client, int upstream);

  int listen_fd_ = -1;
  int port_ = 0;
  int target_port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> accepted_{0};
  std::thread acceptor_;
  std::mutex mu_;
  std::list<std::pair<int, int>> open_;  // client and upstream sockets
  std::list<std::thread> pumps_;
};

}  // namespace gotestrun::testing
