// GoTestRun as a Tekton custom task against a real kube-apiserver with Tekton's own
// CustomRun CRD (../shared/upstream/tekton) and the project's GoTestRun CRD. The test
// plays the part of the GoTestRun controller (it writes the GoTestRun's status), so
// what is checked is the CustomRun controller: what it creates, what Tekton reads back.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "controllers/tekton/reconciler.h"
#include "core/api/yaml_json.h"
#include "tests/support/cluster_fixture.h"
#include "tests/support/crds.h"

namespace gotestrun::controllers::tekton {
namespace {

using kube::ResourceType;
using testing::AdminClient;
using testing::ClusterEnvironment;
using testing::Eventually;
using testing::TestNamespace;

const bool kInstalled = (ClusterEnvironment::Install(), true);
const ResourceType kRuns{"gotestrun.dev", "v1alpha1", "gotestruns", true};

class CustomRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    client_ = AdminClient();
    ASSERT_TRUE(testing::InstallGoTestRunCrd(*client_, GTR_CRDS_DIR).ok());
    // Tekton's own CRD, read from the upstream copy beside the project.
    Status crd = testing::InstallCrd(*client_, GTR_TEKTON_CRDS_DIR "/300-customrun.yaml", kCustomRuns);
    ASSERT_TRUE(crd.ok()) << crd;
    StatusOr<bool> served = CustomRunsServed(*client_);
    ASSERT_TRUE(served.ok() && *served) << served.status();
    ns_ = TestNamespace(*client_);
    runtime::WatcherOptions o;
    o.ns = ns_;
    custom_runs_ = std::make_unique<runtime::Informer>(*client_, kCustomRuns, o);
    runs_ = std::make_unique<runtime::Informer>(*client_, kRuns, o);
    reconciler_ = std::make_unique<CustomRunReconciler>(*client_, *custom_runs_, *runs_);
    controller_ = std::make_unique<runtime::Controller>("customrun", *reconciler_, 2);
    WatchCustomRuns(*controller_, *custom_runs_, *runs_);
    ASSERT_TRUE(controller_->Start().ok());
  }
  // SetUp may have stopped at a failed assertion before making all of these.
  void TearDown() override {
    if (controller_) controller_->Stop();
    if (custom_runs_) custom_runs_->Stop();
    if (runs_) runs_->Stop();
  }

  Json CreateCustomRun(const std::string& name, Json spec) {
    Json cr = {
        {"apiVersion", "tekton.dev/v1beta1"}, {"kind", "CustomRun"}, {"metadata", {{"name", name}}}, {"spec", spec}};
    auto created = client_->Create(kCustomRuns, ns_, cr);
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? *created : Json();
  }
  Json Get(const ResourceType& type, const std::string& name) {
    auto got = client_->Get(type, ns_, name);
    return got.ok() ? *got : Json();
  }
  std::string Reason(const Json& cr) {
    const Json c = cr.value(Json::json_pointer("/status/conditions/0"), Json());
    return c.is_object() ? c.value("status", "") + "/" + c.value("reason", "") : "";
  }
  // What the GoTestRun controller would write at the end of a run.
  void FinishGoTestRun(const std::string& name, Json status) {
    Json run = Get(kRuns, name);
    ASSERT_TRUE(run.is_object());
    run["status"] = status;
    auto written = client_->UpdateStatus(kRuns, run);
    ASSERT_TRUE(written.ok()) << written.status();
  }
  static Json Params() {
    return Json::parse(
        R"([{"name":"packages","value":["./..."]},{"name":"claimName","value":"workspace"},{"name":"image","value":"golang:1.26"},
                           {"name":"memory","value":"256Mi"},{"name":"maxMemory","value":"1Gi"}])");
  }
  static Json Ref() { return {{"apiVersion", "gotestrun.dev/v1alpha1"}, {"kind", "GoTestRun"}}; }

  std::unique_ptr<kube::Client> client_;
  std::string ns_;
  std::unique_ptr<runtime::Informer> custom_runs_, runs_;
  std::unique_ptr<CustomRunReconciler> reconciler_;
  std::unique_ptr<runtime::Controller> controller_;
};

