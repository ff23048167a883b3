// GoTestRun as a Tekton custom task: the pure decisions, table by table.
#include "controllers/tekton/custom_run.h"
#include "core/api/status.h"

#include <gtest/gtest.h>

#include "base/timestamps.h"

namespace gotestrun::controllers::tekton {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

const auto kT0 = *ParseRfc3339("2026-12-03T10:00:00Z");

Json CustomRun(Json spec, Json status = Json::object()) {
  Json cr = {{"apiVersion", "tekton.dev/v1beta1"},
             {"kind", "CustomRun"},
             {"metadata", {{"name", "unit"}, {"namespace", "ci"}, {"uid", "u-1"}, {"generation", 1}}},
             {"spec", spec}};
  if (!status.empty()) cr["status"] = status;
  return cr;
}

Json Ref() { return {{"apiVersion", "gotestrun.dev/v1alpha1"}, {"kind", "GoTestRun"}}; }

Json Params(std::initializer_list<std::pair<const char*, Json>> ps) {
  Json out = Json::array();
  for (const auto& [n, v] : ps) out.push_back({{"name", n}, {"value", v}});
  return out;
}

const Json& Succeeded(const Json& status) { return status["conditions"][0]; }

TEST(CustomRun, OursOnlyWhenItNamesGoTestRun) {
  EXPECT_TRUE(IsGoTestRunTask(CustomRun({{"customRef", Ref()}})));
  EXPECT_TRUE(IsGoTestRunTask(CustomRun({{"customSpec", Ref()}})));
  EXPECT_FALSE(IsGoTestRunTask(CustomRun({{"customRef", {{"apiVersion", "example.dev/v1"}, {"kind", "GoTestRun"}}}})));
  EXPECT_FALSE(
      IsGoTestRunTask(CustomRun({{"customRef", {{"apiVersion", "gotestrun.dev/v1alpha1"}, {"kind", "Wait"}}}})));
  EXPECT_FALSE(IsGoTestRunTask(CustomRun({{"customRef", "junk"}})));
  EXPECT_FALSE(IsGoTestRunTask(Json::array()));
}

TEST(CustomRun, ParamsBecomeTheSpec) {
  Json cr = CustomRun({{"customRef", Ref()},
                       {"params", Params({{"packages", "./a/... ./b"},
                                          {"claimName", "workspace"},
                                          {"subPath", "src"},
                                          {"memory", "256Mi"},
                                          {"maxMemory", "1Gi"},
                                          {"parallel", "4"},
                                          {"flags", Json::array({"-race", "-count=1"})},
                                          {"tags", "integration,slow"},
                                          {"maxAttempts", 3}})}});
  auto run = DesiredGoTestRun(cr, std::nullopt, 0);
  ASSERT_TRUE(run.ok()) << run.status();
  const Json& spec = (*run)["spec"];
  EXPECT_EQ(spec["packages"], Json::array({"./a/...", "./b"}));
  EXPECT_EQ(spec["source"]["volume"], Json({{"claimName", "workspace"}, {"subPath", "src"}}));
  EXPECT_EQ(spec["resources"], Json({{"memory", "256Mi"}, {"maxMemory", "1Gi"}}));
  EXPECT_EQ(spec["goTest"]["parallel"], 4);
  EXPECT_EQ(spec["goTest"]["flags"], Json::array({"-race", "-count=1"}));
  EXPECT_EQ(spec["goTest"]["tags"], Json::array({"integration", "slow"}));
  EXPECT_EQ(spec["retry"]["maxAttempts"], 3);
  const Json& meta = (*run)["metadata"];
  EXPECT_EQ(meta["name"], "unit");
  EXPECT_EQ(meta["namespace"], "ci");
  EXPECT_EQ(meta["labels"]["tekton.dev/customRun"], "unit");
  EXPECT_EQ(meta["ownerReferences"][0]["kind"], "CustomRun");
  EXPECT_EQ(meta["ownerReferences"][0]["uid"], "u-1");
  EXPECT_EQ(meta["ownerReferences"][0]["controller"], true);
}

TEST(CustomRun, CustomSpecEmbedsTheSpecAndParamsOverrideIt) {
  Json custom = Ref();
  custom["spec"] = {{"packages", {"./..."}},
                    {"source", {{"git", {{"url", "https://example.com/r.git"}}}}},
                    {"resources", {{"memory", "512Mi"}}}};
  custom["metadata"] = {{"labels", {{"team", "payments"}}}};
  auto run =
      DesiredGoTestRun(CustomRun({{"customSpec", custom}, {"params", Params({{"memory", "1Gi"}})}}), std::nullopt, 0);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ((*run)["spec"]["resources"]["memory"], "1Gi");
  EXPECT_EQ((*run)["spec"]["source"]["git"]["url"], "https://example.com/r.git");
  EXPECT_EQ((*run)["metadata"]["labels"]["team"], "payments");
}

TEST(CustomRun, TemplateFromCustomRefNameAndASourceParamReplacesItsSource) {
  Json ref = Ref();
  ref["name"] = "nightly";
  Json cr = CustomRun({{"customRef", ref}, {"params", Params({{"gitUrl", "https://example.com/x.git"}})}});
  EXPECT_EQ(TemplateName(cr), "nightly");
  Json tmpl = {{"spec", {{"source", {{"volume", {{"claimName", "ws"}}}}}, {"goTest", {{"parallel", 2}}}}}};
  auto run = DesiredGoTestRun(cr, tmpl, 0);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_FALSE((*run)["spec"]["source"].contains("volume"));
  EXPECT_EQ((*run)["spec"]["source"]["git"]["url"], "https://example.com/x.git");
  EXPECT_EQ((*run)["spec"]["goTest"]["parallel"], 2);
}

TEST(CustomRun, BadParamsAreNamed) {
  struct Case {
    Json params;
    std::string says;
  };
  const std::vector<Case> cases = {
      {Params({{"memroy", "1Gi"}}), "unknown param \"memroy\"; a GoTestRun takes: claimName, cpu,"},
      {Params({{"parallel", "four"}}), "param parallel takes a whole number"},
      {Params({{"parallel", "4x"}}), "param parallel takes a whole number"},
      {Params({{"flags", "-race"}}), "param flags takes an array of strings"},
      {Params({{"image", Json::array({"a"})}}), "param image takes a string"},
      {Params({{"packages", Json::array({1, 2})}}), "param packages takes an array of strings"},
  };
  for (const Case& c : cases) {
    auto run = DesiredGoTestRun(CustomRun({{"customRef", Ref()}, {"params", c.params}}), std::nullopt, 0);
    ASSERT_FALSE(run.ok()) << c.params;
    EXPECT_EQ(run.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(run.status().message().find(c.says), std::string::npos) << run.status().message();
  }
}

TEST(CustomRun, RunNamesStayShortAndDistinctPerRetry) {
  EXPECT_EQ(GoTestRunName(CustomRun({}), 0), "unit");
  EXPECT_EQ(GoTestRunName(CustomRun({}), 2), "unit-retry2");
  Json long_name = CustomRun({});
  long_name["metadata"]["name"] = std::string(60, 'a') + "-pipeline-run-x";
  std::string a = GoTestRunName(long_name, 0), b = GoTestRunName(long_name, 1);
  EXPECT_LE(a.size(), 40u);
  EXPECT_LE(b.size(), 40u);
  EXPECT_NE(a, b);
  EXPECT_EQ(b.substr(b.size() - 7), "-retry1");
}

TEST(CustomRun, Timeouts) {
  EXPECT_EQ(*AttemptTimeout(CustomRun({})), std::optional<std::chrono::nanoseconds>(minutes(60)));
  EXPECT_EQ(*AttemptTimeout(CustomRun({{"timeout", "90s"}})), std::optional<std::chrono::nanoseconds>(seconds(90)));
  EXPECT_EQ(*AttemptTimeout(CustomRun({{"timeout", "0s"}})), std::nullopt);
  EXPECT_FALSE(AttemptTimeout(CustomRun({{"timeout", "soon"}})).ok());
}

TEST(CustomRunDecide, AFreshRunStartsAndAsksForItsGoTestRun) {
  Step s = Decide(CustomRun({{"customRef", Ref()}}), std::nullopt, kT0);
  EXPECT_EQ(s.action, Step::Action::kCreateRun);
  EXPECT_EQ(s.status["startTime"], "2026-12-03T10:00:00Z");
  EXPECT_EQ(Succeeded(s.status)["status"], "Unknown");
  EXPECT_EQ(Succeeded(s.status)["reason"], "Running");
  EXPECT_EQ(s.status["observedGeneration"], 1);
  ASSERT_TRUE(s.requeue_after);
  EXPECT_EQ(*s.requeue_after, minutes(60));
}

Json Running(const std::string& start) {
  return {
      {"startTime", start},
      {"conditions",
       Json::array(
           {{{"type", "Succeeded"}, {"status", "Unknown"}, {"reason", "Running"}, {"lastTransitionTime", start}}})}};
}

Json GoTestRun(const std::string& phase, Json extra = Json::object()) {
  Json st = {{"phase", phase}};
  st.update(extra);
  return {{"metadata", {{"name", "unit"}}}, {"status", st}};
}

TEST(CustomRunDecide, MirrorsARunningGoTestRunAndKeepsTheTransitionTime) {
  Json run = GoTestRun("Running");
  run["status"]["conditions"] =
      Json::array({{{"type", "Succeeded"}, {"status", "Unknown"}, {"message", "5 packages in 2 shards"}}});
  Step s = Decide(CustomRun({{"customRef", Ref()}}, Running("2026-12-03T09:59:00Z")), run, kT0);
  EXPECT_EQ(s.action, Step::Action::kNone);
  EXPECT_EQ(Succeeded(s.status)["message"], "GoTestRun unit Running: 5 packages in 2 shards");
  EXPECT_EQ(Succeeded(s.status)["lastTransitionTime"], "2026-12-03T09:59:00Z");
  EXPECT_EQ(*s.requeue_after, minutes(59));
}

TEST(CustomRunDecide, SucceededWithResultsAndExtraFields) {
  Json run = GoTestRun(
      "Succeeded",
      {{"message", "all 3 package(s) passed"},
       {"oomKills", 1},
       {"packages",
        Json::array({{{"package", "a"}, {"outcome", "Succeeded"}}, {{"package", "b"}, {"outcome", "Succeeded"}}})},
       {"diagnosis", Json::array({{{"package", "a"}, {"cause", "LeakAcrossTests"}, {"summary", "grew per test"}}})}});
  Step s = Decide(CustomRun({{"customRef", Ref()}}, Running("2026-12-03T09:59:00Z")), run, kT0);
  EXPECT_EQ(Succeeded(s.status)["status"], "True");
  EXPECT_EQ(Succeeded(s.status)["reason"], "Succeeded");
  EXPECT_EQ(s.status["completionTime"], "2026-12-03T10:00:00Z");
  EXPECT_EQ(s.status["results"], Json::parse(R"([{"name":"passed","value":"2"},{"name":"failed","value":"0"},
      {"name":"oomKills","value":"1"},{"name":"diagnosis","value":"a: LeakAcrossTests: grew per test"}])"));
  EXPECT_EQ(s.status["extraFields"]["goTestRun"], "unit");
  EXPECT_EQ(s.status["extraFields"]["diagnosis"][0]["cause"], "LeakAcrossTests");
  EXPECT_FALSE(s.requeue_after);
}

// The GoTestRun's status is read through its one codec: what its CRD does not say is
// not passed on to the Pipeline, and a wrongly typed field reads as absent.
TEST(CustomRunDecide, TheRunsStatusIsReadAsItsCodecReadsIt) {
  Json run = GoTestRun(
      "Failed",
      {{"message", "1 package failed"},
       {"oomKills", "2"},
       {"packages", Json::array({{{"package", "a"}, {"outcome", "TestsFailed"}}, {{"package", 7}, {"outcome", 3}}})},
       {"diagnosis",
        Json::array(
            {{{"package", "a"}, {"cause", "LeakAcrossTests"}, {"summary", 42}, {"injected", "not in the CRD"}}})}});
  Step s = Decide(CustomRun({{"customRef", Ref()}}, Running("2026-12-03T09:59:00Z")), run, kT0);
  const api::RunStatus codec = api::DecodeStatus(run["status"]);
  ASSERT_EQ(codec.diagnosis.size(), 1u);
  EXPECT_EQ(s.status["extraFields"]["diagnosis"], api::EncodeStatus(codec)["diagnosis"]);
  EXPECT_FALSE(s.status["extraFields"]["diagnosis"][0].contains("injected"));
  EXPECT_FALSE(s.status["extraFields"]["diagnosis"][0].contains("summary")) << "a number is no summary";
  int failed = 0;
  for (const api::PackageStatus& p : codec.packages) failed += p.outcome == "TestsFailed" ? 1 : 0;
  EXPECT_EQ(s.status["results"],
            Json::parse(R"([{"name":"passed","value":"0"},{"name":"failed","value":")" + std::to_string(failed) + R"("},
      {"name":"oomKills","value":"0"},{"name":"diagnosis","value":"a: LeakAcrossTests"}])"));
}

TEST(CustomRunDecide, FailedIsFalseOnlyOnceRetriesAreSpent) {
  Json run = GoTestRun("Failed", {{"message", "1 package did not fit"},
                                  {"packages", Json::array({{{"package", "big"}, {"outcome", "OOMKilled"}}})}});
  Json cr = CustomRun({{"customRef", Ref()}, {"retries", 1}}, Running("2026-12-03T09:30:00Z"));
  Step retry = Decide(cr, run, kT0);
  EXPECT_EQ(retry.action, Step::Action::kCreateRun);
  EXPECT_EQ(Succeeded(retry.status)["status"], "Unknown");
  ASSERT_EQ(retry.status["retriesStatus"].size(), 1u);
  EXPECT_EQ(retry.status["retriesStatus"][0]["conditions"][0]["status"], "False");
  EXPECT_EQ(retry.status["retriesStatus"][0]["results"][1]["value"], "1");
  EXPECT_EQ(retry.status["startTime"], "2026-12-03T10:00:00Z") << "the timeout is per attempt";
  EXPECT_EQ(CurrentRetry(retry.status), 1);

  cr["status"] = retry.status;
  Json second = run;
  second["metadata"]["name"] = "unit-retry1";
  Step end = Decide(cr, second, kT0 + minutes(5));
  EXPECT_EQ(Succeeded(end.status)["status"], "False");
  EXPECT_EQ(Succeeded(end.status)["reason"], "Failed");
  EXPECT_EQ(Succeeded(end.status)["message"], "1 package did not fit");
  EXPECT_EQ(end.status["results"][1]["value"], "1");
}

TEST(CustomRunDecide, TimeoutDeletesTheRunThenEnds) {
  Json cr = CustomRun({{"customRef", Ref()}, {"timeout", "10m"}}, Running("2026-12-03T09:50:00Z"));
  Step s = Decide(cr, GoTestRun("Running"), kT0);
  EXPECT_EQ(s.action, Step::Action::kDeleteRun);
  EXPECT_EQ(Succeeded(s.status)["status"], "False");
  EXPECT_EQ(Succeeded(s.status)["reason"], "CustomRunTimedOut");
  EXPECT_EQ(s.status["completionTime"], "2026-12-03T10:00:00Z");
  cr["spec"]["timeout"] = "0";
  EXPECT_EQ(Decide(cr, GoTestRun("Running"), kT0 + std::chrono::hours(10)).action, Step::Action::kNone);
}

TEST(CustomRunDecide, CancelDeletesTheRunWithTektonsReason) {
  Json cr = CustomRun({{"customRef", Ref()}, {"status", "RunCancelled"}, {"statusMessage", "pipeline stopped"}},
                      Running("2026-12-03T09:59:00Z"));
  Step s = Decide(cr, GoTestRun("Running"), kT0);
  EXPECT_EQ(s.action, Step::Action::kDeleteRun);
  EXPECT_EQ(Succeeded(s.status)["reason"], "CustomRunCancelled");
  EXPECT_EQ(Succeeded(s.status)["message"], "pipeline stopped");
  // Not in the cache is not proof of no run: it may have been created a moment ago.
  EXPECT_EQ(Decide(cr, std::nullopt, kT0).action, Step::Action::kDeleteRun);
}

TEST(CustomRunDecide, ARefusedCreateEndsItAsInvalidParams) {
  Step s = Decide(CustomRun({{"customRef", Ref()}}), std::nullopt, kT0, InvalidArgumentError("unknown param \"x\""));
  EXPECT_EQ(Succeeded(s.status)["status"], "False");
  EXPECT_EQ(Succeeded(s.status)["reason"], "InvalidParams");
  EXPECT_EQ(Succeeded(s.status)["message"], "unknown param \"x\"");
}

TEST(CustomRunDecide, ADoneRunIsLeftAlone) {
  Json st = Running("2026-12-03T09:00:00Z");
  st["conditions"][0]["status"] = "True";
  Json cr = CustomRun({{"customRef", Ref()}, {"status", "RunCancelled"}}, st);
  EXPECT_TRUE(IsDone(cr));
  Step s = Decide(cr, GoTestRun("Running"), kT0);
  EXPECT_EQ(s.action, Step::Action::kNone);
  EXPECT_EQ(s.status, st);
}

}  // namespace
}  // namespace gotestrun::controllers::tekton
