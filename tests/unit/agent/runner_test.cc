#include "agent/runner.h"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/files.h"
#include "core/diagnosis/gotest/test_stream_reader.h"

namespace gotestrun::agent {

using evidence::ExecRecord;
using evidence::PackageListing;
using evidence::PackageRecord;

namespace {

using gotest::BuildPhase;
using gotest::PackageOutcome;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

// Streams captured from real go test runs over tests/fixtures/gotest-streams.
gotest::RunSummary Captured(const std::string& name) {
  StatusOr<std::string> text = ReadFile(std::string(GOTEST_TESTDATA) + "/" + name);
  EXPECT_TRUE(text.ok()) << text.status();
  return gotest::SummarizeTestStream(text.ok() ? *text : "");
}

const PackageRecord* Find(const std::vector<PackageRecord>& records, std::string_view name) {
  for (const PackageRecord& r : records) {
    if (r.package == name) return &r;
  }
  return nullptr;
}

PackageListing Listed(const std::string& import_path) {
  return {.import_path = import_path, .name = import_path.substr(import_path.rfind('/') + 1)};
}

TEST(PackageRecordsTest, MixedOutcomes) {
  const std::vector<PackageRecord> records = PackageRecords({}, Captured("mixed.json"), {}, {});
  ASSERT_EQ(records.size(), 7u);
  EXPECT_EQ(Find(records, "example.com/streams/passing")->outcome, PackageOutcome::kPass);
  EXPECT_EQ(Find(records, "example.com/streams/skipping")->outcome, PackageOutcome::kPass);
  EXPECT_EQ(Find(records, "example.com/streams/notests")->outcome, PackageOutcome::kSkip);
  EXPECT_EQ(Find(records, "example.com/streams/panicking")->outcome, PackageOutcome::kFail);
  const PackageRecord* failing = Find(records, "example.com/streams/failing");
  EXPECT_EQ(failing->outcome, PackageOutcome::kFail);
  EXPECT_THAT(failing->failed_tests, ElementsAre("TestBroken", "TestSubtests", "TestSubtests/bad"));
  const PackageRecord* broken = Find(records, "example.com/streams/brokenbuild");
  EXPECT_EQ(broken->outcome, PackageOutcome::kBuildFailed);
  EXPECT_EQ(broken->build_phase, BuildPhase::kCompile);
  EXPECT_FALSE(broken->binary.has_value());
  EXPECT_DOUBLE_EQ(Find(records, "example.com/streams/parallel")->elapsed_seconds.value(), 0.04);
}

TEST(PackageRecordsTest, KilledBinaryWithItsExecRecord) {
  const std::string name = "example.com/streams/killed";
  const std::map<std::string, ExecRecord> exec{
      {name, ExecRecord{.package = name, .end = {.exit_code = -1, .signal = 9, .max_rss_bytes = 30 << 20}}}};
  const std::vector<PackageRecord> records =
      PackageRecords({Listed(name)}, Captured("killed.json"), exec, {{name, 28u << 20}});
  ASSERT_EQ(records.size(), 1u);
  const PackageRecord& r = records[0];
  EXPECT_EQ(r.outcome, PackageOutcome::kKilled);
  EXPECT_THAT(r.running_tests, ElementsAre("TestKilled", "TestKilled/inner"));
  ASSERT_TRUE(r.binary.has_value());
  EXPECT_EQ(r.binary->signal, 9);
  EXPECT_EQ(r.binary->max_rss_bytes, 30u << 20);
  EXPECT_EQ(r.gc_peak_heap_bytes, 28u << 20);
}

TEST(PackageRecordsTest, BuildPhases) {
  const std::vector<PackageRecord> compile = PackageRecords({}, Captured("compile_killed.json"), {}, {});
  const PackageRecord* c = Find(compile, "example.com/streams/compilevictim");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->outcome, PackageOutcome::kBuildFailed);
  EXPECT_EQ(c->build_phase, BuildPhase::kCompile);

  const std::vector<PackageRecord> link = PackageRecords({}, Captured("link_killed.json"), {}, {});
  const PackageRecord* l = Find(link, "example.com/streams/linkvictim");
  ASSERT_NE(l, nullptr);
  EXPECT_EQ(l->outcome, PackageOutcome::kBuildFailed);
  EXPECT_EQ(l->build_phase, BuildPhase::kLink);
}

TEST(PackageRecordsTest, ASignalInTheExecRecordMeansKilledEvenWithoutGoSayingSo) {
  // go test's own "signal: killed" line is missing (its output was cut), but the
  // wrapper saw the signal.
  const std::string stream = R"({"Action":"start","Package":"p"})"
                             "\n"
                             R"({"Action":"run","Package":"p","Test":"TestBig"})"
                             "\n"
                             R"({"Action":"output","Package":"p","Test":"TestBig","Output":"=== RUN   TestBig\n"})"
                             "\n"
                             R"({"Action":"output","Package":"p","Output":"FAIL\tp\t3.2s\n"})"
                             "\n"
                             R"({"Action":"fail","Package":"p","Elapsed":3.2})"
                             "\n";
  const std::map<std::string, ExecRecord> exec{{"p", ExecRecord{.package = "p", .end = {.signal = 9}}}};
  const std::vector<PackageRecord> records = PackageRecords({}, gotest::SummarizeTestStream(stream), exec, {});
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].outcome, PackageOutcome::kKilled);
  EXPECT_THAT(records[0].running_tests, ElementsAre("TestBig"));
}

TEST(PackageRecordsTest, PackagesTheStreamNeverFinished) {
  // go test itself died: one package mid-test, one never started, one only in an exec record.
  const std::string stream = R"({"Action":"start","Package":"a"})"
                             "\n"
                             R"({"Action":"run","Package":"a","Test":"TestA"})"
                             "\n";
  const std::map<std::string, ExecRecord> exec{{"c", ExecRecord{.package = "c", .end = {.exit_code = 0}}}};
  const std::vector<PackageRecord> records =
      PackageRecords({Listed("a"), Listed("b")}, gotest::SummarizeTestStream(stream), exec, {});
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].package, "a");
  EXPECT_EQ(records[0].outcome, PackageOutcome::kNoResult);
  EXPECT_THAT(records[0].running_tests, ElementsAre("TestA"));
  EXPECT_EQ(records[1].package, "b");
  EXPECT_EQ(records[1].outcome, PackageOutcome::kNoResult);
  EXPECT_THAT(records[1].running_tests, IsEmpty());
  EXPECT_EQ(records[2].package, "c");
  EXPECT_EQ(records[2].outcome, PackageOutcome::kNoResult);
  EXPECT_EQ(records[2].binary->exit_code, 0);
}

TEST(PackageRecordsTest, OrderIsGoListsThenTheStreams) {
  const std::vector<PackageRecord> records =
      PackageRecords({Listed("example.com/streams/parallel"), Listed("example.com/streams/brokenbuild")},
                     Captured("mixed.json"), {}, {});
  ASSERT_EQ(records.size(), 7u);
  EXPECT_EQ(records[0].package, "example.com/streams/parallel");
  EXPECT_EQ(records[1].package, "example.com/streams/brokenbuild");
}

}  // namespace
}  // namespace gotestrun::agent
