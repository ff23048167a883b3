// The operator under load: many GoTestRuns of many shards, a share of them OOM-killed
// once, against the real control plane and the operator binary in a process of its own.
// The test node runs in its fast mode (tests/node/canned_evidence.h): Pods end after a
// short time with the evidence a real run of tests/fixtures/memory left, so the
// operator reads, parses and diagnoses real evidence while no Go runs.
//
// Printed, each beside its target: the operator's idle and peak RSS, its CPU seconds,
// reconcile latency, OOMKilled -> next Pod latency, API requests per run and writes per
// attempt, and the work queue's depth over time.
//
//   load_bench OPERATOR_BIN CAPTURED_RUN_DIR CRDS_DIR [--runs N] [--shards N]
//              [--oom-every K] [--pod-time-ms MS] [--kill-limit QUANTITY] [--workers N]
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <regex>
#include <sstream>
#include <thread>

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "base/files.h"
#include "kube/runtime/informer.h"
#include "sandbox/child_process.h"
#include "tests/bench/pod_timeline.h"
#include "tests/node/canned_evidence.h"
#include "tests/node/test_node.h"
#include "tests/support/control_plane.h"
#include "tests/support/crds.h"
#include "tests/support/ports.h"

using namespace gotestrun;
using kube::Json;
using sandbox::Subprocess;
using Steady = std::chrono::steady_clock;

namespace {

const kube::ResourceType kRuns{"gotestrun.dev", "v1alpha1", "gotestruns", true};

struct Flags {
  int runs = 200;
  int shards = 10;
  int oom_every = 4;  // every K-th run starts at the limit the capture was killed at
  int pod_time_ms = 500;
  std::string kill_limit = "256Mi";
  int workers = 0;  // 0: the operator's default
};

std::map<std::string, double> Scrape(int port) {
  std::map<std::string, double> series;
  httplib::Client c("127.0.0.1", port);
  c.set_connection_timeout(std::chrono::seconds(2));
  auto r = c.Get("/metrics");
  if (!r || r->status != 200) return series;
  std::istringstream lines(r->body);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    if (space == std::string::npos) continue;
    try {
      series[line.substr(0, space)] = std::stod(line.substr(space + 1));
    } catch (...) {
    }
  }
  return series;
}

// The sum of a family's series whose labels contain every one of `labels`.
double Sum(const std::map<std::string, double>& series, const std::string& family,
           const std::vector<std::string>& labels = {}) {
  double sum = 0;
  for (const auto& [name, value] : series) {
    if (name != family && name.rfind(family + "{", 0) != 0) continue;
    bool all = true;
    for (const std::string& l : labels) all = all && name.find(l) != std::string::npos;
    if (all) sum += value;
  }
  return sum;
}

// histogram_quantile as Prometheus computes it: linear within the bucket.
double HistogramQuantile(const std::map<std::string, double>& series, const std::string& family,
                         const std::string& label, double q) {
  std::vector<std::pair<double, double>> buckets;  // (le, cumulative count)
  static const std::regex kLe("le=\"([^\"]+)\"");
  for (const auto& [name, value] : series) {
    if (name.rfind(family + "_bucket{", 0) != 0 || name.find(label) == std::string::npos) continue;
    std::smatch m;
    if (!std::regex_search(name, m, kLe)) continue;
    double le = m[1] == "+Inf" ? std::numeric_limits<double>::infinity() : std::stod(m[1]);
    buckets.emplace_back(le, value);
  }
  std::sort(buckets.begin(), buckets.end());
  if (buckets.empty() || buckets.back().second == 0) return 0;
  const double rank = q * buckets.back().second;
  double prev_le = 0, prev_count = 0;
  for (const auto& [le, count] : buckets) {
    if (count >= rank) {
      if (std::isinf(le)) return prev_le;
      return prev_le + (le - prev_le) * (count == prev_count ? 0 : (rank - prev_count) / (count - prev_count));
    }
    prev_le = le;
    prev_count = count;
  }
  return prev_le;
}

struct ProcessMemory {
  double rss_mib = 0, hwm_mib = 0;
};

ProcessMemory MemoryOf(pid_t pid) {
  ProcessMemory m;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    std::istringstream f(line);
    std::string key;
    double kib = 0;
    f >> key >> kib;
    if (key == "VmRSS:") m.rss_mib = kib / 1024;
    if (key == "VmHWM:") m.hwm_mib = kib / 1024;
  }
  return m;
}

