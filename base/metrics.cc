#include "base/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <type_traits>

namespace gotestrun::metrics {
namespace {

// Prometheus writes floats in Go's shortest form; %.17g round-trips and integers stay
// integers ("3", not "3.0000").
std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  std::snprintf(buf, sizeof buf, "%.17g", v);
  // Prefer the shortest form that reads back the same.
  for (int precision = 1; precision < 17; ++precision) {
    char shorter[64];
    std::snprintf(shorter, sizeof shorter, "%.*g", precision, v);
    if (std::strtod(shorter, nullptr) == v) return shorter;
  }
  return buf;
}

std::string EscapeHelp(const std::string& h) {
  std::string out;
  for (char c : h) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

// {a="x",b="y"} with an optional extra pair (le="0.5"); empty when there are no labels.
std::string LabelSet(const std::vector<std::string>& names, const LabelValues& values,
                     const std::string& extra_name = "", const std::string& extra_value = "") {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    out += out.empty() ? "{" : ",";
    out += names[i] + "=\"" + EscapeLabelValue(i < values.size() ? values[i] : std::string()) + "\"";
  }
  if (!extra_name.empty()) {
    out += out.empty() ? "{" : ",";
    out += extra_name + "=\"" + EscapeLabelValue(extra_value) + "\"";
  }
  if (!out.empty()) out += "}";
  return out;
}

void Header(std::string& out, const std::string& name, const std::string& help, const char* type) {
  out += "# HELP " + name + " " + EscapeHelp(help) + "\n";
  out += "# TYPE " + name + " " + type + "\n";
}

}  // namespace

void CounterValue::Inc(double by) {
  if (!(by >= 0)) return;  // a counter never goes down; NaN is dropped too
  std::lock_guard<std::mutex> lock(mu_);
  value_ += by;
}
double CounterValue::value() const {
  std::lock_guard<std::mutex> lock(mu_);
  return value_;
}

void GaugeValue::Set(double v) {
  std::lock_guard<std::mutex> lock(mu_);
  value_ = v;
}
void GaugeValue::Add(double by) {
  std::lock_guard<std::mutex> lock(mu_);
  value_ += by;
}
double GaugeValue::value() const {
  std::lock_guard<std::mutex> lock(mu_);
  return value_;
}

void HistogramValue::Observe(double v) {
  if (std::isnan(v)) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = std::lower_bound(bounds_->begin(), bounds_->end(), v);  // first bound >= v: le is inclusive
  if (it != bounds_->end()) ++counts_[static_cast<size_t>(it - bounds_->begin())];
  sum_ += v;
  ++count_;
}

HistogramValue::Snapshot HistogramValue::Read() const {
  std::lock_guard<std::mutex> lock(mu_);
  Snapshot s;
  std::uint64_t running = 0;
  for (std::uint64_t c : counts_) {
    running += c;
    s.cumulative.push_back(running);
  }
  s.sum = sum_;
  s.count = count_;
  return s;
}

template <typename Value>
Value& Family<Value>::With(LabelValues values) {
  values.resize(labels_.size());
  std::lock_guard<std::mutex> lock(mu_);
  auto it = series_.find(values);
  if (it != series_.end()) return *it->second;
  std::unique_ptr<Value> v;
  if constexpr (std::is_same_v<Value, HistogramValue>) {
    v = std::make_unique<Value>(&bounds_);
  } else {
    v = std::make_unique<Value>();
  }
  Value& ref = *v;
  series_.emplace(std::move(values), std::move(v));
  return ref;
}

template <typename Value>
std::vector<std::pair<LabelValues, const Value*>> Family<Value>::Series() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::pair<LabelValues, const Value*>> out;
  for (const auto& [labels, value] : series_) out.emplace_back(labels, value.get());
  return out;
}

template class Family<CounterValue>;
template class Family<GaugeValue>;
template class Family<HistogramValue>;

Registry& Registry::Default() {
  static Registry* registry = new Registry();  // never destroyed: scrapes may race exit
  return *registry;
}

CounterFamily& Registry::Counter(const std::string& name, const std::string& help, std::vector<std::string> labels) {
  std::lock_guard<std::mutex> lock(mu_);
  Entry& e = families_[name];
  if (!e.counter) {
    e.kind = Kind::kCounter;
    e.counter = std::make_unique<CounterFamily>(name, help, std::move(labels));
  }
  return *e.counter;
}

