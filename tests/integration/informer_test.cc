// The watcher and informer against a real kube-apiserver, under the conditions they
// exist for: dropped connections, expired resourceVersions, a restarted server, and
// shutdown.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "kube/runtime/informer.h"
#include "tests/support/cluster_fixture.h"
#include "tests/support/tcp_proxy.h"

namespace gotestrun::runtime {
namespace {

using kube::Json;
using kube::MetaString;
using kube::ResourceType;
using testing::AdminClient;
using testing::ClusterEnvironment;
using testing::Eventually;
using testing::TestNamespace;

const bool kInstalled = (ClusterEnvironment::Install(), true);

Json ConfigMap(const std::string& ns, const std::string& name) {
  return {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", name}, {"namespace", ns}}}};
}

// Records what a watcher delivers, in order.
class Recorder : public WatchConsumer {
 public:
  void Replace(std::vector<Json>&& objects, const std::string&) override {
    std::lock_guard<std::mutex> lock(mu);
    ++replaces;
    for (const Json& o : objects) replaced_names.insert(MetaString(o, "name"));
  }
  void Apply(kube::WatchEventType type, Json&& object) override {
    std::lock_guard<std::mutex> lock(mu);
    if (type == kube::WatchEventType::kAdded) added.push_back(MetaString(object, "name"));
  }
  size_t added_count() {
    std::lock_guard<std::mutex> lock(mu);
    return added.size();
  }
  std::mutex mu;
  int replaces = 0;
  std::set<std::string> replaced_names;
  std::vector<std::string> added;
};

// The informer's store against what the API server holds now, by name and version.
bool StoreMatchesServer(kube::Client& client, const Informer& informer, const std::string& ns) {
  auto list = client.ListAll(ResourceType::ConfigMaps(), ns);
  if (!list.ok()) return false;
  std::map<std::string, std::string> server, local;
  for (const Json& o : list->items) server[kube::ObjectKey(o)] = kube::ResourceVersionOf(o);
  for (const ObjectPtr& o : informer.store().List()) local[kube::ObjectKey(*o)] = kube::ResourceVersionOf(*o);
  return server == local;
}

TEST(Watcher, SurvivesForcedDisconnectsWithoutLosingOrRepeatingEvents) {
  auto client = AdminClient();
  std::string ns = TestNamespace(*client);
  auto proxy = testing::TcpProxy::Start(ClusterEnvironment::control_plane().apiserver_port());
  ASSERT_TRUE(proxy.ok()) << proxy.status();
  kube::ClusterConfig via_proxy = ClusterEnvironment::control_plane().AdminConfig();
  via_proxy.port = (*proxy)->port();
  auto proxied = kube::Client::Create(via_proxy);
  ASSERT_TRUE(proxied.ok());

  Recorder recorder;
  WatcherOptions options;
  options.ns = ns;
  options.initial_backoff = std::chrono::milliseconds(20);
  Watcher watcher(**proxied, ResourceType::ConfigMaps(), options, recorder);
  std::atomic<bool> listed{false};
  watcher.set_on_progress([&](const WatcherStats& s) { listed = s.lists > 0; });
  kube::StopSignal stop;
  std::thread t([&] { watcher.Run(stop); });
  // Objects created from here on arrive as events, not in the initial list.
  ASSERT_TRUE(Eventually([&] { return listed.load(); }));

  constexpr int kObjects = 150;
  for (int i = 0; i < kObjects; ++i) {
    ASSERT_TRUE(client->Create(ResourceType::ConfigMaps(), ns, ConfigMap(ns, "cm-" + std::to_string(i))).ok());
    if (i % 25 == 10) {
      // Each cut must force a reconnect of its own: the creates are quicker than the
      // watcher's reconnect, so without waiting two cuts could fall on one connection.
      const int before = (*proxy)->connections_accepted();
      (*proxy)->CutAll();
      ASSERT_TRUE(Eventually([&] { return (*proxy)->connections_accepted() > before; })) << "no reconnect after cut";
    }
  }
  bool all = Eventually([&] { return recorder.added_count() >= kObjects; });
  stop.Stop();
  t.join();
  if (!all) {
    std::set<std::string> seen(recorder.added.begin(), recorder.added.end());
    std::string missing;
    for (int i = 0; i < kObjects; ++i) {
      if (!seen.contains("cm-" + std::to_string(i))) missing += " cm-" + std::to_string(i);
    }
    WatcherStats s = watcher.stats();
    FAIL() << "saw " << recorder.added_count() << " of " << kObjects << "; missing:" << missing << "; lists " << s.lists
           << " watches " << s.watches << " errors " << s.errors << " rv " << s.resource_version;
  }

  WatcherStats stats = watcher.stats();
  EXPECT_GE((*proxy)->connections_accepted(), 6) << "the cuts did not force reconnects";
  EXPECT_GE(stats.watches, 6);
  // Every reconnect resumed from the last version seen: one list, and each object
  // arrived exactly once, in the order it was created.
  EXPECT_EQ(stats.lists, 1);
  EXPECT_EQ(stats.expired, 0);
  ASSERT_EQ(recorder.added.size(), static_cast<size_t>(kObjects));
  for (int i = 0; i < kObjects; ++i) EXPECT_EQ(recorder.added[i], "cm-" + std::to_string(i));
}

TEST(Watcher, AVersionTooOldLeadsToARelist) {
  auto client = AdminClient();
  std::string ns = TestNamespace(*client);
  auto before = client->List(ResourceType::ConfigMaps(), ns);
  ASSERT_TRUE(before.ok());
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(client->Create(ResourceType::ConfigMaps(), ns, ConfigMap(ns, "old-" + std::to_string(i))).ok());
  }
  ASSERT_TRUE(ClusterEnvironment::control_plane().CompactEtcd().ok());
  ASSERT_TRUE(ClusterEnvironment::control_plane().RestartApiServer().ok());

  // A watcher that resumes from a version kept from before the compaction.
  Recorder recorder;
  WatcherOptions options;
  options.ns = ns;
  options.initial_resource_version = before->resource_version;
  Watcher watcher(*client, ResourceType::ConfigMaps(), options, recorder);
  kube::StopSignal stop;
  std::thread t([&] { watcher.Run(stop); });
  bool relisted = Eventually([&] {
    std::lock_guard<std::mutex> lock(recorder.mu);
    return recorder.replaces >= 1;
  });
  stop.Stop();
  t.join();
  ASSERT_TRUE(relisted);
  EXPECT_GE(watcher.stats().expired, 1);
  EXPECT_EQ(recorder.replaced_names, (std::set<std::string>{"old-0", "old-1", "old-2", "old-3", "old-4"}));
}

TEST(Informer, RestartingTheApiServerLosesNoChange) {
  auto client = AdminClient();
  std::string ns = TestNamespace(*client);
  const auto cm = ResourceType::ConfigMaps();
  WatcherOptions options;
  options.ns = ns;
  options.initial_backoff = std::chrono::milliseconds(50);
  Informer informer(*client, cm, options);
  std::atomic<int> notifications{0};
  informer.AddHandler([&](const std::string&) { ++notifications; });
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(std::chrono::seconds(30)));

