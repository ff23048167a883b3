// A container killed while several test binaries ran, read from the folder it left:
// each binary that had started and not ended is named to the policy as running at
// the kill, so that it is isolated at once instead of bisected blindly.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <map>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/files.h"
#include "core/engine/attempt_evidence.h"
#include "core/evidence/evidence.h"

namespace gotestrun::engine {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;

class ContainerKillEvidenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "gtr-attempt-evidence-XXXXXX").string();
    dir_ = ::mkdtemp(pattern.data());
    ASSERT_TRUE(layout().Create().ok());
    plan_.packages = {"example.com/a", "example.com/b", "example.com/c", "example.com/d"};
    plan_.memory = 256u << 20;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  evidence::AttemptLayout layout() const { return evidence::AttemptLayout(dir_); }
  // The exec wrapper makes heap/<pkg>/ before it starts a binary.
  void Started(const std::string& package) { fs::create_directories(layout().heap_dir(package)); }
  void Events(const std::string& jsonl) { ASSERT_TRUE(WriteFileAtomic(layout().events(), jsonl).ok()); }

  std::string dir_;
  policy::ShardPlan plan_;
};

TEST_F(ContainerKillEvidenceTest, SeveralBinariesRunningAreEachNamedAsRunningAtTheKill) {
  Events(R"({"Action":"start","Package":"example.com/a"})"
         "\n"
         R"({"Action":"pass","Package":"example.com/a","Elapsed":0.1})"
         "\n"
         R"({"Action":"run","Package":"example.com/b","Test":"TestBig"})"
         "\n");
  Started("example.com/a");
  ASSERT_TRUE(
      WriteFileAtomic(layout().exec_record("example.com/a"), evidence::EncodeExecRecord({.package = "example.com/a"}))
          .ok());
  Started("example.com/b");
  Started("example.com/d");

  const AttemptFindings ev = ReadAttemptEvidence(dir_, plan_, ContainerEnd{.oom_killed = true, .exit_code = 137});
  EXPECT_TRUE(ev.container_oom_killed);
  EXPECT_TRUE(ev.killed_package.empty());
  EXPECT_EQ(ev.suspects, (std::vector<std::string>{"example.com/b", "example.com/d"}));
  EXPECT_EQ(ev.outcome.binaries_at_kill, 2);
  EXPECT_THAT(ev.message, HasSubstr("while 2 test binaries ran: example.com/b example.com/d"));
  std::map<std::string, const policy::PackageOutcome*> by_package;
  for (const policy::PackageOutcome& po : ev.outcome.packages) by_package[po.package] = &po;
  ASSERT_TRUE(by_package.contains("example.com/a"));
  EXPECT_EQ(by_package["example.com/a"]->result, policy::PackageResult::kPassed);
  for (const char* suspect : {"example.com/b", "example.com/d"}) {
    ASSERT_TRUE(by_package.contains(suspect)) << suspect;
    EXPECT_EQ(by_package[suspect]->result, policy::PackageResult::kNotRun) << suspect;
    EXPECT_TRUE(by_package[suspect]->running_at_kill) << suspect;
  }
  EXPECT_EQ(by_package["example.com/b"]->test_at_kill, "TestBig");
  EXPECT_EQ(by_package["example.com/b"]->phase, policy::Phase::kTestRun);
  // c never started: neither a suspect nor reported.
  EXPECT_FALSE(by_package.contains("example.com/c"));
  // No figures in the folder ask for a change: no cause is pinned on a bystander.
  EXPECT_TRUE(ev.diagnoses.empty());
}

TEST_F(ContainerKillEvidenceTest, OneBinaryRunningIsTheOneKilled) {
  Started("example.com/c");
  const AttemptFindings ev = ReadAttemptEvidence(dir_, plan_, ContainerEnd{.oom_killed = true, .exit_code = 137});
  EXPECT_EQ(ev.killed_package, "example.com/c");
  EXPECT_TRUE(ev.suspects.empty());
  EXPECT_EQ(ev.outcome.binaries_at_kill, 1);
  ASSERT_EQ(ev.outcome.packages.size(), 1u);
  EXPECT_EQ(ev.outcome.packages[0].result, policy::PackageResult::kKilled);
  EXPECT_FALSE(ev.outcome.packages[0].running_at_kill);
}

