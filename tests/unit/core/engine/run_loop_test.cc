// The run loop over a driver that only answers from fields: what one step does in each
// state of a run, that a step over an unchanged world changes nothing, and how a stop
// ends a run. Attempts that end with real evidence are covered through both adapters
// (tests/unit/controllers, tests/unit/cli).
#include "core/engine/run_loop.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace gotestrun::engine {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class FakeDriver final : public RunDriver {
 public:
  std::string now = "2026-01-02T03:04:05Z";
  ListingObservation listing;
  StatusOr<MemoryHistory> history = MemoryHistory{};
  std::map<std::string, AttemptObservation> attempts;  // by pod
  int listings_started = 0;
  std::vector<std::string> told;

  std::string Now() override { return now; }
  ListingObservation ObserveListing() override { return listing; }
  Status StartListing() override {
    ++listings_started;
    return Status::Ok();
  }
  StatusOr<MemoryHistory> LoadHistory() override { return history; }
  std::string HistoryName() override { return "the-history"; }
  StatusOr<std::optional<std::vector<Growth>>> RecordHistory(const RunPeaks&) override {
    return std::optional<std::vector<Growth>>();
  }
  AttemptObservation ObserveAttempt(const AttemptRecord& a) override {
    auto it = attempts.find(a.pod);
    return it == attempts.end() ? AttemptObservation{} : it->second;
  }
  Status StartAttempt(const policy::ShardPlan&) override { return Status::Ok(); }
  void OnPlanned(std::size_t, const std::vector<policy::ShardPlan>&, int, const std::string& message) override {
    told.push_back("planned: " + message);
  }
  void OnHistoryNotUsed(const Status& why) override { told.push_back("history not used: " + why.message()); }
  void OnAttemptEnded(const AttemptRecord& a, const AttemptFindings&) override { told.push_back("ended " + a.pod); }
  void OnDecided(const Step&) override { told.push_back("decided"); }
  void OnHistoryNotRecorded(const Status& why) override { told.push_back("history not recorded: " + why.message()); }
  void OnSettled(const Settled& s) override { told.push_back("settled: " + s.summary); }
};

std::vector<evidence::PackageListing> Listing(const std::vector<std::string>& with_tests) {
  std::vector<evidence::PackageListing> out;
  for (const std::string& p : with_tests)
    out.push_back({.import_path = p, .name = "x", .dir = "/m", .test_go_files = {"x_test.go"}});
  out.push_back({.import_path = "ex/notests", .name = "x", .dir = "/m"});
  return out;
}

api::GoTestRunSpec Spec() {
  api::GoTestRunSpec spec;
  spec.policy.memory = 256ull << 20;
  spec.policy.max_memory = 1ull << 30;
  return spec;
}

class RunLoopTest : public ::testing::Test {
 protected:
  StatusOr<std::vector<policy::ShardPlan>> Step() { return ReconcileRun({"run", 2, spec_}, status_, driver_); }
  // A step, then another over the same world: the second changes nothing.
  std::vector<policy::ShardPlan> StepToRest() {
    StatusOr<std::vector<policy::ShardPlan>> first = Step();
    EXPECT_TRUE(first.ok()) << first.status();
    api::RunStatus before = status_;
    std::vector<std::string> told = driver_.told;
    EXPECT_TRUE(Step().ok());
    EXPECT_EQ(status_, before) << "a second step over an unchanged world changed the status";
    EXPECT_EQ(driver_.told, told) << "a second step told something again";
    return first.ok() ? *first : std::vector<policy::ShardPlan>{};
  }
  std::string SucceededReason() const {
    const api::Condition* c = status_.FindCondition("Succeeded");
    return c == nullptr ? "" : c->reason;
  }

  api::GoTestRunSpec spec_ = Spec();
  api::RunStatus status_;
  FakeDriver driver_;
};

TEST_F(RunLoopTest, ANewRunStartsItsListingOnce) {
  EXPECT_THAT(Step().value(), IsEmpty());
  EXPECT_EQ(driver_.listings_started, 1);
  EXPECT_EQ(status_.phase, "Planning");
  EXPECT_EQ(status_.start_time, driver_.now);
  EXPECT_EQ(status_.observed_generation, 2);
  EXPECT_EQ(SucceededReason(), "Planning");
  driver_.listing.state = Progressing::kRunning;
  driver_.now = "2026-01-02T03:05:00Z";
  StepToRest();
  EXPECT_EQ(driver_.listings_started, 1);
  EXPECT_EQ(status_.start_time, "2026-01-02T03:04:05Z");
}