// utime + stime, in seconds.
double CpuSecondsOf(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return 0;
  std::istringstream f(stat.substr(paren + 2));
  std::vector<std::string> fields;
  for (std::string s; f >> s;) fields.push_back(s);
  // Fields from the state (3rd of stat(5)): utime is 14th, stime 15th.
  if (fields.size() < 13) return 0;
  return (std::stod(fields[11]) + std::stod(fields[12])) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * (v.size() - 1) + 0.5))];
}

const char* Verdict(bool met) { return met ? "met" : "MISSED"; }

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: load_bench OPERATOR_BIN CAPTURED_RUN_DIR CRDS_DIR [--runs N] [--shards N] [--oom-every K] "
                 "[--pod-time-ms MS] [--kill-limit QUANTITY] [--workers N]\n";
    return 2;
  }
  const std::string op_bin = argv[1], capture = argv[2], crds = argv[3];
  Flags flags;
  for (int i = 4; i + 1 < argc; i += 2) {
    const std::string f = argv[i], v = argv[i + 1];
    if (f == "--runs") flags.runs = std::atoi(v.c_str());
    else if (f == "--shards") flags.shards = std::atoi(v.c_str());
    else if (f == "--oom-every") flags.oom_every = std::max(1, std::atoi(v.c_str()));
    else if (f == "--pod-time-ms") flags.pod_time_ms = std::atoi(v.c_str());
    else if (f == "--kill-limit") flags.kill_limit = v;
    else if (f == "--workers") flags.workers = std::atoi(v.c_str());
    else {
      std::cerr << "unknown flag " << f << "\n";
      return 2;
    }
  }
  auto canned = testing::CannedEvidence::Load(capture);
  if (!canned.ok()) {
    std::cerr << canned.status() << "\n";
    return 1;
  }
  std::fprintf(stderr, "canned evidence: %zu shards, %zu of them killed at first, from %s\n", canned->shards(),
               canned->killed_shards(), capture.c_str());

  auto cp = testing::ControlPlane::Start({});
  if (!cp.ok()) {
    std::cerr << cp.status() << "\n";
    return 1;
  }
  auto client = kube::Client::Create((*cp)->AdminConfig());
  if (!client.ok() || !testing::InstallGoTestRunCrd(**client, crds).ok()) return 1;
  const std::string work = std::filesystem::temp_directory_path() / ("load-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(work + "/profiles");
  testing::TestNode node(
      **client, {.node_name = "load",
                 .work_dir = work + "/node",
                 .claim_folders = {{"workspace", work + "/workspace"}, {"gotestrun-profiles", work + "/profiles"}},
                 .canned = std::make_shared<testing::CannedEvidence>(*std::move(canned)),
                 .canned_run_time = std::chrono::milliseconds(flags.pod_time_ms)});
  if (Status s = node.Start(); !s.ok()) {
    std::cerr << s << "\n";
    return 1;
  }

  runtime::Informer pods(**client, kube::ResourceType::Pods());
  bench::PodTimeline timeline(pods);
  pods.Start();
  runtime::Informer runs(**client, kRuns);
  runs.Start();
  if (!pods.WaitForSync(std::chrono::seconds(30)) || !runs.WaitForSync(std::chrono::seconds(30))) return 1;

  const StatusOr<int> free_port = testing::FreeLoopbackPort();
  const int port = free_port.ok() ? *free_port : 0;
  std::vector<std::string> op_argv = {op_bin,
                                      "--kubeconfig",
                                      (*cp)->kubeconfig_path(),
                                      "--profiles-dir",
                                      work + "/profiles",
                                      "--agent-path",
                                      "/usr/local/bin/gotestrun-agent",
                                      "--http-address",
                                      "127.0.0.1",
                                      "--http-port",
                                      std::to_string(port)};
  if (flags.workers > 0) op_argv.insert(op_argv.end(), {"--workers", std::to_string(flags.workers)});
  auto op = Subprocess::Spawn({.argv = std::move(op_argv), .output_file = work + "/operator.log"});
  if (!op.ok()) {
    std::cerr << op.status() << "\n";
    return 1;
  }
  const pid_t pid = op->pid();
  for (int i = 0; i < 300; ++i) {
    httplib::Client c("127.0.0.1", port);
    if (auto r = c.Get("/readyz"); r && r->status == 200) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  // Idle: ready, caches synced, nothing to do.
  std::this_thread::sleep_for(std::chrono::seconds(3));
  const ProcessMemory idle = MemoryOf(pid);
  const double cpu_before = CpuSecondsOf(pid);
  const auto idle_metrics = Scrape(port);
  const double requests_before = Sum(idle_metrics, "rest_client_requests_total");
  double writes_before = 0;
  for (const char* m : {"POST", "PUT", "PATCH", "DELETE"})
    writes_before += Sum(idle_metrics, "rest_client_requests_total", {std::string("method=\"") + m + "\""});

  // The work queue's depth and the operator's RSS, sampled while the load runs.
  std::atomic<bool> sampling{true};
  std::vector<std::pair<double, double>> depth;  // (seconds since start, depth)
  double peak_rss = idle.rss_mib;
  const auto start = Steady::now();
  std::thread sampler([&] {
    while (sampling) {
      auto m = Scrape(port);
      double d = Sum(m, "workqueue_depth", {"name=\"gotestrun\""});
      peak_rss = std::max(peak_rss, MemoryOf(pid).rss_mib);
      depth.emplace_back(std::chrono::duration<double>(Steady::now() - start).count(), d);
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
  });

  for (int i = 0; i < flags.runs; ++i) {
    const bool low = i % flags.oom_every == 0;
    Json run = {{"apiVersion", "gotestrun.dev/v1alpha1"},
                {"kind", "GoTestRun"},
                {"metadata", {{"name", "load-" + std::to_string(i)}, {"namespace", "default"}}},
                {"spec",
                 // A suite each (its own subPath), so no run is planned from another's history.
                 {{"source", {{"volume", {{"claimName", "workspace"}, {"subPath", "suite-" + std::to_string(i)}}}}},
                  {"image", "golang:1.26"},
                  {"packages", {"./..."}},
                  {"resources", {{"memory", low ? flags.kill_limit : "1Gi"}, {"maxMemory", "1Gi"}}},
                  {"sharding", {{"shards", flags.shards}}}}}};
    if (auto r = (*client)->Create(kRuns, "default", run); !r.ok()) {
      std::cerr << "create " << i << ": " << r.status() << "\n";
      return 1;
    }
  }
  const double created_s = std::chrono::duration<double>(Steady::now() - start).count();

  auto deadline = Steady::now() + std::chrono::minutes(30);
  int ended = 0, failed = 0;
  while (Steady::now() < deadline) {
    ended = failed = 0;
    for (const runtime::ObjectPtr& r : runs.store().List()) {
      const std::string phase = r->value(Json::json_pointer("/status/phase"), std::string());
      ended += phase == "Succeeded" || phase == "Failed";
      failed += phase == "Failed";
    }
    if (ended >= flags.runs) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  const double wall_s = std::chrono::duration<double>(Steady::now() - start).count();
  // Let the last status writes and events drain before counting requests.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  sampling = false;
  sampler.join();
  const auto end_metrics = Scrape(port);
  const double cpu = CpuSecondsOf(pid) - cpu_before;
  const ProcessMemory after = MemoryOf(pid);
  peak_rss = std::max(peak_rss, after.rss_mib);

  const std::vector<double> oom_ms = timeline.OomToNextPodMs();
  const int kills = timeline.oom_kills();
  pods.Stop();
  runs.Stop();
  op->Stop();
  node.Stop();
  std::vector<double> reaction;
  if (auto log = ReadFile(work + "/operator.log", 512u << 20); log.ok()) {
    static const std::regex kLine("created ([0-9.]+) ms after the reconcile that saw the OOM kill");
    for (auto it = std::sregex_iterator(log->begin(), log->end(), kLine); it != std::sregex_iterator(); ++it)
      reaction.push_back(std::stod((*it)[1].str()));
  }
  if (std::getenv("GOTESTRUN_KEEP_BENCH") == nullptr) {
    std::filesystem::remove_all(work);
  } else {
    std::cerr << "kept " << work << " (operator.log, profiles)\n";
  }

  const double attempts = Sum(end_metrics, "gotestrun_attempts_total");
  const double requests = Sum(end_metrics, "rest_client_requests_total") - requests_before;
  double writes = -writes_before;
  for (const char* m : {"POST", "PUT", "PATCH", "DELETE"})
    writes += Sum(end_metrics, "rest_client_requests_total", {std::string("method=\"") + m + "\""});
  const std::string gtr = "controller=\"gotestrun\"";
  const double rec_p50 = HistogramQuantile(end_metrics, "controller_runtime_reconcile_time_seconds", gtr, 0.5) * 1000;
  const double rec_p99 = HistogramQuantile(end_metrics, "controller_runtime_reconcile_time_seconds", gtr, 0.99) * 1000;
  const double work_p50 =
      HistogramQuantile(end_metrics, "workqueue_work_duration_seconds", "name=\"gotestrun\"", 0.5) * 1000;
  const double work_p99 =
      HistogramQuantile(end_metrics, "workqueue_work_duration_seconds", "name=\"gotestrun\"", 0.99) * 1000;
  const double queue_p99 =
      HistogramQuantile(end_metrics, "workqueue_queue_duration_seconds", "name=\"gotestrun\"", 0.99) * 1000;

  std::printf(
      "load: %d GoTestRuns x %d shards, every %d%s run at %s (OOM-killed once where the capture was), Pods "
      "end after %d ms\n",
      flags.runs, flags.shards, flags.oom_every, flags.oom_every == 1 ? "st" : "th", flags.kill_limit.c_str(),
      flags.pod_time_ms);
  std::printf(
      "ended: %d of %d runs (%d Failed) in %.1f s (created in %.1f s); %.0f attempts, %d OOM kills, "
      "%.0f reconciles\n",
      ended, flags.runs, failed, wall_s, created_s, attempts, kills,
      Sum(end_metrics, "controller_runtime_reconcile_total", {gtr}));
  std::printf("%-44s %12s   %-12s %s\n", "figure", "measured", "target", "");
  std::printf("%-44s %9.1f MiB   %-12s %s\n", "operator RSS idle (VmRSS, ready)", idle.rss_mib, "< 20 MiB",
              Verdict(idle.rss_mib < 20));
  std::printf("%-44s %9.1f MiB   %-12s %s\n", "operator RSS peak (VmHWM)", after.hwm_mib, "< 100 MiB",
              Verdict(after.hwm_mib < 100));
  std::printf("%-44s %9.1f MiB\n", "operator RSS after the load", after.rss_mib);
  std::printf("%-44s %11.1f s   (%.0f%% of one core over %.0f s)\n", "operator CPU (utime+stime) under load", cpu,
              100 * cpu / wall_s, wall_s);
  std::printf("%-44s %6.1f/%.1f ms   %-12s\n", "reconcile time p50/p99 (histogram)", rec_p50, rec_p99, "-");
  std::printf("%-44s %6.2f/%.1f ms\n", "work duration p50/p99 (workqueue histogram)", work_p50, work_p99);
  std::printf("%-44s %9.1f ms\n", "time queued p99 (histogram, x10 buckets: coarse)", queue_p99);
  if (!oom_ms.empty()) {
    const double p99 = Percentile(oom_ms, 0.99);
    std::printf("%-44s %6.1f/%.1f ms   %-12s %s  (%zu kills, max %.1f ms)\n", "OOMKilled -> next Pod p50/p99 (watch)",
                Percentile(oom_ms, 0.5), p99, "p99 < 1000 ms", Verdict(p99 < 1000), oom_ms.size(),
                *std::max_element(oom_ms.begin(), oom_ms.end()));
  }
  if (!reaction.empty()) {
    std::printf("%-44s %6.1f/%.1f ms   (kill read -> retry Pod created, its log)\n", "operator's own reaction p50/p99",
                Percentile(reaction, 0.5), Percentile(reaction, 0.99));
  }
  std::printf("%-44s %12.1f\n", "API requests per run", requests / flags.runs);
  std::printf("%-44s %12.2f   %-12s %s\n", "API writes per attempt", attempts > 0 ? writes / attempts : 0, "<= 15",
              Verdict(attempts > 0 && writes / attempts <= 15));
  std::printf("  by method:");
  for (const char* m : {"GET", "LIST", "POST", "PUT", "PATCH", "DELETE", "WATCH"}) {
    double n = Sum(end_metrics, "rest_client_requests_total", {std::string("method=\"") + m + "\""});
    if (n > 0) std::printf(" %s %.0f", m, n);
  }
  std::printf("\n");
  // The depth, ~24 points over the load.
  double max_depth = 0;
  for (const auto& [t, d] : depth) max_depth = std::max(max_depth, d);
  std::printf("work queue depth (gotestrun), max %.0f:", max_depth);
  const size_t step = std::max<size_t>(1, depth.size() / 24);
  for (size_t i = 0; i < depth.size(); i += step) std::printf(" %.0fs:%.0f", depth[i].first, depth[i].second);
  std::printf("\n");
  return ended >= flags.runs ? 0 : 1;
}