  for (int i = 0; i < 40; ++i) ASSERT_TRUE(client->Create(cm, ns, ConfigMap(ns, "a-" + std::to_string(i))).ok());
  // Some of these are still in flight to the informer when the server dies.
  ASSERT_TRUE(ClusterEnvironment::control_plane().RestartApiServer().ok());
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(client->MergePatch(cm, ns, "a-" + std::to_string(i), {{"data", {{"v", "2"}}}}).ok());
  }
  for (int i = 20; i < 30; ++i) ASSERT_TRUE(client->Delete(cm, ns, "a-" + std::to_string(i)).ok());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(client->Create(cm, ns, ConfigMap(ns, "b-" + std::to_string(i))).ok());

  EXPECT_TRUE(Eventually([&] { return StoreMatchesServer(*client, informer, ns); }))
      << "store has " << informer.store().size() << " objects";
  EXPECT_EQ(informer.store().size(), 40u);
  ASSERT_NE(informer.store().Get(ns + "/a-3"), nullptr);
  EXPECT_EQ((*informer.store().Get(ns + "/a-3"))["data"]["v"], "2");
  EXPECT_EQ(informer.store().Get(ns + "/a-25"), nullptr);
  EXPECT_GE(notifications.load(), 40 + 20 + 10 + 10);
  informer.Stop();
}