struct ListingEnd {
  const char* name;
  StatusOr<std::vector<evidence::PackageListing>> listings;
  std::string phase;
  std::string reason;
  std::string message;
};

TEST_F(RunLoopTest, HowAListingEnds) {
  const std::vector<ListingEnd> table = {
      {"go list failed", UnavailableError("exit 1: no go.mod"), "Failed", "PlanningFailed",
       "planning failed: exit 1: no go.mod"},
      {"no package has tests", Listing({}), "Succeeded", "NoTests", "no packages with tests"},
      {"packages to test", Listing({"ex/a", "ex/b"}), "Running", "Running", ""},
  };
  for (const ListingEnd& row : table) {
    SCOPED_TRACE(row.name);
    status_ = {};
    driver_ = {};
    driver_.listing = {Progressing::kEnded, row.listings};
    std::vector<policy::ShardPlan> to_start = StepToRest();
    EXPECT_EQ(status_.phase, row.phase);
    EXPECT_EQ(SucceededReason(), row.reason);
    EXPECT_EQ(status_.message, row.message);
    EXPECT_EQ(driver_.listings_started, 0);
    if (row.phase != "Running") {
      EXPECT_THAT(to_start, IsEmpty());
      EXPECT_THAT(status_.shards, IsEmpty());
      continue;
    }
    // Planned: every shard's first attempt is to start, named, sized, and counted.
    ASSERT_EQ(status_.shards.size(), 1u);
    EXPECT_EQ(status_.shards[0].packages, (std::vector<std::string>{"ex/a", "ex/b"}));
    ASSERT_EQ(status_.shards[0].attempts.size(), 1u);
    EXPECT_EQ(status_.shards[0].attempts[0].pod, "run-s0-a1");
    EXPECT_EQ(status_.shards[0].attempts[0].outcome, "Pending");
    EXPECT_EQ(status_.shards[0].attempts[0].memory, "256Mi");
    EXPECT_EQ(status_.attempt_count, 1);
    EXPECT_EQ(status_.shard_count, 1);
    ASSERT_EQ(to_start.size(), 1u);
    EXPECT_EQ(to_start[0].packages, status_.shards[0].packages);
    EXPECT_THAT(driver_.told, ElementsAre("planned: 2 packages in 1 shards"));
  }
}

TEST_F(RunLoopTest, APlanIsSizedFromTheHistoryWhenThereIsOne) {
  MemoryHistory history;
  history.packages["ex/big"].test_run.push_back({.run = "earlier", .bytes = 700ull << 20});
  driver_.history = history;
  driver_.listing = {Progressing::kEnded, Listing({"ex/a", "ex/big"})};
  StepToRest();
  const api::Condition* c = status_.FindCondition("Succeeded");
  ASSERT_NE(c, nullptr);
  EXPECT_THAT(c->message, HasSubstr("sized from memory history the-history"));
}

TEST_F(RunLoopTest, WithoutItsHistoryARunIsPlannedAsAFirstRun) {
  driver_.history = UnavailableError("the API is down");
  driver_.listing = {Progressing::kEnded, Listing({"ex/a"})};
  StepToRest();
  EXPECT_EQ(status_.phase, "Running");
  EXPECT_EQ(driver_.told.front(), "history not used: the API is down");
}

TEST_F(RunLoopTest, AnAttemptIsStartedUntilItIsSeenAndRunningOnce) {
  driver_.listing = {Progressing::kEnded, Listing({"ex/a"})};
  ASSERT_EQ(StepToRest().size(), 1u);
  // Not seen yet: asked for again (starting is harmless when already started).
  EXPECT_EQ(Step().value().size(), 1u);
  driver_.attempts["run-s0-a1"].state = Progressing::kStarting;
  EXPECT_THAT(StepToRest(), IsEmpty());
  EXPECT_EQ(status_.shards[0].attempts[0].outcome, "Pending");
  driver_.attempts["run-s0-a1"] = {.state = Progressing::kRunning, .started_at = "2026-01-02T03:04:00Z"};
  StepToRest();
  EXPECT_EQ(status_.shards[0].attempts[0].outcome, "Running");
  EXPECT_EQ(status_.shards[0].attempts[0].start_time, "2026-01-02T03:04:00Z");
}

TEST_F(RunLoopTest, ASettledRunIsLeftAlone) {
  status_.phase = "Succeeded";
  api::RunStatus before = status_;
  EXPECT_THAT(Step().value(), IsEmpty());
  EXPECT_EQ(status_, before);
  EXPECT_EQ(driver_.listings_started, 0);
  EXPECT_THAT(driver_.told, IsEmpty());
}

