// The Kubernetes client against a real kube-apiserver and etcd.
#include <gtest/gtest.h>

#include <atomic>
#include <set>

#include "base/files.h"
#include "kube/client/client.h"
#include "tests/support/cluster_fixture.h"
#include "tests/support/tcp_proxy.h"

namespace gotestrun::kube {
namespace {

using testing::AdminClient;
using testing::ClusterEnvironment;
using testing::Eventually;
using testing::TestNamespace;

const bool kInstalled = (ClusterEnvironment::Install(), true);

Json ConfigMap(const std::string& ns, const std::string& name, Json data = Json::object()) {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"data", std::move(data)}};
}

TEST(KubeClient, ConfigMapCrud) {
  auto client = AdminClient();
  std::string ns = TestNamespace(*client);
  const auto cm = ResourceType::ConfigMaps();

  auto created = client->Create(cm, ns, ConfigMap(ns, "settings", {{"a", "1"}}));
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_FALSE(MetaString(*created, "uid").empty());

  auto again = client->Create(cm, ns, ConfigMap(ns, "settings"));
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists) << again.status();

  auto got = client->Get(cm, ns, "settings");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ((*got)["data"]["a"], "1");

  Json changed = *got;
  changed["data"]["b"] = "2";
  auto updated = client->Update(cm, changed);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_NE(ResourceVersionOf(*updated), ResourceVersionOf(*got));

  auto patched = client->MergePatch(cm, ns, "settings", {{"data", {{"a", nullptr}, {"c", "3"}}}});
  ASSERT_TRUE(patched.ok()) << patched.status();
  EXPECT_EQ((*patched)["data"], (Json{{"b", "2"}, {"c", "3"}}));

  // Deleting with a precondition that does not hold is refused and deletes nothing.
  DeleteOptions wrong_uid;
  wrong_uid.preconditions.uid = "00000000-0000-0000-0000-000000000000";
  Status refused = client->Delete(cm, ns, "settings", wrong_uid);
  EXPECT_EQ(refused.code(), StatusCode::kAborted) << refused;
  EXPECT_TRUE(client->Get(cm, ns, "settings").ok());

  DeleteOptions right;
  right.preconditions.uid = MetaString(*patched, "uid");
  right.preconditions.resource_version = ResourceVersionOf(*patched);
  ASSERT_TRUE(client->Delete(cm, ns, "settings", right).ok());
  EXPECT_EQ(client->Get(cm, ns, "settings").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(client->Delete(cm, ns, "settings").code(), StatusCode::kNotFound);
}

TEST(KubeClient, StaleUpdateIsAConflictTheCallerCanActOn) {
  auto client = AdminClient();
  std::string ns = TestNamespace(*client);
  const auto cm = ResourceType::ConfigMaps();
  auto v1 = client->Create(cm, ns, ConfigMap(ns, "counter", {{"n", "0"}}));
  ASSERT_TRUE(v1.ok()) << v1.status();

  Json first = *v1;
  first["data"]["n"] = "1";
  ASSERT_TRUE(client->Update(cm, first).ok());

  Json stale = *v1;  // still carries the first resourceVersion
  stale["data"]["n"] = "100";
  auto conflict = client->Update(cm, stale);
  ASSERT_FALSE(conflict.ok());
  EXPECT_EQ(conflict.status().code(), StatusCode::kAborted);
  EXPECT_EQ(conflict.status().reason(), "Conflict");

  // Acting on it: re-read, reapply, write again.
  auto fresh = client->Get(cm, ns, "counter");
  ASSERT_TRUE(fresh.ok());
  (*fresh)["data"]["n"] = "2";
  auto retried = client->Update(cm, *fresh);
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_EQ((*retried)["data"]["n"], "2");
}

