#include "core/evidence/evidence.h"

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace gotestrun::evidence {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::SizeIs;

TEST(EscapePackageTest, KnownForms) {
  struct Case {
    std::string import_path;
    std::string escaped;
  };
  const std::vector<Case> cases{
      {"example.com/streams/killed", "example.com_streams_killed"},
      {"example.com/x/my_pkg", "example.com_x_my%5Fpkg"},
      {"fmt", "fmt"},
      {"gopkg.in/yaml.v3", "gopkg.in_yaml.v3"},
      {"example.com/a-b/c+d", "example.com_a-b_c+d"},
      {".hidden/x", "%2Ehidden_x"},
      {"a/.b", "a_.b"},
      {"100%/~x", "100%25_%7Ex"},
      {"with space/ünï", "with%20space_%C3%BCn%C3%AF"},
      {"/abs/dir", "_abs_dir"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(EscapePackage(c.import_path), c.escaped) << c.import_path;
    StatusOr<std::string> back = UnescapePackage(c.escaped);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, c.import_path);
  }
}

TEST(EscapePackageTest, DistinctPathsStayDistinct) {
  // '_' and '/' must not meet in the same name.
  EXPECT_NE(EscapePackage("a_b"), EscapePackage("a/b"));
  EXPECT_NE(EscapePackage("a%2Fb"), EscapePackage("a/b"));
}

TEST(EscapePackageTest, EveryByteRoundTrips) {
  std::string all;
  for (int c = 1; c < 256; ++c) all += static_cast<char>(c);
  for (std::size_t i = 0; i < all.size(); i += 40) {
    const std::string path = all.substr(i, 40);
    const std::string escaped = EscapePackage(path);
    EXPECT_EQ(escaped.find('/'), std::string::npos);
    StatusOr<std::string> back = UnescapePackage(escaped);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, path);
  }
}

TEST(EscapePackageTest, LongPathsAreShortenedWithAHash) {
  const std::string a = "example.com/" + std::string(300, 'a') + "/one";
  const std::string b = "example.com/" + std::string(300, 'a') + "/two";
  const std::string ea = EscapePackage(a);
  EXPECT_EQ(ea.size(), kMaxEscapedPackageBytes);
  EXPECT_NE(ea, EscapePackage(b));
  EXPECT_EQ(ea, EscapePackage(a));
  const StatusOr<std::string> back = UnescapePackage(ea);
  EXPECT_EQ(back.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(back.status().message(), HasSubstr("shortened"));
  // Right at the limit nothing is cut.
  const std::string at_limit(kMaxEscapedPackageBytes, 'x');
  EXPECT_EQ(EscapePackage(at_limit), at_limit);
}

TEST(EscapePackageTest, RejectsNamesItCannotHaveMade) {
  for (const std::string bad : {"", "%", "%4", "%zz", "a/b", ".x", "a b", "%", "a%4"}) {
    EXPECT_FALSE(UnescapePackage(bad).ok()) << bad;
  }
}

TEST(AttemptLayoutTest, Paths) {
  const AttemptLayout layout("/v/ns/run/s0/a1");
  EXPECT_EQ(layout.events(), "/v/ns/run/s0/a1/events.jsonl");
  EXPECT_EQ(layout.memory(), "/v/ns/run/s0/a1/memory.tsv");
  EXPECT_EQ(layout.result(), "/v/ns/run/s0/a1/result.json");
  EXPECT_EQ(layout.packages(), "/v/ns/run/s0/a1/packages.json");
  EXPECT_EQ(layout.gctrace("example.com/p"), "/v/ns/run/s0/a1/gctrace/example.com_p.log");
  EXPECT_EQ(layout.heap_dir("example.com/p"), "/v/ns/run/s0/a1/heap/example.com_p");
  EXPECT_EQ(layout.exec_record("example.com/p"), "/v/ns/run/s0/a1/exec/example.com_p.json");
  EXPECT_EQ(HeapProfileName(1), "0001.pb.gz");
  EXPECT_EQ(HeapProfileName(12345), "12345.pb.gz");
}

TEST(RunLayoutTest, FolderNamesInOnePlace) {
  const RunLayout run = VolumeRunLayout("/v", "ns", "run");
  EXPECT_EQ(run.dir(), "/v/ns/run");
  EXPECT_EQ(run.packages(), "/v/ns/run/plan/packages.json");
  EXPECT_EQ(run.attempt_dir(0, 1), "/v/ns/run/s0/a1");
  EXPECT_EQ(run.attempt(2, 3).result(), "/v/ns/run/s2/a3/result.json");
  EXPECT_EQ(AttemptName(12, 4), "s12/a4");
  EXPECT_EQ(ShardOfFolderName("s12"), 12);
  EXPECT_EQ(AttemptOfFolderName("a0"), 0);
  for (const char* other : {"", "s", "a1", "s01", "s-1", "s1x", "s99999999999", "plan"}) {
    EXPECT_EQ(ShardOfFolderName(other), std::nullopt) << other;
  }
  EXPECT_EQ(AttemptOfFolderName("s1"), std::nullopt);
}

TEST(PackageListingTest, RoundTrip) {
  const std::vector<PackageListing> packages{
      {.import_path = "example.com/a",
       .name = "a",
       .dir = "/m/a",
       .test_go_files = {"a_test.go"},
       .top_level_tests = 8},
      {.import_path = "example.com/b", .name = "b", .dir = "/m/b", .x_test_go_files = {"b_test.go", "c_test.go"}},
      {.import_path = "example.com/c", .name = "c", .dir = "/m/c"},
      {.import_path = "example.com/bad", .dir = "/m/bad", .error = "no Go files"},
  };
  const std::string json = EncodePackageListings(packages);
  EXPECT_THAT(json, HasSubstr(R"("hasTests": true)"));
  EXPECT_THAT(json, HasSubstr(R"("hasTests": false)"));
  StatusOr<std::vector<PackageListing>> back = DecodePackageListings(json);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, packages);
  EXPECT_TRUE((*back)[0].has_tests());
  EXPECT_TRUE((*back)[1].has_tests());
  EXPECT_FALSE((*back)[2].has_tests());
}

