#include "base/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <thread>

namespace gotestrun::metrics {
namespace {

TEST(Metrics, CountersAndGaugesInTheTextFormat) {
  Registry r;
  r.Counter("t_requests_total", "Requests.\nSecond line \\ here", {"code", "method"}).With({"200", "GET"}).Inc(3);
  r.Counter("t_requests_total", "ignored: the first help wins", {"code", "method"}).With({"500", "PUT"}).Inc();
  r.Gauge("t_depth", "Depth", {"name"}).With({"q"}).Set(2.5);
  EXPECT_EQ(r.Render(),
            "# HELP t_depth Depth\n"
            "# TYPE t_depth gauge\n"
            "t_depth{name=\"q\"} 2.5\n"
            "# HELP t_requests_total Requests.\\nSecond line \\\\ here\n"
            "# TYPE t_requests_total counter\n"
            "t_requests_total{code=\"200\",method=\"GET\"} 3\n"
            "t_requests_total{code=\"500\",method=\"PUT\"} 1\n");
}

TEST(Metrics, LabelValuesAreEscaped) {
  Registry r;
  r.Counter("t_total", "T", {"v"}).With({"a\"b\\c\nd"}).Inc();
  EXPECT_NE(r.Render().find("t_total{v=\"a\\\"b\\\\c\\nd\"} 1\n"), std::string::npos) << r.Render();
}

TEST(Metrics, CountersNeverGoDown) {
  Registry r;
  CounterValue& c = r.Counter("t_total", "T").With({});
  c.Inc(2);
  c.Inc(-1);
  c.Inc(std::nan(""));
  EXPECT_EQ(c.value(), 2);
  EXPECT_NE(r.Render().find("\nt_total 2\n"), std::string::npos) << r.Render();
}

TEST(Metrics, HistogramBucketsAreCumulativeAndInclusive) {
  Registry r;
  HistogramValue& h = r.Histogram("t_seconds", "T", {"c"}, {1, 0.1, 10}).With({"x"});  // sorted on creation
  for (double v : {0.05, 0.1, 0.5, 3.0, 100.0}) h.Observe(v);
  EXPECT_EQ(r.Render(),
            "# HELP t_seconds T\n"
            "# TYPE t_seconds histogram\n"
            "t_seconds_bucket{c=\"x\",le=\"0.1\"} 2\n"
            "t_seconds_bucket{c=\"x\",le=\"1\"} 3\n"
            "t_seconds_bucket{c=\"x\",le=\"10\"} 4\n"
            "t_seconds_bucket{c=\"x\",le=\"+Inf\"} 5\n"
            "t_seconds_sum{c=\"x\"} 103.65\n"
            "t_seconds_count{c=\"x\"} 5\n");
}

TEST(Metrics, ComputedGaugesAreReadAtEachScrape) {
  Registry r;
  int n = 0;
  r.GaugeFunc("t_runs", "Runs by phase", {"phase"}, [&] {
    ++n;
    return std::vector<std::pair<LabelValues, double>>{{{"Running"}, static_cast<double>(n)}};
  });
  EXPECT_NE(r.Render().find("t_runs{phase=\"Running\"} 1\n"), std::string::npos);
  EXPECT_NE(r.Render().find("t_runs{phase=\"Running\"} 2\n"), std::string::npos);
}

TEST(Metrics, ConcurrentIncrementsAreAllCounted) {
  Registry r;
  CounterFamily& f = r.Counter("t_total", "T", {"w"});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&f, t] {
      for (int i = 0; i < 10000; ++i) f.With({std::to_string(t % 2)}).Inc();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(f.With({"0"}).value() + f.With({"1"}).value(), 40000);
}

TEST(Metrics, ExponentialBuckets) { EXPECT_EQ(ExponentialBuckets(1, 10, 3), (std::vector<double>{1, 10, 100})); }

}  // namespace
}  // namespace gotestrun::metrics
