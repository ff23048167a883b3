// The test node's fast mode picks the evidence a real run left for the same packages:
// the killed attempt for a first attempt at or under the limit it was killed at, the
// attempt that passed otherwise.
#include "tests/node/canned_evidence.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "base/files.h"
#include "core/evidence/evidence.h"

namespace gotestrun::testing {
namespace {

namespace fs = std::filesystem;

constexpr std::uint64_t kMi = 1 << 20;

class CannedEvidenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("canned-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    const evidence::RunLayout run(dir_);
    fs::create_directories(run.plan_dir());
    ASSERT_TRUE(
        WriteFileAtomic(run.packages(), evidence::EncodePackageListings({Listing("m/leak"), Listing("m/a")})).ok());
    // s0: m/leak killed at 256Mi (no result.json), then passed at 544Mi.
    Attempt(0, 1, {"m/leak"}, 256 * kMi, false);
    Attempt(0, 2, {"m/leak"}, 544 * kMi, true);
    // s1: m/a passed at once.
    Attempt(1, 1, {"m/a"}, 256 * kMi, true);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static evidence::PackageListing Listing(const std::string& import_path) {
    return {.import_path = import_path, .name = "p", .dir = "/src/" + import_path, .test_go_files = {"p_test.go"}};
  }
  void Attempt(int shard, int attempt, const std::vector<std::string>& packages, std::uint64_t limit, bool result) {
    const evidence::AttemptLayout a = evidence::RunLayout(dir_).attempt(shard, attempt);
    ASSERT_TRUE(a.Create().ok());
    std::vector<evidence::PackageListing> listed;
    for (const std::string& p : packages) listed.push_back(Listing(p));
    ASSERT_TRUE(WriteFileAtomic(a.packages(), evidence::EncodePackageListings(listed)).ok());
    ASSERT_TRUE(WriteFileAtomic(a.memory(), "#source\tcgroup2\t/x\n1000\t4096\t" + std::to_string(limit) + "\n").ok());
    if (result) {
      ASSERT_TRUE(WriteFileAtomic(a.result(), "{}").ok());
    }
  }

  std::string dir_;
};

TEST_F(CannedEvidenceTest, KilledOnlyOnAFirstAttemptAtOrUnderTheCapturedLimit) {
  auto canned = CannedEvidence::Load(dir_);
  ASSERT_TRUE(canned.ok()) << canned.status();
  EXPECT_EQ(canned->shards(), 2u);
  EXPECT_EQ(canned->killed_shards(), 1u);
  const std::string killed = evidence::RunLayout(dir_).attempt_dir(0, 1);
  const std::string passed = evidence::RunLayout(dir_).attempt_dir(0, 2);

  auto first = canned->For({"m/leak"}, 1, 256 * kMi);
  ASSERT_TRUE(first.has_value());
  EXPECT_TRUE(first->oom_killed);
  EXPECT_EQ(first->evidence_dir, killed);

  for (auto [attempt, limit] : {std::pair{2, 256 * kMi}, std::pair{2, 544 * kMi}, std::pair{1, 1024 * kMi}}) {
    auto other = canned->For({"m/leak"}, attempt, limit);
    ASSERT_TRUE(other.has_value());
    EXPECT_FALSE(other->oom_killed) << attempt << " at " << limit;
    EXPECT_EQ(other->evidence_dir, passed);
  }
  auto clean = canned->For({"m/a"}, 1, 128 * kMi);
  ASSERT_TRUE(clean.has_value());
  EXPECT_FALSE(clean->oom_killed);
  EXPECT_FALSE(canned->For({"m/a", "m/leak"}, 1, kMi).has_value());  // no such shard was captured
  EXPECT_FALSE(canned->For({"m/other"}, 1, kMi).has_value());
  StatusOr<std::string> plan = ReadFile(evidence::RunLayout(dir_).packages());
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(canned->plan_packages(), *plan);
}

TEST_F(CannedEvidenceTest, CopiesAnAttemptAsTheAgentWouldHaveWrittenIt) {
  const std::string dest = dir_ + "/copy/s0/a1";
  ASSERT_TRUE(CopyEvidence(evidence::RunLayout(dir_).attempt_dir(0, 2), dest).ok());
  EXPECT_TRUE(fs::exists(evidence::AttemptLayout(dest).result()));
  EXPECT_TRUE(fs::exists(evidence::AttemptLayout(dest).memory()));
}

TEST(CannedEvidence, ARunFolderWithoutAPlanIsRefused) { EXPECT_FALSE(CannedEvidence::Load("/nonexistent/run").ok()); }

}  // namespace
}  // namespace gotestrun::testing