TEST(PackageListingTest, BadInput) {
  EXPECT_FALSE(DecodePackageListings("{").ok());
  EXPECT_FALSE(DecodePackageListings(R"({"importPath":"x"})").ok());
  EXPECT_FALSE(DecodePackageListings(R"([{"importPath": 3}])").ok());
  // A count that is no plausible count is left out; the listing still reads.
  for (const char* count : {"-1", "\"8\"", "1.5", "1e300", "2000000"}) {
    StatusOr<std::vector<PackageListing>> l =
        DecodePackageListings(std::string(R"([{"importPath": "x", "topLevelTests": )") + count + "}]");
    ASSERT_TRUE(l.ok()) << count << ": " << l.status();
    EXPECT_FALSE((*l)[0].top_level_tests.has_value()) << count;
  }
}

TEST(ExecRecordTest, RoundTrip) {
  const ExecRecord killed{.package = "example.com/streams/killed",
                          .argv = {"/tmp/b001/killed.test", "-test.paniconexit0", "-test.timeout=10m0s"},
                          .start_unix_ms = 1700000000000,
                          .end_unix_ms = 1700000000123,
                          .end = {.exit_code = -1, .signal = 9, .max_rss_bytes = 4 << 20},
                          .gomemlimit = 256u << 20};
  const ExecRecord failed{.package = "p", .end = {.exit_code = 127}, .error = "cannot start p.test"};
  for (const ExecRecord& record : {killed, failed}) {
    StatusOr<ExecRecord> back = DecodeExecRecord(EncodeExecRecord(record));
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, record);
  }
  EXPECT_THAT(EncodeExecRecord(failed), HasSubstr(R"("gomemlimit": null)"));
}

TEST(ExecRecordTest, BadInput) {
  EXPECT_FALSE(DecodeExecRecord("").ok());
  EXPECT_FALSE(DecodeExecRecord("[]").ok());
  EXPECT_FALSE(DecodeExecRecord(R"({"argv": []})").ok());  // no package
  EXPECT_FALSE(DecodeExecRecord(R"({"package": "p", "signal": "nine"})").ok());
}