TEST(Informer, ShutdownCancelsTheWatchWithinASecond) {
  auto client = AdminClient();
  std::string ns = TestNamespace(*client);
  WatcherOptions options;
  options.ns = ns;
  Informer informer(*client, ResourceType::ConfigMaps(), options);
  std::atomic<bool> watching{false};
  informer.watcher().set_on_progress([&](const WatcherStats& s) {
    if (s.watches > 0) watching = true;
  });
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(std::chrono::seconds(30)));
  ASSERT_TRUE(Eventually([&] { return watching.load(); }));
  // Give the watch request time to be sent and to block in a read.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto start = std::chrono::steady_clock::now();
  informer.Stop();
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_LT(took, std::chrono::seconds(1))
      << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms";
}

TEST(Informer, StopBeforeTheFirstListEndsPromptly) {
  // Against a port where nothing listens: the informer is retrying with backoff.
  kube::ClusterConfig nowhere = ClusterEnvironment::control_plane().AdminConfig();
  nowhere.port = 1;
  auto client = kube::Client::Create(nowhere);
  ASSERT_TRUE(client.ok());
  WatcherOptions options;
  options.initial_backoff = std::chrono::seconds(10);
  Informer informer(**client, ResourceType::ConfigMaps(), options);
  informer.Start();
  EXPECT_FALSE(informer.WaitForSync(std::chrono::milliseconds(300)));
  auto start = std::chrono::steady_clock::now();
  informer.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  EXPECT_GE(informer.stats().errors, 1);
}

// The transform sees every object, listed or watched, before the store does: what it
// drops is never held, while the object's key and version stay for the store's work.
TEST(Informer, StoresObjectsAsTheTransformLeavesThem) {
  auto client = AdminClient();
  std::string ns = TestNamespace(*client);
  Json listed = ConfigMap(ns, "listed");
  listed["data"] = {{"big", std::string(4096, 'x')}};
  ASSERT_TRUE(client->Create(ResourceType::ConfigMaps(), ns, listed).ok());
  WatcherOptions options;
  options.ns = ns;
  options.transform = [](Json& o) {
    StripManagedFields(o);
    o.erase("data");
  };
  Informer informer(*client, ResourceType::ConfigMaps(), options);
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(std::chrono::seconds(10)));
  Json watched = ConfigMap(ns, "watched");
  watched["data"] = {{"big", std::string(4096, 'y')}};
  ASSERT_TRUE(client->Create(ResourceType::ConfigMaps(), ns, watched).ok());
  ASSERT_TRUE(Eventually([&] { return informer.store().Get(ns + "/watched") != nullptr; }));
  for (const char* name : {"listed", "watched"}) {
    ObjectPtr o = informer.store().Get(ns + "/" + name);
    ASSERT_NE(o, nullptr) << name;
    EXPECT_FALSE(o->contains("data")) << name;
    EXPECT_FALSE((*o)["metadata"].contains("managedFields")) << name;
    EXPECT_FALSE(kube::ResourceVersionOf(*o).empty()) << name;
  }
  // The server still has both in full.
  auto server = client->Get(ResourceType::ConfigMaps(), ns, "watched");
  ASSERT_TRUE(server.ok());
  EXPECT_TRUE(server->contains("data"));
  EXPECT_TRUE((*server)["metadata"].contains("managedFields"));
  informer.Stop();
}

}  // namespace
}  // namespace gotestrun::runtime
