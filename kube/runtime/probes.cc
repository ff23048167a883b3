#include "kube/runtime/probes.h"

#include <httplib.h>

#include "base/metrics.h"

namespace gotestrun::runtime {

ProbeServer::ProbeServer(std::string bind_address, int port, ReadyCheck ready)
    : bind_address_(std::move(bind_address)), port_(port), ready_(std::move(ready)) {}

ProbeServer::~ProbeServer() { Stop(); }

Status ProbeServer::Start() {
  server_ = std::make_unique<httplib::Server>();
  server_->Get("/healthz",
               [](const httplib::Request&, httplib::Response& res) { res.set_content("ok", "text/plain"); });
  server_->Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    std::string why = ready_ ? ready_() : std::string();
    res.status = why.empty() ? 200 : 503;
    res.set_content(why.empty() ? "ok" : why, "text/plain");
  });
  server_->Get("/metrics", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics::Registry::Default().Render(), "text/plain; version=0.0.4; charset=utf-8");
  });
  if (port_ == 0) {
    port_ = server_->bind_to_any_port(bind_address_);
    if (port_ < 0) return UnavailableError("probe server: cannot bind " + bind_address_);
  } else if (!server_->bind_to_port(bind_address_, port_)) {
    return UnavailableError("probe server: cannot bind " + bind_address_ + ":" + std::to_string(port_));
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  return Status::Ok();
}

void ProbeServer::Stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace gotestrun::runtime