AttemptResult SampleResult() {
  AttemptResult r;
  r.go_test_argv = {"go", "test", "-json", "./..."};
  r.go_test_exit_code = 1;
  r.start_unix_ms = 1700000000000;
  r.end_unix_ms = 1700000005000;
  r.memory_source = "cgroup2 /sys/fs/cgroup/pod/c";
  r.limit_bytes = 512u << 20;
  r.peak_bytes = 500u << 20;
  r.oom_kills_seen = 1;
  r.packages = {
      {.package = "example.com/ok",
       .outcome = gotest::PackageOutcome::kPass,
       .elapsed_seconds = 0.25,
       .binary = BinaryEnd{.exit_code = 0, .max_rss_bytes = 8 << 20},
       .gc_peak_heap_bytes = 4 << 20},
      {.package = "example.com/killed",
       .outcome = gotest::PackageOutcome::kKilled,
       .elapsed_seconds = 1.5,
       .running_tests = {"TestKilled", "TestKilled/inner"},
       .binary = BinaryEnd{.exit_code = -1, .signal = 9, .max_rss_bytes = 400 << 20}},
      {.package = "example.com/broken",
       .outcome = gotest::PackageOutcome::kBuildFailed,
       .build_phase = gotest::BuildPhase::kLink},
      {.package = "example.com/slow",
       .outcome = gotest::PackageOutcome::kFail,
       .failed_tests = {"TestSlow"},
       .timed_out = true},
      {.package = "example.com/none", .outcome = gotest::PackageOutcome::kSkip},
      {.package = "example.com/cut", .outcome = gotest::PackageOutcome::kNoResult},
  };
  return r;
}

BuildRecord StartOf(std::string tool, std::string package, std::int64_t pid, std::int64_t start_ms) {
  return BuildRecord{
      .tool = std::move(tool), .package = package, .import_path = package, .pid = pid, .start_unix_ms = start_ms};
}

BuildRecord EndOf(BuildRecord start, std::int64_t end_ms, std::uint64_t max_rss) {
  start.event = BuildEvent::kEnd;
  start.end_unix_ms = end_ms;
  start.end = BinaryEnd{.exit_code = 0, .max_rss_bytes = max_rss};
  return start;
}

TEST(BuildRecordTest, RoundTripIsOneLine) {
  BuildRecord start = StartOf("compile", "example.com/gen", 4242, 1700000000123);
  start.import_path = "example.com/gen [example.com/gen.test]";
  const std::string line = EncodeBuildRecord(start);
  EXPECT_TRUE(line.ends_with('\n'));
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  StatusOr<BuildRecord> decoded = DecodeBuildRecord(line);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(*decoded, start);

  BuildRecord end = EndOf(start, 1700000008223, 475u << 20);
  end.end.exit_code = -1;
  end.end.signal = 9;
  decoded = DecodeBuildRecord(EncodeBuildRecord(end));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(*decoded, end);

  // A name with a newline or invalid UTF-8 in it still makes one line.
  BuildRecord odd = StartOf("link", "a\nb\xff", 1, 2);
  const std::string odd_line = EncodeBuildRecord(odd);
  EXPECT_EQ(odd_line.find('\n'), odd_line.size() - 1);
  EXPECT_TRUE(DecodeBuildRecord(odd_line).ok());
}

TEST(BuildRecordTest, HostileInput) {
  for (const char* bad : {
           "",
           "{",
           "[]",
           "42",
           R"({"event":"start","tool":"compile"})",                // no package
           R"({"event":"start","package":"p"})",                   // no tool
           R"({"event":"begin","tool":"compile","package":"p"})",  // unknown event
           R"({"event":7,"tool":"compile","package":"p"})",
           R"({"event":"start","tool":["compile"],"package":"p"})",
           R"({"event":"start","tool":"compile","package":"p","pid":"12"})",
           R"({"event":"end","tool":"compile","package":"p","maxRssBytes":-5})",
           R"({"event":"end","tool":"compile","package":"p","signal":"KILL"})",
           R"({"event":"end","tool":"compile","package":"p","endUnixMs":{}})",
       }) {
    EXPECT_FALSE(DecodeBuildRecord(bad).ok()) << bad;
  }
  // A huge line is decoded or refused, never crashes.
  const std::string huge = R"({"event":"start","tool":"compile","package":")" + std::string(1 << 20, 'x') + "\"}";
  EXPECT_TRUE(DecodeBuildRecord(huge).ok());
  EXPECT_FALSE(DecodeBuildRecord(huge.substr(0, huge.size() - 1)).ok());
}

