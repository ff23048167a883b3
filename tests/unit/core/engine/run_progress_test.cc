#include "core/engine/run_progress.h"

#include <gtest/gtest.h>

#include "core/engine/step.h"

namespace gotestrun::engine {
namespace {

using policy::kMiB;

policy::ShardPlan Plan(int index, int attempt, std::vector<std::string> packages, policy::Bytes memory) {
  policy::ShardPlan p;
  p.index = index;
  p.attempt = attempt;
  p.packages = std::move(packages);
  p.memory = memory;
  p.reason = "why";
  return p;
}

TEST(RunProgress, DiagnosesSurviveTheStatusRoundTripWithTheirActions) {
  RunProgress progress;
  progress.planned = true;
  AddAttempt(progress, Plan(0, 1, {"x/leak", "x/clean"}, 256 * kMiB), "run");
  AttemptFindings ev;
  ev.diagnoses.push_back({"x/leak",
                          policy::Phase::kTestRun,
                          policy::Cause::kLeakAcrossTests,
                          "the heap grew 40 MiB per test",
                          {"8 tests", "top: leak.remember"}});
  NoteDiagnoses(progress, ev, "run-s0-a1");
  Step step;
  step.started.push_back(Plan(1, 1, {"x/leak"}, 368 * kMiB));
  NoteActions(progress, step, "run");
  ASSERT_EQ(progress.diagnoses.size(), 1u);
  EXPECT_EQ(progress.diagnoses[0].action, "retried alone as run-s1-a1 (368Mi): why");

  api::RunStatus status;
  WriteProgress(progress, status);
  ASSERT_EQ(status.diagnosis.size(), 1u);
  EXPECT_EQ(status.diagnosis[0].cause, "LeakAcrossTests");
  EXPECT_EQ(status.diagnosis[0].phase, "test-run");
  EXPECT_EQ(status.diagnosis[0].attempt, "run-s0-a1");

  RunProgress back = ReadProgress(api::DecodeStatus(api::EncodeStatus(status)));
  ASSERT_EQ(back.diagnoses.size(), 1u);
  EXPECT_EQ(back.diagnoses[0].diagnosis.summary, "the heap grew 40 MiB per test");
  EXPECT_EQ(back.diagnoses[0].diagnosis.evidence, (std::vector<std::string>{"8 tests", "top: leak.remember"}));
  EXPECT_EQ(back.diagnoses[0].action, progress.diagnoses[0].action);
  api::RunStatus again;
  WriteProgress(back, again);
  EXPECT_EQ(again, status);  // a settled run writes nothing new
}

TEST(RunProgress, ALaterDiagnosisOfAPackageReplacesTheEarlierOne) {
  RunProgress progress;
  AttemptFindings first;
  first.diagnoses.push_back({"x/a", policy::Phase::kUnknown, policy::Cause::kUnknown, "not enough evidence", {}});
  NoteDiagnoses(progress, first, "run-s0-a1");
  AttemptFindings second;
  second.diagnoses.push_back({"x/a", policy::Phase::kInit, policy::Cause::kInitMemory, "init holds 300 MiB", {}});
  NoteDiagnoses(progress, second, "run-s1-a1");
  ASSERT_EQ(progress.diagnoses.size(), 1u);
  EXPECT_EQ(progress.diagnoses[0].diagnosis.cause, policy::Cause::kInitMemory);
  EXPECT_EQ(progress.diagnoses[0].attempt, "run-s1-a1");
}

TEST(RunProgress, APackageThatDidNotFitCarriesItsVerdictBesideItsDiagnosis) {
  RunProgress progress;
  AttemptFindings ev;
  ev.diagnoses.push_back(
      {"x/big", policy::Phase::kTestRun, policy::Cause::kLargeTest, "TestFullIndex needs 350 MiB", {}});
  NoteDiagnoses(progress, ev, "run-s0-a2");
  policy::PackageAttempt last;
  last.result = policy::PackageResult::kKilled;
  last.verdict = policy::Verdict::kDoesNotFit;
  progress.log["x/big"] = {last};
  progress.verdicts.push_back({"x/big", policy::Verdict::kDoesNotFit, "killed alone at 288Mi"});
  api::RunStatus status;
  WriteProgress(progress, status);
  ASSERT_EQ(status.diagnosis.size(), 1u);
  EXPECT_EQ(status.diagnosis[0].action, "DoesNotFit: killed alone at 288Mi");
  RunProgress back = ReadProgress(api::DecodeStatus(api::EncodeStatus(status)));
  ASSERT_EQ(back.verdicts.size(), 1u);
  EXPECT_EQ(back.verdicts[0].diagnosis, "killed alone at 288Mi");
}

}  // namespace
}  // namespace gotestrun::engine
