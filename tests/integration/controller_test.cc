// The controller runtime and leader election against a real kube-apiserver.
#include <gtest/gtest.h>

#include <map>

#include "kube/runtime/controller.h"
#include "kube/runtime/leader_election.h"
#include "tests/support/cluster_fixture.h"

namespace gotestrun::runtime {
namespace {

using kube::Json;
using kube::ResourceType;
using testing::AdminClient;
using testing::ClusterEnvironment;
using testing::Eventually;
using testing::TestNamespace;

const bool kInstalled = (ClusterEnvironment::Install(), true);

// Copies data.want into the annotation "mirrored"; fails the first two times it sees
// a key whose name starts with "flaky", to exercise requeue with backoff.
class MirrorReconciler : public Reconciler {
 public:
  MirrorReconciler(kube::Client& client, const Informer& informer) : client_(client), informer_(informer) {}

  StatusOr<ReconcileResult> Reconcile(const std::string& key, uint64_t) override {
    ObjectPtr obj = informer_.store().Get(key);
    if (obj == nullptr) return ReconcileResult{};
    std::string name = kube::MetaString(*obj, "name");
    {
      std::lock_guard<std::mutex> lock(mu);
      if (name.rfind("flaky", 0) == 0 && failures[key] < 2) {
        ++failures[key];
        return UnavailableError("injected failure");
      }
      ++reconciles[key];
    }
    std::string want = (*obj)["data"].is_object() && (*obj)["data"]["want"].is_string()
                           ? (*obj)["data"]["want"].get<std::string>()
                           : "";
    std::string have =
        (*obj)["metadata"].contains("annotations") && (*obj)["metadata"]["annotations"].contains("mirrored")
            ? (*obj)["metadata"]["annotations"]["mirrored"].get<std::string>()
            : "";
    if (want == have) return ReconcileResult{};  // converged: write nothing
    auto r = client_.MergePatch(ResourceType::ConfigMaps(), kube::MetaString(*obj, "namespace"), name,
                                {{"metadata", {{"annotations", {{"mirrored", want}}}}}});
    if (!r.ok()) return r.status();
    ++writes;
    return ReconcileResult{};
  }

  std::mutex mu;
  std::map<std::string, int> failures, reconciles;
  std::atomic<int> writes{0};

 private:
  kube::Client& client_;
  const Informer& informer_;
};

TEST(Controller, ConvergesRetriesAndThenWritesNothing) {
  auto client = AdminClient();
  std::string ns = TestNamespace(*client);
  WatcherOptions o;
  o.ns = ns;
  Informer informer(*client, ResourceType::ConfigMaps(), o);
  MirrorReconciler reconciler(*client, informer);
  Controller controller("mirror", reconciler, 2);
  controller.For(informer);
  ASSERT_TRUE(controller.Start().ok());

  for (const char* name : {"a", "b", "flaky-c"}) {
    Json cm = {{"apiVersion", "v1"},
               {"kind", "ConfigMap"},
               {"metadata", {{"name", name}}},
               {"data", {{"want", std::string("v-") + name}}}};
    ASSERT_TRUE(client->Create(ResourceType::ConfigMaps(), ns, cm).ok());
  }
  auto mirrored = [&](const std::string& name) {
    auto cm = client->Get(ResourceType::ConfigMaps(), ns, name);
    return cm.ok() && (*cm)["metadata"].contains("annotations") &&
           (*cm)["metadata"]["annotations"].value("mirrored", "") == "v-" + name;
  };
  EXPECT_TRUE(Eventually([&] { return mirrored("a") && mirrored("b") && mirrored("flaky-c"); }));
  {
    std::lock_guard<std::mutex> lock(reconciler.mu);
    EXPECT_EQ(reconciler.failures[ns + "/flaky-c"], 2);
  }
  EXPECT_EQ(controller.queue().NumRequeues(ns + "/flaky-c"), 0) << "success forgets the failures";
  EXPECT_EQ(reconciler.writes.load(), 3);

  // Our own writes come back as events; reconciling them again must write nothing.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  uint64_t before = controller.reconciles();
  controller.queue().Add(ns + "/a");
  controller.queue().Add(ns + "/b");
  EXPECT_TRUE(Eventually([&] { return controller.reconciles() >= before + 2; }));
  EXPECT_EQ(reconciler.writes.load(), 3);
  controller.Stop();
  informer.Stop();
}

TEST(Controller, OwnedObjectsMapToTheirOwner) {
  Json pod = Json::parse(R"({"metadata":{"namespace":"ci","name":"run-s0-a1","ownerReferences":[
      {"apiVersion":"v1","kind":"ConfigMap","name":"other","uid":"1"},
      {"apiVersion":"gotestrun.dev/v1alpha1","kind":"GoTestRun","name":"run","uid":"2","controller":true}]}})");
  EXPECT_EQ(ControllerOwnerKey(pod, "GoTestRun"), "ci/run");
  EXPECT_EQ(ControllerOwnerKey(pod, "Job"), std::nullopt);
  EXPECT_EQ(ControllerOwnerKey(Json::parse(R"({"metadata":{"ownerReferences":"junk"}})"), "GoTestRun"), std::nullopt);
}

TEST(LeaderElection, OneLeaderAtATimeAndHandOver) {
  auto client = AdminClient();
  std::string ns = TestNamespace(*client);
  auto config = [&](const std::string& id) {
    LeaderElectionConfig c;
    c.lease_namespace = ns;
    c.lease_name = "gotestrun-operator";
    c.identity = id;
    c.lease_duration = std::chrono::milliseconds(3000);
    c.renew_deadline = std::chrono::milliseconds(2000);
    c.retry_period = std::chrono::milliseconds(200);
    return c;
  };
  std::atomic<int> leaders{0}, max_leaders{0};
  auto track = [&](int delta) {
    int now = leaders += delta;
    int prev = max_leaders.load();
    while (now > prev && !max_leaders.compare_exchange_weak(prev, now)) {
    }
  };
  LeaderElector a(*client, config("a")), b(*client, config("b"));
  kube::StopSignal stop_a, stop_b;
  std::thread ta([&] {
    a.Run(
        stop_a, [&] { track(1); }, [&] { track(-1); });
  });
  ASSERT_TRUE(Eventually([&] { return a.leading(); }));
  std::thread tb([&] {
    b.Run(
        stop_b, [&] { track(1); }, [&] { track(-1); });
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_FALSE(b.leading()) << "a renews; b must wait";

  stop_a.Stop();  // a releases the lease on a clean stop
  ta.join();
  EXPECT_TRUE(Eventually([&] { return b.leading(); }, std::chrono::seconds(10)));
  EXPECT_EQ(max_leaders.load(), 1);
  auto lease = client->Get(ResourceType::Leases(), ns, "gotestrun-operator");
  ASSERT_TRUE(lease.ok());
  EXPECT_EQ((*lease)["spec"]["holderIdentity"], "b");
  EXPECT_EQ((*lease)["spec"]["leaseTransitions"], 1);
  stop_b.Stop();
  tb.join();
}

}  // namespace
}  // namespace gotestrun::runtime