TEST_F(CustomRunTest, SucceedsWithResultsWhenItsGoTestRunSucceeds) {
  Json cr = CreateCustomRun("unit", {{"customRef", Ref()}, {"params", Params()}});
  ASSERT_TRUE(Eventually([&] { return Get(kRuns, "unit").is_object(); }));
  Json run = Get(kRuns, "unit");
  EXPECT_EQ(run["spec"]["resources"]["memory"], "256Mi");
  EXPECT_EQ(run["metadata"]["ownerReferences"][0]["uid"], cr["metadata"]["uid"]);
  ASSERT_TRUE(Eventually([&] { return Reason(Get(kCustomRuns, "unit")) == "Unknown/Running"; }));
  EXPECT_FALSE(Get(kCustomRuns, "unit")["status"].value("startTime", "").empty());

  FinishGoTestRun("unit", Json::parse(R"({"phase":"Succeeded","message":"all 2 package(s) passed","oomKills":1,
      "packages":[{"package":"x/a","outcome":"Succeeded"},{"package":"x/b","outcome":"Succeeded"}],
      "diagnosis":[{"package":"x/a","cause":"LeakAcrossTests","summary":"the live heap grew per test"}]})"));
  ASSERT_TRUE(Eventually([&] { return Reason(Get(kCustomRuns, "unit")) == "True/Succeeded"; }));
  Json done = Get(kCustomRuns, "unit");
  EXPECT_FALSE(done["status"].value("completionTime", "").empty());
  EXPECT_EQ(done["status"]["results"], Json::parse(R"([{"name":"passed","value":"2"},{"name":"failed","value":"0"},
      {"name":"oomKills","value":"1"},{"name":"diagnosis","value":"x/a: LeakAcrossTests: the live heap grew per test"}])"));
  EXPECT_EQ(done["status"]["extraFields"]["diagnosis"][0]["cause"], "LeakAcrossTests");
}

TEST_F(CustomRunTest, FailsWithTheOomDiagnosisInItsResults) {
  CreateCustomRun("big", {{"customRef", Ref()}, {"params", Params()}});
  ASSERT_TRUE(Eventually([&] { return Get(kRuns, "big").is_object(); }));
  FinishGoTestRun("big", Json::parse(R"({"phase":"Failed","message":"x/big: did not fit in 1Gi","oomKills":3,
      "packages":[{"package":"x/big","outcome":"OOMKilled"}],
      "diagnosis":[{"package":"x/big","cause":"LargeTest","summary":"TestHuge needs ~1.4 GiB"}]})"));
  ASSERT_TRUE(Eventually([&] { return Reason(Get(kCustomRuns, "big")) == "False/Failed"; }));
  Json done = Get(kCustomRuns, "big");
  EXPECT_EQ(done["status"]["conditions"][0]["message"], "x/big: did not fit in 1Gi");
  EXPECT_EQ(done["status"]["results"][1]["value"], "1");
  EXPECT_EQ(done["status"]["results"][2]["value"], "3");
  EXPECT_EQ(done["status"]["results"][3]["value"], "x/big: LargeTest: TestHuge needs ~1.4 GiB");
}

TEST_F(CustomRunTest, RetriesAFailedRunBeforeFailing) {
  CreateCustomRun("flaky", {{"customRef", Ref()}, {"params", Params()}, {"retries", 1}});
  ASSERT_TRUE(Eventually([&] { return Get(kRuns, "flaky").is_object(); }));
  FinishGoTestRun("flaky", {{"phase", "Failed"}, {"message", "tests failed"}});
  ASSERT_TRUE(Eventually([&] { return Get(kRuns, "flaky-retry1").is_object(); }));
  ASSERT_TRUE(Eventually([&] {
    Json cr = Get(kCustomRuns, "flaky");
    return cr["status"]["retriesStatus"].size() == 1u && Reason(cr) == "Unknown/Running";
  }));
  FinishGoTestRun("flaky-retry1", {{"phase", "Succeeded"}});
  ASSERT_TRUE(Eventually([&] { return Reason(Get(kCustomRuns, "flaky")) == "True/Succeeded"; }));
}