TEST_F(RunLoopTest, AStopFailsWhatRanAndWhatNeverStarted) {
  driver_.listing = {Progressing::kEnded, Listing({"ex/a"})};
  StepToRest();
  driver_.attempts["run-s0-a1"] = {.state = Progressing::kEnded,
                                   .started_at = "2026-01-02T03:04:00Z",
                                   .end = {.exit_code = 143},
                                   .evidence_dir = "/nonexistent",
                                   .stopped = true};
  StopRun({"run", 2, spec_}, status_, driver_, "Interrupted", "stopped by SIGINT");
  EXPECT_EQ(status_.phase, "Failed");
  EXPECT_EQ(SucceededReason(), "Interrupted");
  EXPECT_EQ(status_.message, "stopped by SIGINT");
  const api::AttemptStatus& a = status_.shards[0].attempts[0];
  EXPECT_EQ(a.outcome, "Failed");
  EXPECT_EQ(a.message, "interrupted: the run was stopped");
  EXPECT_EQ(a.start_time, "2026-01-02T03:04:00Z");
  EXPECT_EQ(a.finish_time, driver_.now);
  EXPECT_THAT(status_.diagnosis, IsEmpty()) << "a stop is no OOM kill";
}

TEST_F(RunLoopTest, AStopWhilePlanningFailsTheRun) {
  driver_.listing.state = Progressing::kRunning;
  StepToRest();
  StopRun({"run", 2, spec_}, status_, driver_, "Interrupted", "stopped");
  EXPECT_EQ(status_.phase, "Failed");
  EXPECT_THAT(status_.shards, IsEmpty());
  EXPECT_EQ(status_.completion_time, driver_.now);
}

// The listing's counts hold only for a run that goes through each top-level test once.
TEST(KnownTestCountsTest, OnlyWhereTheFlagsRunEveryTestOnce) {
  FakeDriver driver;
  driver.listing.state = Progressing::kEnded;
  driver.listing.listings = std::vector<evidence::PackageListing>{
      {.import_path = "example.com/a", .top_level_tests = 5}, {.import_path = "example.com/b"}};
  auto counts = [&](std::vector<std::string> flags, std::vector<api::EnvVar> env = {}) {
    api::GoTestRunSpec spec;
    spec.flags = std::move(flags);
    spec.env = std::move(env);
    return KnownTestCounts(spec, driver);
  };
  const TestCounts known = {{"example.com/a", 5}};  // b's listing had no count
  EXPECT_EQ(counts({}), known);
  EXPECT_EQ(counts({"-v", "-count=1", "-shuffle=on"}), known);
  EXPECT_EQ(counts({"-count", "1"}), known);
  EXPECT_EQ(counts({"-count 1"}), known);
  EXPECT_EQ(counts({"--test.count=1"}), known);
  for (const std::vector<std::string>& flags : std::vector<std::vector<std::string>>{{"-run=TestA"},
                                                                                     {"-run", "TestA"},
                                                                                     {"-run TestA"},
                                                                                     {"-skip=TestB"},
                                                                                     {"--skip", "TestB"},
                                                                                     {"-test.run=TestA"},
                                                                                     {"-list=."},
                                                                                     {"-count=2"},
                                                                                     {"-count", "3"},
                                                                                     {"-count 10"},
                                                                                     {"-count"}}) {
    EXPECT_EQ(counts(flags), TestCounts{}) << testing::PrintToString(flags);
  }
  EXPECT_EQ(counts({}, {{.name = "GOFLAGS", .value = "-mod=mod  -run=TestA"}}), TestCounts{});
  EXPECT_EQ(counts({}, {{.name = "GOFLAGS", .value = "-count=5"}}), TestCounts{});
  EXPECT_EQ(counts({}, {{.name = "GOFLAGS", .value = "-mod=mod -count=1"}}), known);
  EXPECT_EQ(counts({}, {{.name = "NOT_GOFLAGS", .value = "-run=TestA"}}), known);

  driver.listing.state = Progressing::kRunning;
  EXPECT_EQ(counts({}), TestCounts{}) << "the listing has not ended";
  driver.listing.state = Progressing::kEnded;
  driver.listing.listings = InternalError("go list failed");
  EXPECT_EQ(counts({}), TestCounts{});
}

}  // namespace
}  // namespace gotestrun::engine