TEST(KubeClient, ListOfMoreThanAThousandObjectsAcrossPages) {
  auto client = AdminClient();
  std::string ns = TestNamespace(*client);
  const auto cm = ResourceType::ConfigMaps();
  constexpr int kCount = 1100;
  // Four writers: the API server is the bottleneck, not the client.
  std::vector<std::thread> writers;
  std::atomic<int> failures{0};
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      auto c = AdminClient();
      for (int i = w; i < kCount; i += 4) {
        if (!c->Create(cm, ns, ConfigMap(ns, "cm-" + std::to_string(i))).ok()) ++failures;
      }
    });
  }
  for (auto& t : writers) t.join();
  ASSERT_EQ(failures, 0);

  ListOptions page_opts;
  page_opts.limit = 500;
  auto page = client->List(cm, ns, page_opts);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->items.size(), 500u);
  EXPECT_FALSE(page->continue_token.empty());

  auto all = client->ListAll(cm, ns, {}, 500);
  ASSERT_TRUE(all.ok()) << all.status();
  std::set<std::string> names;
  for (const Json& o : all->items) names.insert(MetaString(o, "name"));
  EXPECT_EQ(names.size(), static_cast<size_t>(kCount));
  EXPECT_EQ(all->items.size(), static_cast<size_t>(kCount));
  EXPECT_FALSE(all->resource_version.empty());
}

TEST(KubeClient, ListAllRestartsWhenItsSnapshotIsCompactedAway) {
  auto client = AdminClient();
  std::string ns = TestNamespace(*client);
  const auto cm = ResourceType::ConfigMaps();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(client->Create(cm, ns, ConfigMap(ns, "cm-" + std::to_string(i))).ok());
  ListOptions o;
  o.limit = 2;
  auto first = client->List(cm, ns, o);
  ASSERT_TRUE(first.ok());
  ASSERT_FALSE(first->continue_token.empty());
  ASSERT_TRUE(client->Create(cm, ns, ConfigMap(ns, "cm-late")).ok());
  ASSERT_TRUE(ClusterEnvironment::control_plane().CompactEtcd().ok());
  ASSERT_TRUE(ClusterEnvironment::control_plane().RestartApiServer().ok());

  o.continue_token = first->continue_token;
  auto expired = client->List(cm, ns, o);
  ASSERT_FALSE(expired.ok());
  EXPECT_EQ(expired.status().code(), StatusCode::kOutOfRange) << expired.status();

  auto all = client->ListAll(cm, ns, {}, 2);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->items.size(), 6u);
}

constexpr char kWidgetCrd[] = R"({
  "apiVersion": "apiextensions.k8s.io/v1",
  "kind": "CustomResourceDefinition",
  "metadata": {"name": "widgets.test.gotestrun.dev"},
  "spec": {
    "group": "test.gotestrun.dev",
    "names": {"kind": "Widget", "plural": "widgets", "singular": "widget", "listKind": "WidgetList"},
    "scope": "Namespaced",
    "versions": [{
      "name": "v1", "served": true, "storage": true,
      "subresources": {"status": {}},
      "schema": {"openAPIV3Schema": {
        "type": "object",
        "properties": {
          "spec": {"type": "object", "properties": {"size": {"type": "integer", "minimum": 1}}},
          "status": {"type": "object", "properties": {"phase": {"type": "string"}}}
        }
      }}
    }]
  }
})";

