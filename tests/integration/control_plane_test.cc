// The test control plane itself: two can run side by side, and with the controller
// manager owned objects are garbage-collected as on a real cluster.
#include <gtest/gtest.h>

#include <filesystem>

#include "kube/client/client.h"
#include "tests/support/cluster_fixture.h"

namespace gotestrun::testing {
namespace {

using kube::Json;
using kube::ResourceType;

TEST(ControlPlane, TwoRunAtOnceAndEachCleansUp) {
  auto a = ControlPlane::Start({});
  ASSERT_TRUE(a.ok()) << a.status();
  auto b = ControlPlane::Start({});
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_NE((*a)->apiserver_port(), (*b)->apiserver_port());
  auto ca = kube::Client::Create((*a)->AdminConfig());
  auto cb = kube::Client::Create((*b)->AdminConfig());
  ASSERT_TRUE(ca.ok() && cb.ok());
  Json cm = {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", "only-in-a"}}}};
  ASSERT_TRUE((*ca)->Create(ResourceType::ConfigMaps(), "default", cm).ok());
  EXPECT_TRUE((*ca)->Get(ResourceType::ConfigMaps(), "default", "only-in-a").ok());
  EXPECT_EQ((*cb)->Get(ResourceType::ConfigMaps(), "default", "only-in-a").status().code(), StatusCode::kNotFound);

  std::string dir = (*a)->dir();
  a->reset();
  EXPECT_FALSE(std::filesystem::exists(dir));
  EXPECT_TRUE((*cb)->Get(ResourceType::Namespaces(), "", "default").ok());
}

TEST(ControlPlane, ControllerManagerCollectsOwnedObjects) {
  auto cp = ControlPlane::Start({.controller_manager = true});
  ASSERT_TRUE(cp.ok()) << cp.status();
  auto client = kube::Client::Create((*cp)->AdminConfig());
  ASSERT_TRUE(client.ok());
  const auto cms = ResourceType::ConfigMaps();
  auto owner = (*client)->Create(cms, "default",
                                 {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", "owner"}}}});
  ASSERT_TRUE(owner.ok()) << owner.status();
  Json child = {{"apiVersion", "v1"},
                {"kind", "ConfigMap"},
                {"metadata",
                 {{"name", "child"},
                  {"ownerReferences",
                   {{{"apiVersion", "v1"},
                     {"kind", "ConfigMap"},
                     {"name", "owner"},
                     {"uid", kube::MetaString(*owner, "uid")}}}}}}};
  ASSERT_TRUE((*client)->Create(cms, "default", child).ok());
  ASSERT_TRUE((*client)->Delete(cms, "default", "owner").ok());
  EXPECT_TRUE(
      Eventually([&] { return (*client)->Get(cms, "default", "child").status().code() == StatusCode::kNotFound; },
                 std::chrono::seconds(90)))
      << "the garbage collector did not delete the owned object";
}

}  // namespace
}  // namespace gotestrun::testing