TEST(BuildPackageOfTest, TheGoCommandsNames) {
  EXPECT_EQ(BuildPackageOf("example.com/x"), "example.com/x");
  EXPECT_EQ(BuildPackageOf("example.com/x [example.com/x.test]"), "example.com/x");
  EXPECT_EQ(BuildPackageOf("example.com/x_test [example.com/x.test]"), "example.com/x");
  EXPECT_EQ(BuildPackageOf("example.com/dep [example.com/x.test]"), "example.com/x");
  EXPECT_EQ(BuildPackageOf("example.com/x.test"), "example.com/x");
  EXPECT_EQ(BuildPackageOf("math/bits"), "math/bits");
  EXPECT_EQ(BuildPackageOf(""), "");
  EXPECT_EQ(BuildPackageOf(".test"), ".test");
}

TEST(BuildLogTest, PairsStartsAndEndsByPid) {
  const BuildRecord a = StartOf("compile", "example.com/a", 10, 1000);
  const BuildRecord b = StartOf("compile", "example.com/b", 11, 1100);
  const BuildRecord c = StartOf("link", "example.com/a", 12, 3000);
  const std::string text = EncodeBuildRecord(a) + EncodeBuildRecord(b) + EncodeBuildRecord(EndOf(a, 2000, 100)) +
                           EncodeBuildRecord(c) + R"({"event":"start","tool":"comp)";
  const BuildLog log = ParseBuildLog(text);
  EXPECT_EQ(log.malformed_lines, 1u);  // the cut last line
  ASSERT_THAT(log.steps, SizeIs(3));
  EXPECT_EQ(log.steps[0].package, "example.com/a");
  ASSERT_TRUE(log.steps[0].ended());
  EXPECT_EQ(log.steps[0].end_unix_ms, 2000);
  EXPECT_EQ(log.steps[0].end->max_rss_bytes, 100u);
  EXPECT_FALSE(log.steps[1].ended());
  EXPECT_EQ(log.steps[1].start_unix_ms, 1100);
  EXPECT_EQ(log.steps[2].tool, "link");
  EXPECT_FALSE(log.steps[2].ended());
}

TEST(BuildLogTest, AReusedPidStartsANewStepAndAnOrphanEndStandsAlone) {
  const BuildRecord first = StartOf("compile", "example.com/a", 10, 1000);
  const BuildRecord second = StartOf("compile", "example.com/b", 10, 5000);
  const BuildRecord orphan = EndOf(StartOf("link", "example.com/c", 99, 4000), 4500, 7);
  const BuildLog log = ParseBuildLog(EncodeBuildRecord(first) + EncodeBuildRecord(EndOf(first, 2000, 1)) +
                                     EncodeBuildRecord(second) + "not json\n" + EncodeBuildRecord(orphan));
  EXPECT_EQ(log.malformed_lines, 1u);
  ASSERT_THAT(log.steps, SizeIs(3));
  EXPECT_TRUE(log.steps[0].ended());
  EXPECT_EQ(log.steps[1].package, "example.com/b");
  EXPECT_FALSE(log.steps[1].ended());
  EXPECT_EQ(log.steps[2].package, "example.com/c");
  EXPECT_EQ(log.steps[2].start_unix_ms, 4000);
  EXPECT_TRUE(log.steps[2].ended());
}

TEST(BuildLogTest, AnEndThatDoesNotMatchItsPidsStartDoesNotCloseIt) {
  const BuildRecord a = StartOf("compile", "example.com/a", 10, 1000);
  const BuildLog log =
      ParseBuildLog(EncodeBuildRecord(a) + EncodeBuildRecord(EndOf(StartOf("link", "example.com/z", 10, 0), 9, 9)));
  ASSERT_THAT(log.steps, SizeIs(2));
  EXPECT_FALSE(log.steps[0].ended());
  EXPECT_TRUE(log.steps[1].ended());
}