TEST(KubeClient, CustomResourceWithStatusSubresource) {
  auto client = AdminClient();
  std::string ns = TestNamespace(*client);
  auto crd = client->Create(ResourceType::CustomResourceDefinitions(), "", Json::parse(kWidgetCrd));
  ASSERT_TRUE(crd.ok() || crd.status().code() == StatusCode::kAlreadyExists) << crd.status();
  ASSERT_TRUE(Eventually([&] {
    auto c = client->Get(ResourceType::CustomResourceDefinitions(), "", "widgets.test.gotestrun.dev");
    if (!c.ok() || !(*c)["status"]["conditions"].is_array()) return false;
    for (const Json& cond : (*c)["status"]["conditions"]) {
      if (cond["type"] == "Established" && cond["status"] == "True") return true;
    }
    return false;
  }));
  const ResourceType widgets{"test.gotestrun.dev", "v1", "widgets", true};
  Json w = {{"apiVersion", "test.gotestrun.dev/v1"},
            {"kind", "Widget"},
            {"metadata", {{"name", "w1"}}},
            {"spec", {{"size", 3}}}};
  // The newly established type may take a moment to be served.
  StatusOr<Json> created = NotFoundError("not tried");
  ASSERT_TRUE(Eventually([&] {
    created = client->Create(widgets, ns, w);
    return created.status().code() != StatusCode::kNotFound;
  }));
  ASSERT_TRUE(created.ok()) << created.status();

  // Validation from the schema comes back as InvalidArgument naming the field.
  Json bad = w;
  bad["metadata"]["name"] = "w2";
  bad["spec"]["size"] = 0;
  auto invalid = client->Create(widgets, ns, bad);
  ASSERT_FALSE(invalid.ok());
  EXPECT_EQ(invalid.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(invalid.status().message().find("spec.size"), std::string::npos) << invalid.status();

  // The status subresource: writes to status leave spec alone and vice versa.
  Json with_status = *created;
  with_status["status"] = {{"phase", "Running"}};
  with_status["spec"]["size"] = 99;
  auto st = client->UpdateStatus(widgets, with_status);
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_EQ((*st)["status"]["phase"], "Running");
  EXPECT_EQ((*st)["spec"]["size"], 3);

  auto patched = client->MergePatch(widgets, ns, "w1", {{"status", {{"phase", "Succeeded"}}}}, Subresource::kStatus);
  ASSERT_TRUE(patched.ok()) << patched.status();
  EXPECT_EQ((*patched)["status"]["phase"], "Succeeded");

  auto spec_patch = client->MergePatch(widgets, ns, "w1", {{"spec", {{"size", 5}}}, {"status", {{"phase", "X"}}}});
  ASSERT_TRUE(spec_patch.ok()) << spec_patch.status();
  EXPECT_EQ((*spec_patch)["spec"]["size"], 5);
  EXPECT_EQ((*spec_patch)["status"]["phase"], "Succeeded");

  auto list = client->ListAll(widgets, ns);
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->items.size(), 1u);
  ASSERT_TRUE(client->Delete(widgets, ns, "w1").ok());
}

TEST(KubeClient, ClientCertificateAuthentication) {
  auto c = Client::Create(ClusterEnvironment::control_plane().CertificateConfig());
  ASSERT_TRUE(c.ok()) << c.status();
  auto ns = (*c)->Get(ResourceType::Namespaces(), "", "default");
  EXPECT_TRUE(ns.ok()) << ns.status();
}

TEST(KubeClient, BadTokenIsUnauthenticated) {
  ClusterConfig config = ClusterEnvironment::control_plane().AdminConfig();
  config.token = "not-the-token";
  auto c = Client::Create(config);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ((*c)->Get(ResourceType::Namespaces(), "", "default").status().code(), StatusCode::kUnauthenticated);
}

TEST(KubeClient, ServerCertificateIsVerified) {
  // A CA that did not sign the server's certificate: the connection must be refused.
  ClusterConfig config = ClusterEnvironment::control_plane().AdminConfig();
  auto other_ca = ReadFile(ClusterEnvironment::control_plane().dir() + "/admin.crt");
  ASSERT_TRUE(other_ca.ok());
  config.ca_pem = *other_ca;
  auto c = Client::Create(config);
  ASSERT_TRUE(c.ok());
  auto r = (*c)->Get(ResourceType::Namespaces(), "", "default");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition) << r.status();
}