// An init container killed before go test: nothing of the packages is in the folder,
// no package is named, and the outcome says which step needs the memory. A failed one
// (a clone that could not fetch) is said with its exit code and where its log is.
TEST_F(ContainerKillEvidenceTest, AnInitContainerKilledBeforeGoTestIsTheShardsSetup) {
  ContainerEnd end;
  end.init_failure =
      ContainerEnd::InitFailure{.container = "clone", .reason = "OOMKilled", .exit_code = 137, .oom_killed = true};
  AttemptFindings ev = ReadAttemptEvidence(dir_, plan_, end);
  EXPECT_EQ(ev.outcome.setup_killed, "init container clone");
  EXPECT_TRUE(ev.outcome.packages.empty());
  EXPECT_FALSE(ev.outcome.container_oom_killed);
  EXPECT_EQ(ev.outcome.peak, plan_.memory);
  EXPECT_THAT(ev.message, HasSubstr("init container clone was OOM-killed before go test started"));

  end.init_failure = ContainerEnd::InitFailure{.container = "clone", .reason = "Error", .exit_code = 128};
  ev = ReadAttemptEvidence(dir_, plan_, end);
  EXPECT_TRUE(ev.outcome.setup_killed.empty());
  EXPECT_THAT(ev.message, AllOf(HasSubstr("init container clone failed (Error, exit code 128) before go test"),
                                HasSubstr("kubectl logs -c clone")));
}

// A package that passed close to its limit is named at risk; one with room is not.
TEST_F(ContainerKillEvidenceTest, APassNearTheLimitIsAtRisk) {
  evidence::AttemptResult r;
  r.limit_bytes = 256u << 20;
  r.peak_bytes = 200u << 20;
  r.packages = {
      {.package = "example.com/a",
       .outcome = gotest::PackageOutcome::kPass,
       .binary = evidence::BinaryEnd{.exit_code = 0, .max_rss_bytes = 240u << 20}},
      {.package = "example.com/b",
       .outcome = gotest::PackageOutcome::kPass,
       .binary = evidence::BinaryEnd{.exit_code = 0, .max_rss_bytes = 100u << 20}},
  };
  ASSERT_TRUE(WriteFileAtomic(layout().result(), evidence::EncodeAttemptResult(r)).ok());
  plan_.packages = {"example.com/a", "example.com/b"};
  const AttemptFindings ev = ReadAttemptEvidence(dir_, plan_, ContainerEnd{.exit_code = 0});
  ASSERT_EQ(ev.at_risk.size(), 1u);
  EXPECT_EQ(ev.at_risk[0].package, "example.com/a");
  EXPECT_EQ(ev.at_risk[0].kind, "NearLimit");
  EXPECT_THAT(ev.at_risk[0].message, HasSubstr("of its 256Mi limit (93.8%)"));
}

// The build peak is the cgroup's peak before the first test binary started: the cold
// build's 300Mi, not the 700Mi the tests took after it.
TEST_F(ContainerKillEvidenceTest, TheBuildPeakIsThePeakBeforeTheFirstTestBinary) {
  std::string mem = evidence::FormatMemoryHeader("cgroup2\t/sys/fs/cgroup/x");
  const std::int64_t t0 = 1'780'000'000'000;
  for (auto [ms, mib] : std::vector<std::pair<int, std::uint64_t>>{{0, 100}, {200, 300}, {400, 250}, {600, 700}}) {
    mem += evidence::FormatMemorySample({.unix_ms = t0 + ms, .usage_bytes = mib << 20});
  }
  ASSERT_TRUE(WriteFileAtomic(layout().memory(), mem).ok());
  plan_.packages = {"example.com/a", "example.com/b"};
  EXPECT_EQ(ReadAttemptEvidence(dir_, plan_, ContainerEnd{.exit_code = 0}).build_peak, 700u << 20)
      << "no test binary ran: all of it is the build";
  for (auto [pkg, start] : {std::pair{"example.com/a", 600}, std::pair{"example.com/b", 500}}) {
    ASSERT_TRUE(WriteFileAtomic(layout().exec_record(pkg),
                                evidence::EncodeExecRecord({.package = pkg, .start_unix_ms = t0 + start}))
                    .ok());
  }
  EXPECT_EQ(ReadAttemptEvidence(dir_, plan_, ContainerEnd{.exit_code = 0}).build_peak, 300u << 20);
}

