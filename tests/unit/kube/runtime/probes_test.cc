#include "kube/runtime/probes.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>

#include "base/metrics.h"

namespace gotestrun::runtime {
namespace {

TEST(ProbeServer, HealthReadinessAndMetricsOnOnePort) {
  std::atomic<bool> ready{false};
  ProbeServer server("127.0.0.1", 0, [&]() -> std::string { return ready ? "" : "starting the controller"; });
  ASSERT_TRUE(server.Start().ok());
  ASSERT_GT(server.port(), 0);
  metrics::Registry::Default().Counter("probes_test_total", "A counter for the probe test").With({}).Inc(7);

  httplib::Client c("127.0.0.1", server.port());
  auto health = c.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);

  auto not_ready = c.Get("/readyz");
  ASSERT_TRUE(not_ready);
  EXPECT_EQ(not_ready->status, 503);
  EXPECT_EQ(not_ready->body, "starting the controller");
  ready = true;
  auto is_ready = c.Get("/readyz");
  ASSERT_TRUE(is_ready);
  EXPECT_EQ(is_ready->status, 200);

  auto m = c.Get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->status, 200);
  EXPECT_EQ(m->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(m->body.find("\nprobes_test_total 7\n"), std::string::npos) << m->body;
  server.Stop();
  EXPECT_FALSE(c.Get("/healthz"));
}

}  // namespace
}  // namespace gotestrun::runtime