TEST(AttemptResultTest, RoundTrip) {
  const AttemptResult r = SampleResult();
  const std::string json = EncodeAttemptResult(r);
  EXPECT_THAT(json, HasSubstr(R"("outcome": "build-failed")"));
  EXPECT_THAT(json, HasSubstr(R"("outcome": "no-result")"));
  EXPECT_THAT(json, HasSubstr(R"("buildPhase": "link")"));
  EXPECT_THAT(json, HasSubstr(R"("buildPhase": "")"));
  EXPECT_THAT(json, HasSubstr(R"("binary": null)"));
  StatusOr<AttemptResult> back = DecodeAttemptResult(json);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, r);

  AttemptResult empty;
  back = DecodeAttemptResult(EncodeAttemptResult(empty));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, empty);
  EXPECT_FALSE(back->limit_bytes.has_value());
}

TEST(AttemptResultTest, MemoryStallRoundTrip) {
  AttemptResult r = SampleResult();
  EXPECT_THAT(EncodeAttemptResult(r), Not(HasSubstr("memoryStall")));
  r.memory_stall = MemoryStallRecord{.package = "example.com/stall",
                                     .phase = "test-run",
                                     .running_tests = {"TestScan", "TestScan/big"},
                                     .since_unix_ms = 1000,
                                     .detected_unix_ms = 11000,
                                     .ended_unix_ms = 11500,
                                     .limit_bytes = 256u << 20,
                                     .evidence = "at 99-100% of its 256.0Mi limit for 10.0 s",
                                     .heap_profile = "heap/example.com_stall/0003.pb.gz"};
  const std::string json = EncodeAttemptResult(r);
  EXPECT_THAT(json, HasSubstr(R"("outcome": "MemoryStall")"));
  StatusOr<AttemptResult> back = DecodeAttemptResult(json);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, r);
  EXPECT_FALSE(DecodeAttemptResult(R"({"version": 1, "memoryStall": 3})").ok());
  EXPECT_FALSE(DecodeAttemptResult(R"({"version": 1, "memoryStall": {"limitBytes": -1}})").ok());
}

TEST(AttemptResultTest, RunningIsWrittenAsNoResult) {
  AttemptResult r;
  r.packages = {{.package = "p", .outcome = gotest::PackageOutcome::kRunning}};
  StatusOr<AttemptResult> back = DecodeAttemptResult(EncodeAttemptResult(r));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->packages.at(0).outcome, gotest::PackageOutcome::kNoResult);
}

TEST(AttemptResultTest, BadInput) {
  EXPECT_EQ(DecodeAttemptResult(R"({"version": 2})").status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(DecodeAttemptResult(R"({"packages": []})").status().code(), StatusCode::kFailedPrecondition);
  EXPECT_FALSE(DecodeAttemptResult(R"({"version": 1, "packages": [{"package": "p", "outcome": "great"}]})").ok());
  EXPECT_FALSE(DecodeAttemptResult(R"({"version": 1, "peakBytes": -5})").ok());
  EXPECT_FALSE(
      DecodeAttemptResult(R"({"version": 1, "packages": [{"package": "p", "outcome": "pass", "binary": 3}]})").ok());
  EXPECT_FALSE(DecodeAttemptResult("not json").ok());
}

TEST(MemoryTsvTest, LineFormat) {
  EXPECT_EQ(FormatMemoryHeader("cgroup2\t/sys/fs/cgroup/x"), "#source\tcgroup2\t/sys/fs/cgroup/x\n");
  EXPECT_EQ(FormatMemoryHeader("none"), "#source\tnone\n");
  EXPECT_EQ(FormatMemorySample({.unix_ms = 1700000000123, .usage_bytes = 1048576, .limit_bytes = 536870912}),
            "1700000000123\t1048576\t536870912\n");
  EXPECT_EQ(FormatMemorySample({.unix_ms = 5, .usage_bytes = 7}), "5\t7\tmax\n");
  EXPECT_EQ(FormatMemorySample({.unix_ms = 5, .usage_bytes = 7, .anon_bytes = 3}), "5\t7\tmax\t3\n");

  const MemorySample s{.unix_ms = 1700000000123, .usage_bytes = 1048576, .limit_bytes = 536870912};
  StatusOr<MemorySample> back = ParseMemorySample(FormatMemorySample(s));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, s);
  back = ParseMemorySample("5\t7\tmax");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_FALSE(back->limit_bytes.has_value());
  EXPECT_FALSE(back->anon_bytes.has_value()) << "written before the anonymous part was recorded";
  const MemorySample with_anon{.unix_ms = 9, .usage_bytes = 100, .limit_bytes = 200, .anon_bytes = 60};
  back = ParseMemorySample(FormatMemorySample(with_anon));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, with_anon);
  for (const std::string bad :
       {"", "#source\tnone", "5\t7", "5\t7\t8\tx", "5\t7\t8\t9\t10", "a\t7\tmax", "5\t-7\tmax", "5\t7\tlots"}) {
    EXPECT_FALSE(ParseMemorySample(bad).ok()) << bad;
  }
}

