// Metrics in the Prometheus text exposition format (version 0.0.4): counters, gauges
// and histograms, each a family of series told apart by label values.
//
// One process-wide registry, as Prometheus clients have it, so that the Kubernetes
// client, the work queue, the controller and the reconciler can each count what they
// see without being handed a registry through every constructor. Families are created
// once (the first call with a name wins; later calls with the same name return it) and
// live as long as the process. Every operation is thread-safe.
//
//   static auto& adds = metrics::Registry::Default().Counter("workqueue_adds_total", "Adds", {"name"});
//   adds.With({"gotestrun"}).Inc();
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace gotestrun::metrics {

using LabelValues = std::vector<std::string>;

// A value that only goes up.
class CounterValue {
 public:
  void Inc(double by = 1);
  double value() const;

 private:
  mutable std::mutex mu_;
  double value_ = 0;
};

// A value that goes up and down.
class GaugeValue {
 public:
  void Set(double v);
  void Add(double by);
  double value() const;

 private:
  mutable std::mutex mu_;
  double value_ = 0;
};

// Observations counted into cumulative buckets, with their sum and count.
class HistogramValue {
 public:
  explicit HistogramValue(const std::vector<double>* bounds) : bounds_(bounds), counts_(bounds->size(), 0) {}
  void Observe(double v);
  struct Snapshot {
    std::vector<std::uint64_t> cumulative;  // one per bound, then +Inf is `count`
    double sum = 0;
    std::uint64_t count = 0;
  };
  Snapshot Read() const;

 private:
  const std::vector<double>* bounds_;
  mutable std::mutex mu_;
  std::vector<std::uint64_t> counts_;
  double sum_ = 0;
  std::uint64_t count_ = 0;
};

enum class Kind { kCounter, kGauge, kHistogram };

// The series of one metric name. `With` takes exactly one value per label name, in the
// order the names were given; a wrong count is a programming error and lands in a
// series whose missing values are empty rather than crashing a scrape.
template <typename Value>
class Family {
 public:
  Family(std::string name, std::string help, std::vector<std::string> labels, std::vector<double> bounds = {})
      : name_(std::move(name)), help_(std::move(help)), labels_(std::move(labels)), bounds_(std::move(bounds)) {}

  Value& With(LabelValues values);
  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& labels() const { return labels_; }
  const std::vector<double>& bounds() const { return bounds_; }
  // A copy of the series map's keys with pointers to their values (stable: never erased).
  std::vector<std::pair<LabelValues, const Value*>> Series() const;

 private:
  std::string name_, help_;
  std::vector<std::string> labels_;
  std::vector<double> bounds_;
  mutable std::mutex mu_;
  std::map<LabelValues, std::unique_ptr<Value>> series_;
};

using CounterFamily = Family<CounterValue>;
using GaugeFamily = Family<GaugeValue>;
using HistogramFamily = Family<HistogramValue>;

class Registry {
 public:
  static Registry& Default();

  CounterFamily& Counter(const std::string& name, const std::string& help, std::vector<std::string> labels = {});
  GaugeFamily& Gauge(const std::string& name, const std::string& help, std::vector<std::string> labels = {});
  HistogramFamily& Histogram(const std::string& name, const std::string& help, std::vector<std::string> labels,
                             std::vector<double> bounds);
  // A gauge whose series are computed at each scrape (e.g. runs by phase, counted from
  // an informer's store). A second collector for the same name replaces the first.
  using Collector = std::function<std::vector<std::pair<LabelValues, double>>()>;
  void GaugeFunc(const std::string& name, const std::string& help, std::vector<std::string> labels, Collector collect);

  // Every family, sorted by name, in the text exposition format.
  std::string Render() const;

 private:
  struct Entry {
    Kind kind;
    std::unique_ptr<CounterFamily> counter;
    std::unique_ptr<GaugeFamily> gauge;
    std::unique_ptr<HistogramFamily> histogram;
    std::string help;
    std::vector<std::string> labels;
    Collector collect;
  };
  mutable std::mutex mu_;
  std::map<std::string, Entry> families_;
};

// Bucket bounds start, start*factor, ... (count of them), as Prometheus clients make them.
std::vector<double> ExponentialBuckets(double start, double factor, int count);

// The label value as the exposition format writes it: \\, \" and \n escaped.
std::string EscapeLabelValue(const std::string& v);

}  // namespace gotestrun::metrics