TEST_F(CustomRunTest, TimesOutAndDeletesItsRun) {
  CreateCustomRun("slow", {{"customRef", Ref()}, {"params", Params()}, {"timeout", "2s"}});
  ASSERT_TRUE(Eventually([&] { return Get(kRuns, "slow").is_object(); }));
  ASSERT_TRUE(Eventually([&] { return Reason(Get(kCustomRuns, "slow")) == "False/CustomRunTimedOut"; },
                         std::chrono::seconds(20)));
  EXPECT_TRUE(Eventually([&] { return !Get(kRuns, "slow").is_object(); }));
}

TEST_F(CustomRunTest, CancelledAsTektonAsksAndItsRunDeleted) {
  CreateCustomRun("stop", {{"customRef", Ref()}, {"params", Params()}});
  ASSERT_TRUE(Eventually([&] { return Get(kRuns, "stop").is_object(); }));
  auto patched =
      client_->MergePatch(kCustomRuns, ns_, "stop",
                          {{"spec", {{"status", "RunCancelled"}, {"statusMessage", "the PipelineRun was cancelled"}}}});
  ASSERT_TRUE(patched.ok()) << patched.status();
  ASSERT_TRUE(Eventually([&] { return Reason(Get(kCustomRuns, "stop")) == "False/CustomRunCancelled"; }));
  EXPECT_EQ(Get(kCustomRuns, "stop")["status"]["conditions"][0]["message"], "the PipelineRun was cancelled");
  EXPECT_TRUE(Eventually([&] { return !Get(kRuns, "stop").is_object(); }));
}

TEST_F(CustomRunTest, BadParamsEndItWithTheirNames) {
  Json params = Params();
  params.push_back({{"name", "memory"}, {"value", "lots"}});
  CreateCustomRun("bad", {{"customRef", Ref()}, {"params", params}});
  ASSERT_TRUE(Eventually([&] { return Reason(Get(kCustomRuns, "bad")) == "False/InvalidParams"; }));
  EXPECT_NE(Get(kCustomRuns, "bad")["status"]["conditions"][0].value("message", "").find("memory"), std::string::npos)
      << Get(kCustomRuns, "bad")["status"].dump();
  EXPECT_FALSE(Get(kRuns, "bad").is_object());
}

TEST_F(CustomRunTest, OtherCustomTasksAreLeftAlone) {
  CreateCustomRun("theirs", {{"customRef", {{"apiVersion", "example.dev/v1"}, {"kind", "Wait"}}}});
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  EXPECT_FALSE(Get(kCustomRuns, "theirs").contains("status") &&
               Get(kCustomRuns, "theirs")["status"].contains("conditions"));
  EXPECT_FALSE(Get(kRuns, "theirs").is_object());
}

// The README's examples, applied as a user would (crds/examples/tekton).
TEST_F(CustomRunTest, TheExampleCustomRunCreatesItsGoTestRun) {
  auto cr = testing::LoadYamlFile(GTR_CRDS_DIR "/examples/tekton/customrun.yaml");
  ASSERT_TRUE(cr.ok()) << cr.status();
  auto created = client_->Create(kCustomRuns, ns_, *cr);
  ASSERT_TRUE(created.ok()) << created.status();
  const std::string name = kube::MetaString(*created, "name");
  ASSERT_TRUE(Eventually([&] { return Get(kRuns, name).is_object(); }));
  Json run = Get(kRuns, name);
  EXPECT_EQ(run["spec"]["goTest"]["flags"], Json::array({"-race", "-count=1"}));
  EXPECT_EQ(run["spec"]["source"]["volume"]["claimName"], "workspace");
  EXPECT_EQ(run["spec"]["resources"]["maxMemory"], "4Gi");
}

