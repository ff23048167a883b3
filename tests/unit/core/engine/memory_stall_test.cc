// An attempt ended for a stall at its memory limit, read from its evidence folder: by
// the agent (result.json's memoryStall) and by the local sandbox (no result.json).
#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/files.h"
#include "core/engine/attempt_evidence.h"
#include "core/engine/step.h"
#include "core/evidence/evidence.h"

namespace gotestrun::engine {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kStall[] = "example.com/stall";
constexpr char kOther[] = "example.com/other";

class MemoryStallEvidenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "gtr-stall-evidence-XXXXXX").string();
    dir_ = ::mkdtemp(pattern.data());
    ASSERT_TRUE(evidence::AttemptLayout(dir_).Create().ok());
    plan_.packages = {kOther, kStall};
    plan_.memory = 256u << 20;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string dir_;
  policy::ShardPlan plan_;
};

TEST_F(MemoryStallEvidenceTest, AStallTheAgentEndedIsAKillOfItsPackageWithItsOwnOutcome) {
  evidence::AttemptResult r;
  r.limit_bytes = 256u << 20;
  r.peak_bytes = 256u << 20;
  r.oom_kills_seen = 0;
  r.packages = {
      {.package = kOther, .outcome = gotest::PackageOutcome::kPass},
      {.package = kStall,
       .outcome = gotest::PackageOutcome::kKilled,
       .running_tests = {"TestScan"},
       .binary = evidence::BinaryEnd{.exit_code = -1, .signal = 9}},
  };
  r.memory_stall =
      evidence::MemoryStallRecord{.package = kStall,
                                  .phase = "test-run",
                                  .running_tests = {"TestScan"},
                                  .since_unix_ms = 1000,
                                  .detected_unix_ms = 11000,
                                  .ended_unix_ms = 11000,
                                  .limit_bytes = 256u << 20,
                                  .evidence = "at 98-100% of its 256.0Mi limit for 10.0 s: 200,000 refaults/s",
                                  .heap_profile = "heap/example.com_stall/0002.pb.gz"};
  ASSERT_TRUE(WriteFileAtomic(evidence::AttemptLayout(dir_).result(), evidence::EncodeAttemptResult(r)).ok());

  const AttemptFindings ev = ReadAttemptEvidence(dir_, plan_, ContainerEnd{.exit_code = 1});
  EXPECT_EQ(AttemptOutcomeName(ev), "MemoryStall");
  EXPECT_EQ(ev.killed_package, kStall);
  EXPECT_EQ(ev.running_test, "TestScan");
  EXPECT_EQ(ev.phase, "test-run");
  EXPECT_FALSE(ev.container_oom_killed);
  EXPECT_THAT(ev.message, StartsWith("stalled at the limit: example.com/stall (test-run, TestScan)"));
  EXPECT_THAT(ev.message, HasSubstr("the agent ended its test binary"));
  EXPECT_THAT(ev.message, HasSubstr("200,000 refaults/s"));
  // The retry policy sees an OOM kill of the package; its neighbour passed.
  for (const policy::PackageOutcome& po : ev.outcome.packages) {
    EXPECT_EQ(po.result, po.package == kStall ? policy::PackageResult::kKilled : policy::PackageResult::kPassed);
  }
  // The diagnosis of the package carries the stall's figures first.
  bool diagnosed = false;
  for (const PackageDiagnosis& d : ev.diagnoses) {
    if (d.package != kStall) continue;
    ASSERT_FALSE(d.evidence.empty());
    EXPECT_THAT(d.evidence.front(), StartsWith("stalled at the limit, not OOM-killed: at 98-100%"));
    EXPECT_THAT(d.evidence.back(), HasSubstr("heap/example.com_stall/0002.pb.gz"));
    diagnosed = true;
  }
  EXPECT_TRUE(diagnosed);
}

TEST_F(MemoryStallEvidenceTest, AStallTheSandboxEndedIsAContainerKill) {
  // No result.json: the sandbox killed the agent with the tree.
  const AttemptFindings ev = ReadAttemptEvidence(
      dir_, plan_, ContainerEnd{.exit_code = 137, .memory_stall = true, .stall_evidence = "figures"});
  EXPECT_EQ(AttemptOutcomeName(ev), "MemoryStall");
  EXPECT_TRUE(ev.container_oom_killed);
  EXPECT_TRUE(ev.outcome.container_oom_killed);
  EXPECT_THAT(ev.message, StartsWith("stalled at the limit"));
  EXPECT_THAT(ev.message, HasSubstr("the sandbox ended the process tree; figures"));
}

TEST_F(MemoryStallEvidenceTest, WithoutAStallNothingChanges) {
  evidence::AttemptResult r;
  r.packages = {{.package = kOther, .outcome = gotest::PackageOutcome::kPass},
                {.package = kStall, .outcome = gotest::PackageOutcome::kPass}};
  ASSERT_TRUE(WriteFileAtomic(evidence::AttemptLayout(dir_).result(), evidence::EncodeAttemptResult(r)).ok());
  const AttemptFindings ev = ReadAttemptEvidence(dir_, plan_, ContainerEnd{.exit_code = 0});
  EXPECT_FALSE(ev.memory_stall);
  EXPECT_EQ(AttemptOutcomeName(ev), "Succeeded");
}

}  // namespace
}  // namespace gotestrun::engine
