// GoTestRun from Argo Workflows (crds/examples/argo/workflowtemplate.yaml): the
// GoTestRun in the template is accepted by a real API server; the template's
// successCondition, failureCondition and output jsonPaths, evaluated as Argo does,
// name fields that real finished runs have (runs of the fixture module by `gotestrun
// run`, whose status.yaml is the status the operator writes); and a Workflow's stop
// ends the GoTestRuns it owns.
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <map>

#include <gtest/gtest.h>

#include "base/files.h"
#include "controllers/argo/workflow_stop.h"
#include "core/api/yaml_json.h"
#include "tests/support/cluster_fixture.h"
#include "tests/support/crds.h"

namespace gotestrun::controllers::argo {
namespace {

namespace fs = std::filesystem;
using kube::ResourceType;
using testing::AdminClient;
using testing::ClusterEnvironment;
using testing::Eventually;
using testing::TestNamespace;

const bool kInstalled = (ClusterEnvironment::Install(), true);
const ResourceType kRuns{"gotestrun.dev", "v1alpha1", "gotestruns", true};

Json Template() {
  auto t = testing::LoadYamlFile(GTR_CRDS_DIR "/examples/argo/workflowtemplate.yaml");
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? *t : Json();
}

const Json& ResourceTemplate(const Json& workflow_template) {
  return workflow_template["spec"]["templates"][0]["resource"];
}

// The manifest as Argo renders it: {{workflow.parameters.X}} from the arguments.
Json RenderedManifest(const Json& workflow_template, std::map<std::string, std::string> given) {
  std::string manifest = ResourceTemplate(workflow_template)["manifest"];
  for (const Json& p : workflow_template["spec"]["arguments"]["parameters"]) {
    const std::string name = p["name"];
    const std::string value = given.contains(name) ? given[name] : p.value("value", "");
    const std::string ref = "{{workflow.parameters." + name + "}}";
    for (size_t at = manifest.find(ref); at != std::string::npos; at = manifest.find(ref))
      manifest.replace(at, ref.size(), value);
  }
  auto j = api::YamlToJson(manifest);
  EXPECT_TRUE(j.ok()) << j.status();
  return j.ok() ? *j : Json();
}

// A field of the object by a dotted path ("status.phase"), as text; nullopt when absent.
std::optional<std::string> Field(const Json& object, const std::string& path) {
  const Json* at = &object;
  size_t start = 0;
  while (start <= path.size()) {
    size_t dot = path.find('.', start);
    std::string key = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!at->is_object() || !at->contains(key)) return std::nullopt;
    at = &(*at)[key];
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return at->is_string() ? at->get<std::string>() : at->dump();
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == sep) {
      out.push_back(cur);
      cur.clear();
    } else if (c != ' ') {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

// Argo's resource conditions: label-selector requirements over the object's fields
// (key == v, key != v, key in (a,b), key notin (a,b)), comma-separated, all must hold.
bool Holds(const Json& object, const std::string& condition) {
  size_t depth = 0;
  std::vector<std::string> requirements;
  std::string cur;
  for (char c : condition) {
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (c == ',' && depth == 0) {
      requirements.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  requirements.push_back(cur);
  for (const std::string& r : requirements) {
    auto op_at = [&](const std::string& op) { return r.find(op); };
    std::string key, op;
    std::vector<std::string> values;
    if (size_t at = op_at(" notin "); at != std::string::npos) {
      key = r.substr(0, at), op = "notin";
      std::string list = r.substr(r.find('(') + 1, r.find(')') - r.find('(') - 1);
      values = Split(list, ',');
    } else if (size_t in = op_at(" in "); in != std::string::npos) {
      key = r.substr(0, in), op = "in";
      std::string list = r.substr(r.find('(') + 1, r.find(')') - r.find('(') - 1);
      values = Split(list, ',');
    } else if (size_t ne = op_at("!="); ne != std::string::npos) {
      key = r.substr(0, ne), op = "!=", values = {Split(r.substr(ne + 2), ',')[0]};
    } else if (size_t eq = op_at("=="); eq != std::string::npos) {
      key = r.substr(0, eq), op = "==", values = {Split(r.substr(eq + 2), ',')[0]};
    } else {
      ADD_FAILURE() << "not a requirement Argo understands: " << r;
      return false;
    }
    key = Split(key, ',')[0];
    std::optional<std::string> have = Field(object, key);
    bool member = have && std::find(values.begin(), values.end(), *have) != values.end();
    if ((op == "==" || op == "in") && !member) return false;
    if ((op == "!=" || op == "notin") && member) return false;
  }
  return true;
}

class ArgoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    client_ = AdminClient();
    ASSERT_TRUE(testing::InstallGoTestRunCrd(*client_, GTR_CRDS_DIR).ok());
    ASSERT_TRUE(testing::InstallCrd(*client_, GTR_E2E_TESTDATA "/argo_workflows_crd.yaml", kWorkflows).ok());
    ns_ = TestNamespace(*client_);
    work_ = (fs::temp_directory_path() / ("gotestrun-argo-" + std::to_string(::getpid()))).string();
    fs::create_directories(work_);
  }
  void TearDown() override { fs::remove_all(work_); }

  std::string Log(const std::string& name) {
    auto text = ReadFile(work_ + "/" + name + ".log");
    return text.ok() ? *text : text.status().ToString();
  }

  // A real run of the fixture module by gotestrun; its status as the GoTestRun object.
  Json FinishedRun(const std::string& name, std::vector<std::string> args, int want_exit) {
    std::string command = std::string("GOFLAGS=-mod=mod GOTOOLCHAIN=local ") + GTR_GOTESTRUN_BIN + " run";
    for (const std::string& a : args) command += " '" + a + "'";
    command += " --module-dir " GTR_FIXTURES_DIR "/memory --no-history --out " + work_ + "/" + name + " >" + work_ +
               "/" + name + ".log 2>&1";
    int rc = std::system(command.c_str());
    EXPECT_TRUE(WIFEXITED(rc) && WEXITSTATUS(rc) == want_exit) << command << ": " << rc << "\n" << Log(name);
    auto text = ReadFile(work_ + "/" + name + "/status.yaml");
    EXPECT_TRUE(text.ok()) << text.status();
    auto status = api::YamlToJson(text.ok() ? *text : "");
    EXPECT_TRUE(status.ok());
    return {{"apiVersion", "gotestrun.dev/v1alpha1"},
            {"kind", "GoTestRun"},
            {"metadata", {{"name", name}}},
            {"status", status.ok() ? *status : Json()}};
  }

  std::unique_ptr<kube::Client> client_;
  std::string ns_, work_;
};

TEST_F(ArgoTest, TheTemplatesGoTestRunIsAcceptedByTheApiServer) {
  Json manifest = RenderedManifest(Template(), {{"claimName", "workspace"}});
  auto created = client_->Create(kRuns, ns_, manifest);
  ASSERT_TRUE(created.ok()) << created.status() << "\n" << manifest.dump(2);
  EXPECT_EQ((*created)["spec"]["resources"]["memory"], "512Mi");
  EXPECT_EQ((*created)["spec"]["source"]["volume"]["subPath"], "src");
  const Json t = Template();
  const Json& resource = ResourceTemplate(t);
  EXPECT_EQ(resource["action"], "create");
  EXPECT_EQ(resource["setOwnerReference"], true);
}

TEST_F(ArgoTest, ConditionsAndOutputsMatchRealFinishedRuns) {
  const Json t = Template();
  const std::string success = ResourceTemplate(t)["successCondition"],
                    failure = ResourceTemplate(t)["failureCondition"];
  Json passed = FinishedRun("passed", {"./clean/a", "--memory", "256Mi"}, 0);
  ASSERT_EQ(passed["status"].value("phase", ""), "Succeeded");
  EXPECT_TRUE(Holds(passed, success)) << success;
  EXPECT_FALSE(Holds(passed, failure)) << failure;

  // largetest needs more than 200Mi (tests/fixtures/memory/README.md): it ends DoesNotFit.
  Json failed = FinishedRun("failed", {"./largetest", "--memory", "160Mi", "--max-memory", "200Mi"}, 3);
  ASSERT_EQ(failed["status"].value("phase", ""), "Failed");
  EXPECT_FALSE(Holds(failed, success));
  EXPECT_TRUE(Holds(failed, failure));

  // Every output names a field the finished runs have; the diagnosis is there on the kill.
  for (const Json& out : t["spec"]["templates"][0]["outputs"]["parameters"]) {
    std::string path = out["valueFrom"]["jsonPath"];
    ASSERT_TRUE(path.starts_with("{.") && path.ends_with("}")) << path;
    path = path.substr(2, path.size() - 3);
    if (path == "metadata.name") continue;
    EXPECT_TRUE(Field(failed, path).has_value()) << path << " in " << failed["status"].dump();
    if (path != "status.diagnosis") {
      EXPECT_TRUE(Field(passed, path).has_value()) << path;
    }
  }
  EXPECT_NE(Field(failed, "status.diagnosis").value_or("").find("LargeTest"), std::string::npos);
}

TEST_F(ArgoTest, AWorkflowsStopEndsTheGoTestRunsItOwns) {
  runtime::WatcherOptions o;
  o.ns = ns_;
  runtime::Informer workflows(*client_, kWorkflows, o), runs(*client_, kRuns, o);
  WorkflowStopReconciler reconciler(*client_, workflows, runs);
  runtime::Controller controller("workflow", reconciler, 1);
  WatchWorkflows(controller, workflows, runs);
  ASSERT_TRUE(controller.Start().ok());

  auto make_workflow = [&](const std::string& name) {
    auto wf = client_->Create(kWorkflows, ns_,
                              {{"apiVersion", "argoproj.io/v1alpha1"},
                               {"kind", "Workflow"},
                               {"metadata", {{"name", name}}},
                               {"spec", {{"entrypoint", "go-test"}}}});
    EXPECT_TRUE(wf.ok()) << wf.status();
    Json run = RenderedManifest(Template(), {{"claimName", "workspace"}});
    run["metadata"].erase("generateName");
    run["metadata"]["name"] = name + "-run";
    run["metadata"]["ownerReferences"] = Json::array({{{"apiVersion", "argoproj.io/v1alpha1"},
                                                       {"kind", "Workflow"},
                                                       {"name", name},
                                                       {"uid", (*wf)["metadata"]["uid"]},
                                                       {"controller", true},
                                                       {"blockOwnerDeletion", true}}});
    auto created = client_->Create(kRuns, ns_, run);
    EXPECT_TRUE(created.ok()) << created.status();
  };
  make_workflow("stopped");
  make_workflow("terminated");
  make_workflow("running");
  auto exists = [&](const std::string& name) { return client_->Get(kRuns, ns_, name).ok(); };
  ASSERT_TRUE(client_->MergePatch(kWorkflows, ns_, "stopped", {{"spec", {{"shutdown", "Stop"}}}}).ok());
  ASSERT_TRUE(client_->MergePatch(kWorkflows, ns_, "terminated", {{"spec", {{"shutdown", "Terminate"}}}}).ok());
  EXPECT_TRUE(Eventually([&] { return !exists("stopped-run") && !exists("terminated-run"); }));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_TRUE(exists("running-run"));
  controller.Stop();
  workflows.Stop();
  runs.Stop();
}

TEST(ArgoShutdown, OnlyStopAndTerminateOfTheOwnerByUid) {
  Json wf = {{"metadata", {{"namespace", "ci"}, {"name", "w"}, {"uid", "u1"}}}, {"spec", {{"shutdown", "Stop"}}}};
  auto run = [](const std::string& name, const std::string& uid, bool deleting = false) {
    Json r = {{"metadata",
               {{"namespace", "ci"},
                {"name", name},
                {"ownerReferences", Json::array({{{"kind", "Workflow"}, {"uid", uid}, {"controller", true}}})}}}};
    if (deleting) r["metadata"]["deletionTimestamp"] = "2026-12-03T10:00:00Z";
    return std::make_shared<const Json>(r);
  };
  std::vector<runtime::ObjectPtr> runs = {run("mine", "u1"), run("old-namesake", "u0"), run("going", "u1", true)};
  EXPECT_EQ(RunsToEnd(wf, runs), std::vector<std::string>{"mine"});
  wf["spec"]["shutdown"] = "Terminate";
  EXPECT_EQ(RunsToEnd(wf, runs), std::vector<std::string>{"mine"});
  wf["spec"].erase("shutdown");
  EXPECT_TRUE(RunsToEnd(wf, runs).empty());
  wf["spec"]["shutdown"] = "Later";
  EXPECT_TRUE(RunsToEnd(wf, runs).empty());
}

}  // namespace
}  // namespace gotestrun::controllers::argo
