// GoogleTest glue for integration tests: one control plane per test binary, started
// before the first test and stopped after the last, and small helpers for waiting on
// the state of the world (tests assert what the API server holds, never the sequence
// of calls that led there).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <thread>

#include "kube/client/client.h"
#include "tests/support/control_plane.h"

namespace gotestrun::testing {

class ClusterEnvironment : public ::testing::Environment {
 public:
  explicit ClusterEnvironment(ControlPlane::Options options = {}) : options_(std::move(options)) {}

  void SetUp() override {
    auto cp = ControlPlane::Start(options_);
    ASSERT_TRUE(cp.ok()) << cp.status();
    control_plane_ = std::move(*cp);
  }
  void TearDown() override { control_plane_.reset(); }

  static ControlPlane& control_plane() { return *instance().control_plane_; }
  static ClusterEnvironment& instance() { return *instance_; }
  static void Install(ControlPlane::Options options = {}) {
    instance_ = new ClusterEnvironment(std::move(options));
    ::testing::AddGlobalTestEnvironment(instance_);  // gtest owns it
  }

 private:
  ControlPlane::Options options_;
  std::unique_ptr<ControlPlane> control_plane_;
  static inline ClusterEnvironment* instance_ = nullptr;
};

inline std::unique_ptr<kube::Client> AdminClient() {
  auto c = kube::Client::Create(ClusterEnvironment::control_plane().AdminConfig());
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? std::move(*c) : nullptr;
}

// Polls `done` until it holds or `timeout` passes.
inline bool Eventually(const std::function<bool()>& done,
                       std::chrono::milliseconds timeout = std::chrono::milliseconds(30000)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

// Creates a namespace named after the running test, so tests do not see each
// other's objects.
inline std::string TestNamespace(kube::Client& client) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name;
  for (char c : std::string(info->test_suite_name()) + "-" + info->name()) {
    if (std::isalnum(static_cast<unsigned char>(c))) name += static_cast<char>(std::tolower(c));
    else if (!name.empty() && name.back() != '-') name += '-';
  }
  if (name.size() > 60) name.resize(60);
  while (!name.empty() && name.back() == '-') name.pop_back();
  auto created = client.Create(kube::ResourceType::Namespaces(), "",
                               {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", name}}}});
  EXPECT_TRUE(created.ok() || created.status().code() == StatusCode::kAlreadyExists) << created.status();
  return name;
}

}  // namespace gotestrun::testing
