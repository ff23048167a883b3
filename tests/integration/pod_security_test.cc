// The operator's Pods against the API server's PodSecurity admission: in a namespace
// that enforces the restricted Pod Security Standard they are admitted as built, where
// a Pod without the same care is refused.
#include <gtest/gtest.h>

#include "controllers/gotestrun/pods.h"
#include "tests/support/cluster_fixture.h"

namespace gotestrun::controllers {
namespace {

using kube::ResourceType;
using testing::AdminClient;
using testing::ClusterEnvironment;

const bool kInstalled = (ClusterEnvironment::Install(), true);

std::string RestrictedNamespace(kube::Client& client, const std::string& name) {
  Json labels = {{"pod-security.kubernetes.io/enforce", "restricted"},
                 {"pod-security.kubernetes.io/enforce-version", "latest"}};
  Json ns = {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", name}, {"labels", labels}}}};
  auto created = client.Create(ResourceType::Namespaces(), "", ns);
  EXPECT_TRUE(created.ok()) << created.status();
  return name;
}

Json NewRun(const std::string& ns, const Json& source) {
  return {{"apiVersion", api::kApiVersion},
          {"kind", api::kKind},
          {"metadata", {{"name", "payments"}, {"namespace", ns}, {"uid", "7c0b6a52-7d2c-4c1e-9d0e-3f1d2c4b5a69"}}},
          {"spec",
           {{"source", source}, {"image", "golang:1.26"}, {"resources", {{"memory", "256Mi"}, {"maxMemory", "1Gi"}}}}}};
}

TEST(PodSecurity, TheOperatorsPodsAreAdmittedWhereRestrictedIsEnforced) {
  auto client = AdminClient();
  const std::string ns = RestrictedNamespace(*client, "restricted-pods");

  // The admission is on: a Pod like ours without a securityContext is refused.
  Json bare = {{"apiVersion", "v1"},
               {"kind", "Pod"},
               {"metadata", {{"name", "bare"}}},
               {"spec", {{"containers", {{{"name", "go-test"}, {"image", "golang:1.26"}}}}}}};
  auto refused = client->Create(ResourceType::Pods(), ns, bare);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("restricted"), std::string::npos) << refused.status();

  for (const Json& source : {Json{{"volume", {{"claimName", "src"}, {"subPath", "m"}}}},
                             Json{{"git", {{"url", "https://example.com/m.git"}, {"revision", "main"}}}}}) {
    Json run = NewRun(ns, source);
    StatusOr<api::GoTestRunSpec> spec = api::ParseSpec(run["spec"]);
    ASSERT_TRUE(spec.ok()) << spec.status();
    const std::string suffix = source.contains("git") ? "git" : "volume";
    run["metadata"]["name"] = "payments-" + suffix;
    policy::ShardPlan plan{.index = 0, .attempt = 1, .packages = {"ex/a", "ex/b"}, .memory = 256u << 20};
    for (const Json& pod : {PlanningPod(run, *spec, {}), AttemptPod(run, *spec, plan, {})}) {
      auto created = client->Create(ResourceType::Pods(), ns, pod);
      EXPECT_TRUE(created.ok()) << kube::MetaString(pod, "name") << ": " << created.status();
      if (created.ok()) {
        EXPECT_EQ((*created)["spec"]["securityContext"]["runAsUser"], kRunAsUser);
      }
    }
  }
}

}  // namespace
}  // namespace gotestrun::controllers