GaugeFamily& Registry::Gauge(const std::string& name, const std::string& help, std::vector<std::string> labels) {
  std::lock_guard<std::mutex> lock(mu_);
  Entry& e = families_[name];
  if (!e.gauge) {
    e.kind = Kind::kGauge;
    e.gauge = std::make_unique<GaugeFamily>(name, help, std::move(labels));
  }
  return *e.gauge;
}

HistogramFamily& Registry::Histogram(const std::string& name, const std::string& help, std::vector<std::string> labels,
                                     std::vector<double> bounds) {
  std::sort(bounds.begin(), bounds.end());
  std::lock_guard<std::mutex> lock(mu_);
  Entry& e = families_[name];
  if (!e.histogram) {
    e.kind = Kind::kHistogram;
    e.histogram = std::make_unique<HistogramFamily>(name, help, std::move(labels), std::move(bounds));
  }
  return *e.histogram;
}

void Registry::GaugeFunc(const std::string& name, const std::string& help, std::vector<std::string> labels,
                         Collector collect) {
  std::lock_guard<std::mutex> lock(mu_);
  Entry& e = families_[name];
  e.kind = Kind::kGauge;
  e.help = help;
  e.labels = std::move(labels);
  e.collect = std::move(collect);
}

std::string Registry::Render() const {
  // Collectors run outside the registry's lock: they may take locks of their own.
  struct Computed {
    std::string help;
    std::vector<std::string> labels;
    Collector collect;
  };
  std::map<std::string, Computed> computed;
  std::vector<const Entry*> entries;
  std::vector<std::string> names;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [name, e] : families_) {
      if (e.collect) computed[name] = {e.help, e.labels, e.collect};
      else {
        entries.push_back(&e);
        names.push_back(name);
      }
    }
  }
  std::map<std::string, std::string> blocks;
  for (size_t i = 0; i < entries.size(); ++i) {
    const Entry& e = *entries[i];
    std::string out;
    if (e.kind == Kind::kCounter && e.counter) {
      Header(out, e.counter->name(), e.counter->help(), "counter");
      for (const auto& [lv, v] : e.counter->Series()) {
        out += e.counter->name() + LabelSet(e.counter->labels(), lv) + " " + FormatValue(v->value()) + "\n";
      }
    } else if (e.kind == Kind::kGauge && e.gauge) {
      Header(out, e.gauge->name(), e.gauge->help(), "gauge");
      for (const auto& [lv, v] : e.gauge->Series()) {
        out += e.gauge->name() + LabelSet(e.gauge->labels(), lv) + " " + FormatValue(v->value()) + "\n";
      }
    } else if (e.kind == Kind::kHistogram && e.histogram) {
      const HistogramFamily& h = *e.histogram;
      Header(out, h.name(), h.help(), "histogram");
      for (const auto& [lv, v] : h.Series()) {
        HistogramValue::Snapshot s = v->Read();
        for (size_t b = 0; b < h.bounds().size(); ++b) {
          out += h.name() + "_bucket" + LabelSet(h.labels(), lv, "le", FormatValue(h.bounds()[b])) + " " +
                 std::to_string(s.cumulative[b]) + "\n";
        }
        out += h.name() + "_bucket" + LabelSet(h.labels(), lv, "le", "+Inf") + " " + std::to_string(s.count) + "\n";
        out += h.name() + "_sum" + LabelSet(h.labels(), lv) + " " + FormatValue(s.sum) + "\n";
        out += h.name() + "_count" + LabelSet(h.labels(), lv) + " " + std::to_string(s.count) + "\n";
      }
    }
    blocks[names[i]] = std::move(out);
  }
  for (const auto& [name, c] : computed) {
    std::string out;
    Header(out, name, c.help, "gauge");
    for (const auto& [lv, value] : c.collect()) out += name + LabelSet(c.labels, lv) + " " + FormatValue(value) + "\n";
    blocks[name] = std::move(out);
  }
  std::string all;
  for (const auto& [name, block] : blocks) all += block;
  return all;
}

std::vector<double> ExponentialBuckets(double start, double factor, int count) {
  std::vector<double> out;
  double v = start;
  for (int i = 0; i < count; ++i) {
    out.push_back(v);
    v *= factor;
  }
  return out;
}

std::string EscapeLabelValue(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

}  // namespace gotestrun::metrics
