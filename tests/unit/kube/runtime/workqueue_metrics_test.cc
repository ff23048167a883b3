#include <gtest/gtest.h>

#include "base/metrics.h"
#include "kube/runtime/workqueue.h"

namespace gotestrun::runtime {
namespace {

std::string Line(const std::string& text, const std::string& prefix) {
  size_t at = text.find("\n" + prefix);
  if (at == std::string::npos) return {};
  size_t end = text.find('\n', at + 1);
  return text.substr(at + 1, end - at - 1);
}

TEST(WorkQueueMetrics, AddsDepthWaitWorkAndRetriesAsClientGoCountsThem) {
  ManualClock clock;
  WorkQueue q(clock);
  q.EnableMetrics("metrics-test");
  q.Add("ns/a");
  q.Add("ns/a");  // merged: one add
  q.Add("ns/b");
  std::string m = metrics::Registry::Default().Render();
  EXPECT_EQ(Line(m, "workqueue_adds_total{name=\"metrics-test\"}"), "workqueue_adds_total{name=\"metrics-test\"} 2");
  EXPECT_EQ(Line(m, "workqueue_depth{name=\"metrics-test\"}"), "workqueue_depth{name=\"metrics-test\"} 2");

  clock.Advance(std::chrono::seconds(2));
  ASSERT_EQ(q.TryGet(), "ns/a");
  clock.Advance(std::chrono::seconds(3));
  q.Done("ns/a");
  q.AddRateLimited("ns/a");
  m = metrics::Registry::Default().Render();
  EXPECT_EQ(Line(m, "workqueue_depth{name=\"metrics-test\"}"), "workqueue_depth{name=\"metrics-test\"} 1");
  EXPECT_EQ(Line(m, "workqueue_queue_duration_seconds_sum{name=\"metrics-test\"}"),
            "workqueue_queue_duration_seconds_sum{name=\"metrics-test\"} 2");
  EXPECT_EQ(Line(m, "workqueue_work_duration_seconds_sum{name=\"metrics-test\"}"),
            "workqueue_work_duration_seconds_sum{name=\"metrics-test\"} 3");
  EXPECT_EQ(Line(m, "workqueue_retries_total{name=\"metrics-test\"}"),
            "workqueue_retries_total{name=\"metrics-test\"} 1");
}

}  // namespace
}  // namespace gotestrun::runtime
