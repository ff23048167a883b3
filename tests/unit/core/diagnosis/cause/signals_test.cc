// ReadPackageSignals on attempt folders captured from real runs of the agent over
// tests/fixtures/memory (testdata/regenerate.sh says how), then Classify on what it
// read; and the reader on the same folders damaged in every way a kill, a full disk or
// a hostile file can damage them: never a crash, a note instead.
#include "core/diagnosis/cause/signals.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/evidence/evidence.h"
#include "core/diagnosis/cause/classify.h"

namespace gotestrun::cause {
namespace {

namespace fs = std::filesystem;
using policy::Cause;
using policy::PackageResult;
using policy::Phase;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr std::uint64_t kMiB = std::uint64_t{1} << 20;
const std::string kTestdata = CAUSE_TESTDATA;
const std::string kModule = "gotestrun.dev/fixtures/memory/";

std::string Dir(std::string_view name) { return kTestdata + "/" + std::string(name); }

PackageSignals Read(std::string_view folder, std::string_view package, const ReadOptions& options = {}) {
  StatusOr<PackageSignals> s = ReadPackageSignals(Dir(folder), kModule + std::string(package), options);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? std::move(s).value() : PackageSignals{};
}

bool AnyNote(const PackageSignals& s, std::string_view text) {
  for (const std::string& n : s.notes) {
    if (n.find(text) != std::string::npos) return true;
  }
  return false;
}

// ---- the captured folders, read and classified ----

struct Captured {
  std::string folder;
  std::string package;
  std::optional<Cause> cause;  // nullopt: Classify gives nullopt
};

TEST(CapturedFoldersTest, EachIsReadAndClassifiedAsItsFixtureIntends) {
  const std::vector<Captured> table = {
      {"leak", "leak", Cause::kLeakAcrossTests},
      {"largetest", "largetest", Cause::kLargeTest},
      {"goroutineleak", "goroutineleak", Cause::kGoroutineLeak},
      {"nativemem", "nativemem", Cause::kNativeMemory},
      {"initmem", "initmem", Cause::kInitMemory},
      {"gcheadroom", "gcheadroom", Cause::kGcHeadroom},
      {"parallelspike", "parallelspike", Cause::kParallelSpike},
      {"compileheavy", "compileheavy", Cause::kBuildMemory},
      {"clean_a", "clean/a", std::nullopt},
      {"leak_passed", "leak", Cause::kLeakAcrossTests},
  };
  for (const Captured& c : table) {
    SCOPED_TRACE(c.folder);
    const PackageSignals s = Read(c.folder, c.package);
    EXPECT_EQ(s.package, kModule + c.package);
    const std::optional<Diagnosis> d = Classify(s);
    if (!c.cause) {
      EXPECT_FALSE(d.has_value()) << d->summary;
      continue;
    }
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->cause, *c.cause) << d->summary;
  }
}

TEST(CapturedFoldersTest, LeakKilledUnder200MiB) {
  const PackageSignals s = Read("leak", "leak");
  EXPECT_EQ(s.result, PackageResult::kKilled);
  EXPECT_EQ(s.phase, Phase::kTestRun);
  EXPECT_EQ(s.limit_bytes, 200 * kMiB);
  EXPECT_EQ(s.binary_signal, 9);
  ASSERT_TRUE(s.max_rss_bytes.has_value());
  EXPECT_GT(*s.max_rss_bytes, 100 * kMiB);
  EXPECT_LE(*s.max_rss_bytes, 200 * kMiB);
  ASSERT_GE(s.tests.size(), 3u);
  EXPECT_EQ(s.tests[0].name, "TestOrders");
  EXPECT_TRUE(s.tests[0].ended);
  ASSERT_TRUE(s.tests[0].start_ms && s.tests[0].end_ms);
  EXPECT_LE(*s.tests[0].start_ms, *s.tests[0].end_ms);
  EXPECT_FALSE(s.tests.back().ended);
  EXPECT_THAT(s.running_at_kill, ElementsAre(s.tests.back().name));
  // GC lines placed by the stream, in the tests that printed them, and timed.
  ASSERT_GE(s.gc.size(), 3u);
  EXPECT_TRUE(s.gctrace_recorded);
  for (const GcSample& g : s.gc) {
    EXPECT_TRUE(g.attributed_by_stream) << g.number;
    EXPECT_TRUE(g.unix_ms.has_value());
    EXPECT_GE(g.progress.test, 0);
  }
  for (std::size_t i = 1; i < s.gc.size(); ++i) EXPECT_GE(s.gc[i].live, s.gc[i - 1].live);
  EXPECT_TRUE(s.gomaxprocs.has_value());
  ASSERT_FALSE(s.heap.empty());
  EXPECT_GT(s.heap.back().heap_inuse, s.heap.front().heap_inuse);
  // The profiles name the leak and who allocated it.
  ASSERT_FALSE(s.inuse_sites.empty());
  EXPECT_EQ(s.inuse_sites[0].function, kModule + "leak.remember");
  EXPECT_THAT(s.inuse_sites[0].file, EndsWith("leak.go"));
  EXPECT_EQ(s.inuse_sites[0].origin, AllocationOrigin::kTest);
  EXPECT_THAT(s.inuse_sites[0].test, testing::StartsWith("Test"));
  ASSERT_TRUE(s.inuse.has_value());
  EXPECT_GT(s.inuse->tests, 32 * kMiB);
  EXPECT_TRUE(s.inuse->unix_ms.has_value());
  EXPECT_FALSE(s.growth_sites.empty());

  const std::optional<Diagnosis> d = Classify(s);
  ASSERT_TRUE(d.has_value());
  EXPECT_THAT(d->summary, AllOf(HasSubstr("leak:"), HasSubstr("leak.remember (leak.go:")));
  ASSERT_TRUE(d->finding.memory.has_value());
  EXPECT_GT(*d->finding.memory, *s.max_rss_bytes);
}

TEST(CapturedFoldersTest, ParallelSpikeSeesEightRunningAndItsFlag) {
  const PackageSignals s = Read("parallelspike", "parallelspike");
  EXPECT_EQ(s.parallel, 8);
  EXPECT_EQ(s.tests.size(), 16u);
  EXPECT_THAT(s.running_at_kill, testing::SizeIs(8));
  for (const TestSpan& t : s.tests) EXPECT_TRUE(t.parallel) << t.name;
  const std::optional<Diagnosis> d = Classify(s);
  ASSERT_TRUE(d.has_value());
  ASSERT_TRUE(d->finding.parallel.has_value());
  EXPECT_GE(*d->finding.parallel, 1);
  EXPECT_LE(*d->finding.parallel, 4);
}

TEST(CapturedFoldersTest, InitMemKilledBeforeAnyTest) {
  const PackageSignals s = Read("initmem", "initmem");
  EXPECT_EQ(s.result, PackageResult::kKilled);
  EXPECT_EQ(s.phase, Phase::kInit);
  EXPECT_THAT(s.tests, IsEmpty());
  EXPECT_THAT(s.running_at_kill, IsEmpty());
  ASSERT_FALSE(s.gc.empty());
  for (const GcSample& g : s.gc) EXPECT_EQ(g.progress.started, 0);
  EXPECT_GT(s.gc.back().live, 64 * kMiB);
}

TEST(CapturedFoldersTest, NativeMemHeapStaysSmall) {
  const PackageSignals s = Read("nativemem", "nativemem");
  ASSERT_TRUE(s.max_rss_bytes.has_value());
  EXPECT_GT(*s.max_rss_bytes, 128 * kMiB);
  for (const HeapSample& h : s.heap) EXPECT_LT(h.heap_sys, 32 * kMiB);
  for (const GcSample& g : s.gc) EXPECT_LT(g.heap_start, 32 * kMiB);
}

// With its listing's count (5 top-level tests, each mallocs 64 MiB: ~328 MiB measured
// in the fixture README), the projection covers the tests that had not ended (the one
// killed midway included); without it, only as many again as had started.
TEST(CapturedFoldersTest, AKnownTestCountProjectsTheTestsStillToCome) {
  for (const auto& [leak, tests] : {std::pair{"nativemem", 5}, std::pair{"leak", 8}}) {
    const PackageSignals assumed = Read(leak, leak);
    ReadOptions options;
    options.known_test_count = tests;
    const PackageSignals known = Read(leak, leak, options);
    const std::optional<Diagnosis> a = Classify(assumed);
    const std::optional<Diagnosis> k = Classify(known);
    ASSERT_TRUE(a && k && a->finding.memory && k->finding.memory) << leak;
    ASSERT_LT(known.tests.size(), static_cast<std::size_t>(tests)) << leak << ": killed before its last test";
    int ended = 0;
    for (const TestSpan& t : known.tests) ended += t.ended ? 1 : 0;
    EXPECT_THAT(a->evidence.back(), HasSubstr("assumed")) << leak;
    EXPECT_THAT(k->evidence.back(), Not(HasSubstr("assumed"))) << leak;
    EXPECT_THAT(k->evidence.back(), HasSubstr(std::to_string(tests - ended) + " more tests")) << leak;
  }
  // nativemem/ needs ~328 MiB (the fixture README): killed in its third test of five,
  // the projection covers it (and fills 90% of the next limit, policy/sizing.h).
  ReadOptions options;
  options.known_test_count = 5;
  const std::optional<Diagnosis> native = Classify(Read("nativemem", "nativemem", options));
  ASSERT_TRUE(native && native->finding.memory);
  EXPECT_GE(*native->finding.memory, 328 * kMiB) << native->evidence.back();
}

TEST(CapturedFoldersTest, GoroutineLeakCountsGrow) {
  const PackageSignals s = Read("goroutineleak", "goroutineleak");
  ASSERT_GE(s.heap.size(), 2u);
  EXPECT_GE(s.heap.back().goroutines, s.heap.front().goroutines + 150);
  ASSERT_FALSE(s.inuse_sites.empty());
  EXPECT_EQ(s.inuse_sites[0].function, kModule + "goroutineleak.worker");
  EXPECT_EQ(s.inuse_sites[0].origin, AllocationOrigin::kGoroutine);
}

TEST(CapturedFoldersTest, CompileKilled) {
  const PackageSignals s = Read("compileheavy", "compileheavy");
  EXPECT_EQ(s.result, PackageResult::kBuildKilled);
  EXPECT_EQ(s.phase, Phase::kCompile);
  EXPECT_EQ(s.killed_build_tool, "compile");
  EXPECT_FALSE(s.max_rss_bytes.has_value());
  EXPECT_THAT(s.tests, IsEmpty());
}

TEST(CapturedFoldersTest, CleanPackagePassed) {
  const PackageSignals s = Read("clean_a", "clean/a");
  EXPECT_EQ(s.result, PackageResult::kPassed);
  EXPECT_EQ(s.phase, Phase::kUnknown);
  EXPECT_EQ(s.limit_bytes, 512 * kMiB);
  EXPECT_GE(s.tests.size(), 1u);
  for (const TestSpan& t : s.tests) EXPECT_TRUE(t.ended);
  EXPECT_THAT(s.running_at_kill, IsEmpty());
}

TEST(CapturedFoldersTest, OptionsOverrideWhatTheFolderSays) {
  ReadOptions options;
  options.result = PackageResult::kKilled;
  options.phase = Phase::kTestRun;
  options.known_test_count = 8;
  const PackageSignals s = Read("leak_passed", "leak", options);
  EXPECT_EQ(s.result, PackageResult::kKilled);
  EXPECT_EQ(s.phase, Phase::kTestRun);
  EXPECT_EQ(s.known_test_count, 8);
}

TEST(CapturedFoldersTest, SitesAreCapped) {
  ReadOptions options;
  options.max_sites = 1;
  const PackageSignals s = Read("leak_passed", "leak", options);
  EXPECT_LE(s.inuse_sites.size(), 1u);
  EXPECT_LE(s.growth_sites.size(), 1u);
}

TEST(ReadPackageSignalsTest, Errors) {
  EXPECT_EQ(ReadPackageSignals(Dir("leak"), "").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadPackageSignals(Dir("leak"), "example.com/not/here").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(ReadPackageSignals(Dir("no-such-folder"), kModule + "leak").status().code(), StatusCode::kNotFound);
}

TEST(ParseEventTimeMsTest, Forms) {
  EXPECT_EQ(ParseEventTimeMs("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(ParseEventTimeMs("1970-01-01T00:00:01.5Z"), 1500);
  EXPECT_EQ(ParseEventTimeMs("2026-11-28T21:09:20.767485604Z"), 1795900160767);
  EXPECT_EQ(ParseEventTimeMs("2026-11-28T23:09:20.767485604+02:00"), 1795900160767);
  EXPECT_EQ(ParseEventTimeMs("2026-11-28T19:39:20.767-01:30"), 1795900160767);
  EXPECT_EQ(ParseEventTimeMs("2000-02-29T12:00:00.1Z"), 951825600100);
  for (std::string_view bad : {"", "2026-11-28", "2026-11-28T21:09:20", "2026-11-28T21:09:20.Z", "2026-13-28T21:09:20Z",
                               "2026-11-28T21:09:20Zjunk", "2026-11-28T21:09:20+0200", "x026-11-28T21:09:20Z"}) {
    EXPECT_EQ(ParseEventTimeMs(bad), std::nullopt) << bad;
  }
}

// ---- damaged folders ----

class TempCopy {
 public:
  explicit TempCopy(std::string_view folder) {
    std::string pattern = (fs::temp_directory_path() / "cause-signals-XXXXXX").string();
    root_ = ::mkdtemp(pattern.data());
    dir_ = root_ + "/attempt";
    fs::copy(Dir(folder), dir_, fs::copy_options::recursive);
  }
  ~TempCopy() { fs::remove_all(root_); }
  TempCopy(const TempCopy&) = delete;
  TempCopy& operator=(const TempCopy&) = delete;

  const std::string& dir() const { return dir_; }
  std::string heap_dir(std::string_view package) const {
    return evidence::AttemptLayout(dir_).heap_dir(kModule + std::string(package));
  }
  std::vector<std::string> Files() const {
    std::vector<std::string> out;
    for (const fs::directory_entry& e : fs::recursive_directory_iterator(dir_)) {
      if (e.is_regular_file()) out.push_back(e.path().string());
    }
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  std::string root_;
  std::string dir_;
};

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void Write(const std::string& path, std::string_view content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
}

std::vector<std::string> Profiles(const std::string& dir) {
  std::vector<std::string> out;
  for (const fs::directory_entry& e : fs::directory_iterator(dir)) {
    if (e.path().string().ends_with(".pb.gz")) out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

StatusOr<PackageSignals> ReadCopy(const TempCopy& copy, std::string_view package, const ReadOptions& options = {}) {
  return ReadPackageSignals(copy.dir(), kModule + std::string(package), options);
}

TEST(DamagedFolderTest, CorruptLastProfileFallsBackToAnEarlierOne) {
  TempCopy copy("leak");
  const std::vector<std::string> profiles = Profiles(copy.heap_dir("leak"));
  ASSERT_GE(profiles.size(), 3u);
  Write(profiles.back(), "\x1f\x8b garbage that is not gzip");
  StatusOr<PackageSignals> s = ReadCopy(copy, "leak");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(AnyNote(*s, "does not parse")) << ::testing::PrintToString(s->notes);
  EXPECT_FALSE(s->inuse_sites.empty());
  EXPECT_TRUE(Classify(*s).has_value());
}

TEST(DamagedFolderTest, EveryProfileCorruptLeavesTheSitesEmpty) {
  TempCopy copy("leak");
  for (const std::string& p : Profiles(copy.heap_dir("leak"))) {
    const std::string bytes = Slurp(p);
    Write(p, bytes.substr(0, bytes.size() / 2));  // cut, as a kill mid-write would (without the rename)
  }
  StatusOr<PackageSignals> s = ReadCopy(copy, "leak");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_THAT(s->inuse_sites, IsEmpty());
  EXPECT_THAT(s->growth_sites, IsEmpty());
  EXPECT_FALSE(s->inuse.has_value());
  EXPECT_TRUE(AnyNote(*s, "no heap profile could be read"));
  // The GC trace still tells the leak.
  const std::optional<Diagnosis> d = Classify(*s);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->cause, Cause::kLeakAcrossTests);
}

TEST(DamagedFolderTest, GarbageRecordsAndTables) {
  TempCopy copy("leak");
  const evidence::AttemptLayout layout(copy.dir());
  const std::string pkg = kModule + "leak";
  Write(layout.result(), "{\"version\": 1, \"packages\": [");
  Write(layout.exec_record(pkg), "not json");
  Write(layout.heap_dir(pkg) + "/snapshots.tsv", "1\t2\nx\ty\tz\n\x01\x02\x03");
  Write(layout.gctrace(pkg), "gc 1 @x: garbage\ngc 2 @0.1s 5%: 1+1+1 ms clock, 1+1/1/1+1 ms cpu, 4->");
  Write(layout.memory(), "#source\tcgroup1\t/x\nnot\ta\tsample\n");
  StatusOr<PackageSignals> s = ReadCopy(copy, "leak");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(AnyNote(*s, "result.json does not decode"));
  EXPECT_TRUE(AnyNote(*s, "exec record does not decode"));
  EXPECT_TRUE(AnyNote(*s, "GC trace lines did not parse"));
  EXPECT_THAT(s->heap, IsEmpty());
  EXPECT_FALSE(s->max_rss_bytes.has_value());
  // The stream still has the kill's shape: the last test never ended.
  EXPECT_FALSE(s->tests.empty());
  EXPECT_TRUE(Classify(*s).has_value() || s->result != PackageResult::kKilled);
}

TEST(DamagedFolderTest, EventsCutMidLine) {
  TempCopy copy("leak");
  const std::string events = evidence::AttemptLayout(copy.dir()).events();
  const std::string text = Slurp(events);
  Write(events, text.substr(0, text.size() * 2 / 3 + 7));
  StatusOr<PackageSignals> s = ReadCopy(copy, "leak");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_FALSE(s->tests.empty());
  EXPECT_TRUE(Classify(*s).has_value());
}

TEST(DamagedFolderTest, FilesThatAreFoldersOrEmpty) {
  TempCopy copy("gcheadroom");
  const evidence::AttemptLayout layout(copy.dir());
  const std::string pkg = kModule + "gcheadroom";
  fs::remove(layout.result());
  fs::create_directory(layout.result());
  Write(layout.events(), "");
  fs::remove(layout.gctrace(pkg));
  fs::create_directory(layout.gctrace(pkg));
  StatusOr<PackageSignals> s = ReadCopy(copy, "gcheadroom");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(AnyNote(*s, "no result.json"));
  EXPECT_THAT(s->tests, IsEmpty());
  EXPECT_FALSE(s->gctrace_recorded);
  // The exec record says SIGKILL: killed, though nothing says where.
  EXPECT_EQ(s->result, PackageResult::kKilled);
  EXPECT_EQ(s->phase, Phase::kUnknown);
  EXPECT_TRUE(Classify(*s).has_value());
}

TEST(DamagedFolderTest, CapsAreHonoured) {
  TempCopy copy("leak_passed");
  ReadOptions options;
  options.max_events_bytes = 2000;
  options.max_table_bytes = 300;
  options.max_record_bytes = 100;
  options.max_profile_bytes = 500;
  StatusOr<PackageSignals> s = ReadCopy(copy, "leak", options);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(AnyNote(*s, "events.jsonl read up to 2000 bytes"));
  EXPECT_TRUE(AnyNote(*s, "larger than 500 bytes; skipped"));
  EXPECT_THAT(s->inuse_sites, IsEmpty());
  (void)Classify(*s);
}

TEST(DamagedFolderTest, NoContainerResultAndAHeapFolder) {
  // The container died with its agent: no result.json, and the binary's exec record
  // was never written; the heap folder says the binary had started.
  TempCopy copy("goroutineleak");
  const evidence::AttemptLayout layout(copy.dir());
  const std::string pkg = kModule + "goroutineleak";
  fs::remove(layout.result());
  fs::remove(layout.exec_record(pkg));
  StatusOr<PackageSignals> s = ReadCopy(copy, "goroutineleak");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->result, PackageResult::kKilled);
  EXPECT_TRUE(AnyNote(*s, "taken as killed"));
  EXPECT_FALSE(s->running_at_kill.empty());
  EXPECT_FALSE(s->max_rss_bytes.has_value());
  // The memory limit still comes from memory.tsv.
  EXPECT_EQ(s->limit_bytes, 200 * kMiB);
  const std::optional<Diagnosis> d = Classify(*s);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->cause, Cause::kGoroutineLeak);
}

// The kill took the go command rather than its compile: go test printed nothing about
// the package, and the agent's record says "no result". The wrapper's build log shows
// the package's compile started and never ended: the build was what the kill ended.
TEST(DamagedFolderTest, NoResultWhileItsCompileRanIsABuildKill) {
  TempCopy copy("compileheavy");
  const evidence::AttemptLayout layout(copy.dir());
  const std::string pkg = kModule + "compileheavy";
  Write(layout.events(), "");
  StatusOr<evidence::AttemptResult> result = evidence::DecodeAttemptResult(Slurp(layout.result()));
  ASSERT_TRUE(result.ok()) << result.status();
  result->packages[0].outcome = gotest::PackageOutcome::kNoResult;
  result->packages[0].build_phase = gotest::BuildPhase::kUnknown;
  Write(layout.result(), evidence::EncodeAttemptResult(*result));
  {
    StatusOr<PackageSignals> s = ReadCopy(copy, "compileheavy");
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_EQ(s->result, PackageResult::kNotRun) << "no build log: nothing says the build was running";
  }
  Write(layout.build_log(), evidence::EncodeBuildRecord({.event = evidence::BuildEvent::kStart,
                                                         .tool = "compile",
                                                         .package = pkg,
                                                         .import_path = pkg + " [" + pkg + ".test]",
                                                         .pid = 42,
                                                         .start_unix_ms = result->start_unix_ms + 100}));
  StatusOr<PackageSignals> s = ReadCopy(copy, "compileheavy");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->result, PackageResult::kBuildKilled);
  EXPECT_EQ(s->phase, Phase::kCompile);
  EXPECT_TRUE(AnyNote(*s, "taken as a build kill"));
  const std::optional<Diagnosis> d = Classify(*s);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->cause, Cause::kBuildMemory) << d->summary;
}

// Every file of every captured folder cut short and with bytes flipped, at many
// places: the reader and the classifier must come through (the sanitizer build checks
// that they do so without undefined behaviour).
TEST(DamagedFolderTest, CutAndFlippedAnywhere) {
  for (const std::string folder : {"leak", "parallelspike", "initmem", "compileheavy"}) {
    TempCopy copy(folder);
    const std::string package = folder;
    for (const std::string& file : copy.Files()) {
      const std::string original = Slurp(file);
      for (int variant = 0; variant < 6; ++variant) {
        std::string damaged = original;
        const std::size_t at = original.empty() ? 0 : (original.size() * static_cast<std::size_t>(variant + 1)) / 7;
        if (variant % 2 == 0) {
          damaged.resize(at);
        } else if (!damaged.empty()) {
          for (std::size_t i = at; i < damaged.size() && i < at + 16; ++i)
            damaged[i] = static_cast<char>(damaged[i] ^ 0x5a);
        }
        Write(file, damaged);
        StatusOr<PackageSignals> s = ReadCopy(copy, package);
        if (s.ok()) {
          (void)Classify(*s);
        } else {
          EXPECT_EQ(s.status().code(), StatusCode::kNotFound) << file << " " << variant << ": " << s.status();
        }
      }
      Write(file, original);
    }
  }
}

}  // namespace
}  // namespace gotestrun::cause
