// GoogleTest glue for the e2e-node tests: one control plane and one real node per test
// binary, started before the first test and stopped after the last. On a machine that
// cannot run a node (RealNode::CanRun) nothing is started and every test skips, saying
// what is missing.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "tests/realnode/real_node.h"
#include "tests/support/control_plane.h"

namespace gotestrun::testing {

class RealNodeEnvironment : public ::testing::Environment {
 public:
  RealNodeEnvironment(ControlPlane::Options cp, RealNode::Options node) : cp_options_(cp), node_options_(node) {}

  void SetUp() override {
    Status can = RealNode::CanRun();
    if (!can.ok()) {
      unavailable_ = can.message();
      return;
    }
    auto cp = ControlPlane::Start(cp_options_);
    ASSERT_TRUE(cp.ok()) << cp.status();
    control_plane_ = std::move(*cp);
    auto started = std::chrono::steady_clock::now();
    auto node = RealNode::Start(*control_plane_, node_options_);
    ASSERT_TRUE(node.ok()) << node.status();
    node_ = std::move(*node);
    std::printf("real node %s Ready in %.1f s (folder %s)\n", node_->node_name().c_str(),
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(),
                node_->dir().c_str());
  }
  void TearDown() override {
    node_.reset();
    control_plane_.reset();
  }

  // In a test's SetUp: skips when no node can run here, fails when it did not start.
  static void RequireNode() {
    if (!unavailable_.empty()) GTEST_SKIP() << "this machine cannot run a real node: " << unavailable_;
    ASSERT_NE(node_, nullptr) << "the real node did not start (see the environment's failure)";
  }

  static ControlPlane& control_plane() { return *control_plane_; }
  static RealNode& node() { return *node_; }

 private:
  ControlPlane::Options cp_options_;
  RealNode::Options node_options_;
  static inline std::string unavailable_;
  static inline std::unique_ptr<ControlPlane> control_plane_;
  static inline std::unique_ptr<RealNode> node_;
};

}  // namespace gotestrun::testing