// Tekton turns a Pipeline task whose taskRef names GoTestRun into a CustomRun with the
// task's params (pipeline params substituted), timeout and retries; this does the same.
TEST_F(CustomRunTest, ThePipelineExampleRunsAsACustomTaskAndReadsResultsThatExist) {
  auto pipeline = testing::LoadYamlFile(GTR_CRDS_DIR "/examples/tekton/pipeline.yaml");
  ASSERT_TRUE(pipeline.ok()) << pipeline.status();
  std::map<std::string, std::string> defaults;
  for (const Json& p : (*pipeline)["spec"]["params"]) defaults[p["name"]] = p.value("default", "");
  const Json* task = nullptr;
  for (const Json& t : (*pipeline)["spec"]["tasks"]) {
    if (t.contains("taskRef") && t["taskRef"].value("kind", "") == "GoTestRun") task = &t;
  }
  ASSERT_NE(task, nullptr);
  Json params = (*task)["params"];
  for (Json& p : params) {
    if (!p["value"].is_string()) continue;
    std::string v = p["value"];
    for (const auto& [k, d] : defaults) {
      const std::string ref = "$(params." + k + ")";
      if (size_t at = v.find(ref); at != std::string::npos) v.replace(at, ref.size(), d);
    }
    p["value"] = v;
  }
  Json spec = {{"customRef", (*task)["taskRef"]},
               {"params", params},
               {"timeout", (*task)["timeout"]},
               {"retries", (*task)["retries"]}};
  CreateCustomRun("payments-ci-go-test", spec);
  ASSERT_TRUE(Eventually([&] { return Get(kRuns, "payments-ci-go-test").is_object(); }));
  EXPECT_EQ(Get(kRuns, "payments-ci-go-test")["spec"]["resources"]["memory"], "512Mi");
  FinishGoTestRun("payments-ci-go-test", {{"phase", "Succeeded"}});
  ASSERT_TRUE(Eventually([&] { return Reason(Get(kCustomRuns, "payments-ci-go-test")) == "True/Succeeded"; }));
  // Every $(tasks.go-test.results.X) a later task reads is a result the CustomRun has.
  std::set<std::string> results;
  const Json done = Get(kCustomRuns, "payments-ci-go-test");
  for (const Json& r : done["status"]["results"]) results.insert(r["name"].get<std::string>());
  const std::string text = pipeline->dump();
  const std::string prefix = "$(tasks." + (*task)["name"].get<std::string>() + ".results.";
  int read = 0;
  for (size_t at = text.find(prefix); at != std::string::npos; at = text.find(prefix, at + 1)) {
    size_t end = text.find(')', at);
    std::string result = text.substr(at + prefix.size(), end - at - prefix.size());
    EXPECT_TRUE(results.contains(result)) << result << " in " << done["status"].dump();
    ++read;
  }
  EXPECT_GT(read, 0);
}

// The plain Task creates its GoTestRun with kubectl; the manifest in its script must be
// one the API server accepts, and the status fields it waits on and reads must exist.
TEST_F(CustomRunTest, ThePlainTaskExampleCreatesAGoTestRunTheServerAccepts) {
  auto task = testing::LoadYamlFile(GTR_CRDS_DIR "/examples/tekton/task.yaml");
  ASSERT_TRUE(task.ok()) << task.status();
  std::string script = (*task)["spec"]["steps"][0]["script"];
  size_t from = script.find("MANIFEST | kubectl create -f -\n"), to = script.find("\nMANIFEST\n");
  ASSERT_NE(from, std::string::npos);
  ASSERT_NE(to, std::string::npos);
  from = script.find('\n', from) + 1;
  std::string manifest = script.substr(from, to - from + 1);
  const std::map<std::string, std::string> env = {{"${name}", "plain-task"},
                                                  {"${CLAIM}", "workspace"},
                                                  {"${SUBPATH}", "src"},
                                                  {"${MEMORY}", "512Mi"},
                                                  {"${MAX_MEMORY}", "4Gi"}};
  for (const auto& [k, v] : env) {
    for (size_t at = manifest.find(k); at != std::string::npos; at = manifest.find(k))
      manifest.replace(at, k.size(), v);
  }
  auto object = api::YamlToJson(manifest);
  ASSERT_TRUE(object.ok()) << object.status() << "\n" << manifest;
  auto created = client_->Create(kRuns, ns_, *object);
  ASSERT_TRUE(created.ok()) << created.status();
  auto crd = testing::LoadYamlFile(GTR_CRDS_DIR "/gotestrun.dev_gotestruns.yaml");
  ASSERT_TRUE(crd.ok());
  const Json& status = (*crd)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["status"]["properties"];
  for (const char* field : {"completionTime", "phase", "oomKills"}) {
    EXPECT_TRUE(status.contains(field)) << field;
    EXPECT_NE(script.find(std::string("{.status.") + field + "}"), std::string::npos) << field;
  }
}

}  // namespace
}  // namespace gotestrun::controllers::tekton
