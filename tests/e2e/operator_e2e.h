// The operator end to end, shared by the e2e test binaries that run it: a real
// kube-apiserver, etcd and kube-controller-manager (installed by each binary); the
// operator binary as its own process; the test node running Pods as processes in memory
// cgroups; real `go test` of the fixture module, really OOM-killed by the kernel.
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "base/files.h"
#include "sandbox/child_process.h"
#include "tests/node/test_node.h"
#include "tests/support/cluster_fixture.h"
#include "tests/e2e/fixture_run.h"
#include "tests/support/crds.h"
#include "tests/support/ports.h"

namespace gotestrun::testing {

namespace e2e_fs = std::filesystem;
using kube::Json;
using sandbox::Subprocess;

class OperatorE2e : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto client = AdminClient();
    ASSERT_TRUE(InstallGoTestRunCrd(*client, GTR_CRDS_DIR).ok());
  }

  void SetUp() override {
    client_ = AdminClient();
    ns_ = TestNamespace(*client_);
    std::string t = (e2e_fs::temp_directory_path() / "gotestrun-e2e-XXXXXX").string();
    work_ = ::mkdtemp(t.data());
    profiles_ = work_ + "/profiles";
    e2e_fs::create_directories(profiles_);
    node_ = std::make_unique<TestNode>(*client_, TestNodeOptions{.node_name = "e2e-" + ns_.substr(0, 40),
                                                                 .work_dir = work_ + "/node",
                                                                 .claim_folders = {{"workspace", GTR_FIXTURES_DIR},
                                                                                   {"gotestrun-profiles", profiles_}}});
    ASSERT_TRUE(node_->Start().ok());
    StartOperator(ns_);
  }

  // Starts the operator watching `namespaces` (comma-separated), its /metrics on a free
  // loopback port, in place of one already running.
  void StartOperator(const std::string& namespaces) {
    if (operator_) operator_->Stop();
    operator_.reset();
    metrics_port_ = FreePort();
    ASSERT_GT(metrics_port_, 0);
    auto op = SpawnOperator(namespaces, metrics_port_, {}, "operator.log");
    ASSERT_TRUE(op.ok()) << op.status();
    operator_.emplace(std::move(*op));
  }

  // One more operator process (a replica) with `extra_args`, its output in `log_name`
  // under the test's folder.
  StatusOr<Subprocess> SpawnOperator(const std::string& namespaces, int http_port,
                                     const std::vector<std::string>& extra_args, const std::string& log_name) {
    std::vector<std::string> argv = {GTR_OPERATOR_BIN,
                                     "--kubeconfig",
                                     ClusterEnvironment::control_plane().kubeconfig_path(),
                                     "--profiles-dir",
                                     profiles_,
                                     "--watch-namespaces",
                                     namespaces,
                                     "--agent-path",
                                     GTR_AGENT_BIN,
                                     "--http-address",
                                     "127.0.0.1",
                                     "--http-port",
                                     std::to_string(http_port)};
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    return Subprocess::Spawn({.argv = std::move(argv), .output_file = work_ + "/" + log_name});
  }

  static int FreePort() {
    const StatusOr<int> port = FreeLoopbackPort();
    return port.ok() ? *port : 0;
  }

  // The operator's /metrics, each series with its value; empty when it does not answer.
  std::map<std::string, double> Scrape() { return Scrape(metrics_port_); }
  static std::map<std::string, double> Scrape(int port) {
    std::map<std::string, double> series;
    httplib::Client c("127.0.0.1", port);
    auto r = c.Get("/metrics");
    if (!r || r->status != 200) return series;
    std::istringstream lines(r->body);
    for (std::string line; std::getline(lines, line);) {
      if (line.empty() || line[0] == '#') continue;
      const size_t space = line.rfind(' ');
      series[line.substr(0, space)] = std::stod(line.substr(space + 1));
    }
    return series;
  }
  // The sum of a family's series ("name" or "name{...").
  static double Sum(const std::map<std::string, double>& series, const std::string& family) {
    double sum = 0;
    for (const auto& [name, value] : series) {
      if (name == family || name.rfind(family + "{", 0) == 0) sum += value;
    }
    return sum;
  }

  void TearDown() override {
    if (operator_) operator_->Stop();
    node_.reset();
    if (HasFailure()) {
      auto log = ReadFile(work_ + "/operator.log", 64 << 20);
      if (log.ok())
        std::cerr << "---- operator log (tail) ----\n" << log->substr(log->size() > 6000 ? log->size() - 6000 : 0);
    }
    if (std::getenv("GOTESTRUN_KEEP_E2E") == nullptr) e2e_fs::remove_all(work_);
  }

  Json Run(const std::string& name, const std::vector<std::string>& packages, const std::string& memory,
           const std::string& max_memory) {
    return FixtureRun(ns_, name, packages, memory, max_memory);
  }

  Json WaitForEnd(const std::string& name) {
    Json last;
    Eventually(
        [&] {
          auto r = client_->Get(kGoTestRuns, ns_, name);
          if (!r.ok()) return false;
          last = *r;
          std::string phase =
              last.contains("status") && last["status"].is_object() ? last["status"].value("phase", "") : "";
          return phase == "Succeeded" || phase == "Failed";
        },
        std::chrono::minutes(10));
    return last;
  }

  std::unique_ptr<kube::Client> client_;
  std::string ns_, work_, profiles_;
  std::unique_ptr<TestNode> node_;
  std::optional<Subprocess> operator_;
  int metrics_port_ = 0;
};

}  // namespace gotestrun::testing