TEST(MemoryTsvTest, TimelineSkipsACutLastLine) {
  const std::string text = FormatMemoryHeader("cgroup1\t/sys/fs/cgroup/memory/x") + "1\t100\tmax\n" + "2\t200\t1000\n" +
                           "garbage\n" + "3\t30";
  const MemoryTimeline t = ParseMemoryTimeline(text);
  EXPECT_EQ(t.source, "cgroup1\t/sys/fs/cgroup/memory/x");
  ASSERT_THAT(t.samples, SizeIs(2));
  EXPECT_EQ(t.samples[1].usage_bytes, 200u);
  EXPECT_EQ(t.samples[1].limit_bytes, 1000u);
  EXPECT_EQ(t.malformed_lines, 2u);

  const MemoryTimeline none = ParseMemoryTimeline(FormatMemoryHeader("none"));
  EXPECT_EQ(none.source, "none");
  EXPECT_THAT(none.samples, SizeIs(0));
  EXPECT_EQ(none.malformed_lines, 0u);
}

TEST(MemoryTsvTest, UsageAtIsTheLastSampleAtOrBefore) {
  const std::vector<MemorySample> samples = {
      {.unix_ms = 100, .usage_bytes = 10}, {.unix_ms = 200, .usage_bytes = 20}, {.unix_ms = 300, .usage_bytes = 30}};
  EXPECT_EQ(UsageAt(samples, 99), std::nullopt) << "nothing was sampled yet";
  EXPECT_EQ(UsageAt(samples, 200), 20u);
  EXPECT_EQ(UsageAt(samples, 299), 20u);
  EXPECT_EQ(UsageAt(samples, 5000), 30u);
  EXPECT_EQ(UsageAt({}, 5000), std::nullopt);
  EXPECT_EQ(SampleAt(samples, 250), &samples[1]);
  EXPECT_EQ(SampleAt(samples, 99), nullptr);
}

TEST(SnapshotsTsvTest, LineFormat) {
  const HeapSnapshotLine l{.unix_ms = 1700000000000,
                           .seq = 3,
                           .goroutines = 4,
                           .heap_alloc = 1000,
                           .heap_inuse = 2000,
                           .heap_sys = 4000,
                           .next_gc = 8000};
  EXPECT_EQ(FormatHeapSnapshotLine(l), "1700000000000\t3\t4\t1000\t2000\t4000\t8000\n");
  StatusOr<HeapSnapshotLine> back = ParseHeapSnapshotLine(FormatHeapSnapshotLine(l));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, l);
  EXPECT_FALSE(ParseHeapSnapshotLine("1\t2\t3\t4\t5\t6").ok());
  EXPECT_FALSE(ParseHeapSnapshotLine("1\t2\t3\t4\t5\t6\tx").ok());

  const std::string text = "1\t1\t2\t10\t20\t40\t80\nbad\n2\t2\t2\t11\t21\t41\t81\n3\t3\t2\t1";
  EXPECT_THAT(ParseHeapSnapshots(text),
              ElementsAre(HeapSnapshotLine{1, 1, 2, 10, 20, 40, 80}, HeapSnapshotLine{2, 2, 2, 11, 21, 41, 81}));
}

}  // namespace
}  // namespace gotestrun::evidence