// A binary killed while no test ran is in init only when none had started: one killed
// after its tests ended (the allocation that no longer fits can come between two tests,
// or after the last) is in its test run, and the cause is not pinned on package init.
TEST_F(ContainerKillEvidenceTest, AKillAfterTestsEndedIsInTheTestRunNotInit) {
  Events(R"({"Action":"start","Package":"example.com/a"})"
         "\n"
         R"({"Action":"run","Package":"example.com/a","Test":"TestOne"})"
         "\n"
         R"({"Action":"pass","Package":"example.com/a","Test":"TestOne","Elapsed":1})"
         "\n"
         R"({"Action":"run","Package":"example.com/b","Test":"TestX"})"
         "\n");
  evidence::AttemptResult r;
  r.limit_bytes = 256u << 20;
  r.packages = {
      {.package = "example.com/a",
       .outcome = gotest::PackageOutcome::kKilled,
       .binary = evidence::BinaryEnd{.exit_code = -1, .signal = 9, .max_rss_bytes = 250u << 20}},
      {.package = "example.com/b",
       .outcome = gotest::PackageOutcome::kKilled,
       .binary = evidence::BinaryEnd{.exit_code = -1, .signal = 9, .max_rss_bytes = 20u << 20}},
      {.package = "example.com/c",
       .outcome = gotest::PackageOutcome::kKilled,
       .binary = evidence::BinaryEnd{.exit_code = -1, .signal = 9, .max_rss_bytes = 5u << 20}},
  };
  ASSERT_TRUE(WriteFileAtomic(layout().result(), evidence::EncodeAttemptResult(r)).ok());
  plan_.packages = {"example.com/a", "example.com/b", "example.com/c"};
  const AttemptFindings ev = ReadAttemptEvidence(dir_, plan_, ContainerEnd{.exit_code = 1});
  std::map<std::string, policy::Phase> phase;
  for (const policy::PackageOutcome& po : ev.outcome.packages) phase[po.package] = po.phase;
  EXPECT_EQ(phase["example.com/a"], policy::Phase::kTestRun);
  EXPECT_EQ(phase["example.com/b"], policy::Phase::kTestRun);
  // c's stream shows no test at all: killed in init.
  EXPECT_EQ(phase["example.com/c"], policy::Phase::kInit);
}

// Files planted under evidence names (a FIFO, a link out of the folder, a file over its
// cap) are not read, and the attempt's message says which and why; a file that is
// simply missing is not news.
TEST_F(ContainerKillEvidenceTest, EvidenceFilesNotReadAreNamedInTheMessage) {
  ASSERT_EQ(::mkfifo(layout().memory().c_str(), 0644), 0);
  const std::string outside = dir_ + "-outside";
  ASSERT_TRUE(WriteFileAtomic(outside, "{}\n").ok());
  ASSERT_EQ(::symlink(outside.c_str(), layout().build_log().c_str()), 0);
  const int fd = ::open(layout().events().c_str(), O_WRONLY | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(evidence::kMaxEventsBytes) + 1), 0);
  ::close(fd);

  const AttemptFindings ev = ReadAttemptEvidence(dir_, plan_, ContainerEnd{.exit_code = 1});
  std::error_code ec;
  fs::remove(outside, ec);
  ASSERT_EQ(ev.left_out.size(), 3u) << ev.message;
  EXPECT_THAT(ev.left_out[0], HasSubstr("events.jsonl: 536870913 bytes, over its cap of 512Mi; not read"));
  EXPECT_THAT(ev.left_out[1], HasSubstr("memory.tsv: it is a FIFO, not a regular file"));
  EXPECT_THAT(ev.left_out[2], HasSubstr("build.jsonl: it is a symbolic link"));
  EXPECT_THAT(ev.message, HasSubstr("; evidence left out: events.jsonl: "));
  // result.json is missing (the agent was killed): that is not a file left out.
  EXPECT_THAT(ev.message, ::testing::Not(HasSubstr("result.json")));
}

}  // namespace
}  // namespace gotestrun::engine