// A kubeconfig whose server address is not in the certificate names the certificate's
// host in tls-server-name: that name is the one sent (SNI) and verified.
TEST(KubeClient, TlsServerNameIsTheNameVerified) {
  // 127.0.0.2 reaches the API server through the proxy; the certificate names
  // 127.0.0.1, localhost, 10.0.0.1 and kubernetes.default.svc, not it.
  auto proxy = testing::TcpProxy::Start(ClusterEnvironment::control_plane().apiserver_port(), 0x7f000002);
  ASSERT_TRUE(proxy.ok()) << proxy.status();
  ClusterConfig config = ClusterEnvironment::control_plane().AdminConfig();
  config.host = "127.0.0.2";
  config.port = (*proxy)->port();
  auto get = [&](const std::string& server_name) {
    config.tls_server_name = server_name;
    auto c = Client::Create(config);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? (*c)->Get(ResourceType::Namespaces(), "", "default").status() : c.status();
  };
  EXPECT_EQ(get("").code(), StatusCode::kFailedPrecondition) << get("");
  Status named = get("kubernetes.default.svc");
  EXPECT_TRUE(named.ok()) << named;
  // A certificate issued for another name than the one given is refused.
  EXPECT_EQ(get("other.example").code(), StatusCode::kFailedPrecondition) << get("other.example");
}

TEST(KubeClient, WatchStreamsEventsAndStopsOnRequest) {
  auto client = AdminClient();
  std::string ns = TestNamespace(*client);
  const auto cm = ResourceType::ConfigMaps();
  auto list = client->List(cm, ns);
  ASSERT_TRUE(list.ok());
  StopSignal stop;
  std::vector<std::pair<WatchEventType, std::string>> seen;
  std::mutex mu;
  WatchOptions o;
  o.resource_version = list->resource_version;
  Status result;
  std::thread watcher([&] {
    result = client->Watch(
        cm, ns, o,
        [&](WatchEvent&& ev) {
          std::lock_guard<std::mutex> lock(mu);
          if (ev.type != WatchEventType::kBookmark) seen.emplace_back(ev.type, MetaString(ev.object, "name"));
          return true;
        },
        &stop);
  });
  ASSERT_TRUE(client->Create(cm, ns, ConfigMap(ns, "a")).ok());
  ASSERT_TRUE(client->MergePatch(cm, ns, "a", {{"data", {{"k", "v"}}}}).ok());
  ASSERT_TRUE(client->Delete(cm, ns, "a").ok());
  ASSERT_TRUE(Eventually([&] {
    std::lock_guard<std::mutex> lock(mu);
    return seen.size() >= 3;
  }));
  stop.Stop();
  watcher.join();
  EXPECT_EQ(result.code(), StatusCode::kCancelled);
  std::vector<std::pair<WatchEventType, std::string>> expected = {
      {WatchEventType::kAdded, "a"}, {WatchEventType::kModified, "a"}, {WatchEventType::kDeleted, "a"}};
  EXPECT_EQ(seen, expected);
}

TEST(KubeClient, WatchFromACompactedVersionIsOutOfRange) {
  auto client = AdminClient();
  auto before = client->List(ResourceType::ConfigMaps(), "default");
  ASSERT_TRUE(before.ok());
  std::string ns = TestNamespace(*client);  // moves the revision past `before`
  ASSERT_TRUE(ClusterEnvironment::control_plane().CompactEtcd().ok());
  ASSERT_TRUE(ClusterEnvironment::control_plane().RestartApiServer().ok());
  WatchOptions o;
  o.resource_version = before->resource_version;
  o.timeout_seconds = 20;  // should it be accepted after all, fail in seconds, not minutes
  auto cm = ResourceType::ConfigMaps();
  Status s = client->Watch(cm, "", o, [](WatchEvent&&) { return true; });
  EXPECT_EQ(s.code(), StatusCode::kOutOfRange) << s;
  EXPECT_EQ(s.reason(), "Expired");
}

}  // namespace
}  // namespace gotestrun::kube
