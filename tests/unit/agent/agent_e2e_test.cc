// The agent binary over real `go test` runs: the fixture module with passing, failing,
// killed and broken packages (tests/fixtures/gotest-streams), and a module of slow,
// allocating tests (testdata/heapmodule) and the leak of tests/fixtures/memory for heap
// snapshots.
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/evidence/evidence.h"
#include "base/files.h"
#include "sandbox/child_process.h"
#include "core/diagnosis/gotest/gctrace.h"
#include "core/diagnosis/gotest/test_stream_reader.h"
#include "core/diagnosis/pprof/heap_profile.h"

namespace gotestrun::agent {

using sandbox::CapturedRun;
using sandbox::ChildSpec;
using sandbox::ExitInfo;
using sandbox::RunCaptured;
using sandbox::SpawnChild;
using sandbox::Subprocess;
using sandbox::WaitChild;

using evidence::AttemptLayout;
using evidence::AttemptResult;
using evidence::DecodeAttemptResult;
using evidence::DecodeExecRecord;
using evidence::DecodePackageListings;
using evidence::ExecRecord;
using evidence::HeapSnapshotLine;
using evidence::kHeapSnapshotsFile;
using evidence::MemorySample;
using evidence::MemoryTimeline;
using evidence::PackageListing;
using evidence::PackageRecord;
using evidence::ParseHeapSnapshots;
using evidence::ParseMemoryTimeline;

namespace {

namespace fs = std::filesystem;
using gotest::PackageOutcome;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;

constexpr std::string_view kStreams = "example.com/streams/";

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "agent-e2e-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() { fs::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The go commands the agent starts must not touch the network or fetch a toolchain.
void SetGoEnvironment() {
  ::setenv("GOFLAGS", "-mod=mod", 1);
  ::setenv("GOTOOLCHAIN", "local", 1);
}

CapturedRun RunAgent(std::vector<std::string> args) {
  args.insert(args.begin(), AGENT_BIN);
  StatusOr<CapturedRun> run = RunCaptured(ChildSpec{.argv = std::move(args)}, 64 << 20);
  EXPECT_TRUE(run.ok()) << run.status();
  return run.ok() ? *run : CapturedRun{};
}

std::string Read(const std::string& path) {
  StatusOr<std::string> text = ReadFile(path, 256 << 20);
  EXPECT_TRUE(text.ok()) << text.status();
  return text.ok() ? *text : "";
}

AttemptResult ReadResult(const AttemptLayout& layout) {
  StatusOr<AttemptResult> result = DecodeAttemptResult(Read(layout.result()));
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? *result : AttemptResult{};
}

const PackageRecord& Package(const AttemptResult& result, std::string_view name) {
  for (const PackageRecord& p : result.packages) {
    if (p.package == name) return p;
  }
  ADD_FAILURE() << "no package " << name << " in result.json";
  static const PackageRecord kNone;
  return kNone;
}

std::vector<std::string> HeapProfiles(const std::string& dir) {
  std::vector<std::string> names;
  if (!fs::exists(dir)) return names;
  for (const fs::directory_entry& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.ends_with(".pb.gz")) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

// One run over the fixture module, shared by the tests that look at its evidence.
class StreamsFixtureTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    SetGoEnvironment();
    tmp_ = new TempDir();
    layout_ = new AttemptLayout(tmp_->path() + "/ns/run/s0/a1");
    run_ = new CapturedRun(RunAgent({"run", "--dir", layout_->dir(), "--module-dir", STREAMS_FIXTURE, "./..."}));
  }
  static void TearDownTestSuite() {
    delete run_;
    delete layout_;
    delete tmp_;
  }
  static std::string Pkg(std::string_view short_name) { return std::string(kStreams) + std::string(short_name); }

  static TempDir* tmp_;
  static AttemptLayout* layout_;
  static CapturedRun* run_;
};
TempDir* StreamsFixtureTest::tmp_ = nullptr;
AttemptLayout* StreamsFixtureTest::layout_ = nullptr;
CapturedRun* StreamsFixtureTest::run_ = nullptr;

TEST_F(StreamsFixtureTest, ExitsWithGoTestsExitCode) {
  EXPECT_EQ(run_->end.exit_code, 1) << run_->err;
  const AttemptResult result = ReadResult(*layout_);
  EXPECT_EQ(result.go_test_exit_code, 1);
  EXPECT_EQ(result.go_test_signal, 0);
  EXPECT_THAT(result.error, IsEmpty());
  EXPECT_LE(result.start_unix_ms, result.end_unix_ms);
  EXPECT_THAT(result.go_test_argv, Contains("-vet=off"));
  EXPECT_THAT(result.go_test_argv, Contains("-json"));
  // One line per package on stdout, as each ends.
  EXPECT_THAT(run_->out, HasSubstr("killed\t" + Pkg("killed")));
  EXPECT_THAT(run_->out, HasSubstr("pass\t" + Pkg("passing")));
}

TEST_F(StreamsFixtureTest, OutcomesInResult) {
  const AttemptResult result = ReadResult(*layout_);
  EXPECT_EQ(Package(result, Pkg("passing")).outcome, PackageOutcome::kPass);
  EXPECT_EQ(Package(result, Pkg("parallel")).outcome, PackageOutcome::kPass);
  EXPECT_EQ(Package(result, Pkg("skipping")).outcome, PackageOutcome::kPass);
  EXPECT_EQ(Package(result, Pkg("gcheavy")).outcome, PackageOutcome::kPass);
  EXPECT_EQ(Package(result, Pkg("notests")).outcome, PackageOutcome::kSkip);
  EXPECT_EQ(Package(result, Pkg("panicking")).outcome, PackageOutcome::kFail);

  const PackageRecord& failing = Package(result, Pkg("failing"));
  EXPECT_EQ(failing.outcome, PackageOutcome::kFail);
  EXPECT_THAT(failing.failed_tests, Contains("TestBroken"));
  ASSERT_TRUE(failing.binary.has_value());
  EXPECT_EQ(failing.binary->exit_code, 1);

  const PackageRecord& killed = Package(result, Pkg("killed"));
  EXPECT_EQ(killed.outcome, PackageOutcome::kKilled);
  EXPECT_THAT(killed.running_tests, ElementsAre("TestKilled", "TestKilled/inner"));
  ASSERT_TRUE(killed.binary.has_value());
  EXPECT_EQ(killed.binary->signal, SIGKILL);
  EXPECT_EQ(killed.binary->exit_code, -1);
  EXPECT_FALSE(killed.binary->core_dumped);
  EXPECT_EQ(Package(result, Pkg("killedmidline")).outcome, PackageOutcome::kKilled);

  const PackageRecord& broken = Package(result, Pkg("brokenbuild"));
  EXPECT_EQ(broken.outcome, PackageOutcome::kBuildFailed);
  EXPECT_EQ(broken.build_phase, gotest::BuildPhase::kCompile);
  EXPECT_FALSE(broken.binary.has_value());
}

TEST_F(StreamsFixtureTest, GoTestSawTheSignalTheWrapperReRaised) {
  // go test prints "signal: killed" only when its child (the wrapper) died of SIGKILL.
  const gotest::RunSummary summary = gotest::SummarizeTestStream(Read(layout_->events()));
  const gotest::PackageResult* killed = summary.FindPackage(Pkg("killed"));
  ASSERT_NE(killed, nullptr);
  EXPECT_EQ(killed->outcome, PackageOutcome::kKilled);
  EXPECT_EQ(killed->exit_signal, "killed");
  EXPECT_GT(summary.stats.events, 50u);
  EXPECT_EQ(summary.stats.malformed_lines, 0u);
  // The wrapper passes the binary's output through: test output is in the stream.
  EXPECT_THAT(Read(layout_->events()), HasSubstr("about to be killed"));
}

TEST_F(StreamsFixtureTest, ExecRecordOfTheKilledBinary) {
  StatusOr<ExecRecord> record = DecodeExecRecord(Read(layout_->exec_record(Pkg("killed"))));
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->package, Pkg("killed"));
  EXPECT_EQ(record->end.signal, SIGKILL);
  EXPECT_EQ(record->end.exit_code, -1);
  EXPECT_GT(record->end.max_rss_bytes, 1u << 20);
  ASSERT_FALSE(record->argv.empty());
  EXPECT_TRUE(record->argv[0].ends_with("killed.test")) << record->argv[0];
  EXPECT_THAT(record->argv, Contains(HasSubstr("-test.timeout=")));
  EXPECT_LE(record->start_unix_ms, record->end_unix_ms);
  EXPECT_GT(record->start_unix_ms, 0);
  EXPECT_FALSE(record->gomemlimit.has_value());

  StatusOr<ExecRecord> passing = DecodeExecRecord(Read(layout_->exec_record(Pkg("passing"))));
  ASSERT_TRUE(passing.ok()) << passing.status();
  EXPECT_EQ(passing->end.exit_code, 0);
  EXPECT_EQ(passing->end.signal, 0);
  // No binary for a package without tests or one that did not build.
  EXPECT_FALSE(fs::exists(layout_->exec_record(Pkg("notests"))));
  EXPECT_FALSE(fs::exists(layout_->exec_record(Pkg("brokenbuild"))));
}

TEST_F(StreamsFixtureTest, GcTraceOfAnAllocatingPackage) {
  const std::string trace = Read(layout_->gctrace(Pkg("gcheavy")));
  ASSERT_FALSE(trace.empty());
  gotest::GcTraceReader reader;
  std::size_t lines = 0;
  for (std::size_t pos = 0; pos < trace.size();) {
    const std::size_t nl = trace.find('\n', pos);
    const std::string_view line(trace.data() + pos, (nl == std::string::npos ? trace.size() : nl) - pos);
    EXPECT_TRUE(gotest::IsGcTraceLine(line)) << line;
    reader.AddLine(line, Pkg("gcheavy"));
    ++lines;
    pos = nl == std::string::npos ? trace.size() : nl + 1;
  }
  EXPECT_GE(lines, 3u);
  EXPECT_EQ(reader.malformed_lines(), 0u) << reader.first_malformed();
  // TestLarge keeps 48 MiB until it drops them.
  EXPECT_GE(reader.trajectories().at(0).peak_heap_bytes(), 40u << 20);
  EXPECT_GE(Package(ReadResult(*layout_), Pkg("gcheavy")).gc_peak_heap_bytes.value_or(0), 40u << 20);
}

TEST_F(StreamsFixtureTest, MemoryTimeline) {
  const MemoryTimeline timeline = ParseMemoryTimeline(Read(layout_->memory()));
  ASSERT_FALSE(timeline.source.empty());
  const AttemptResult result = ReadResult(*layout_);
  if (timeline.source == "none") {
    EXPECT_THAT(timeline.samples, IsEmpty());
    EXPECT_EQ(result.memory_source, "none");
    return;
  }
  // A sample at the start, every ~200 ms and at the end.
  EXPECT_GE(timeline.samples.size(), 2u);
  EXPECT_EQ(timeline.malformed_lines, 0u);
  for (const MemorySample& s : timeline.samples) EXPECT_GT(s.usage_bytes, 0u);
  ASSERT_TRUE(result.peak_bytes.has_value());
  for (const MemorySample& s : timeline.samples) EXPECT_GE(*result.peak_bytes, s.usage_bytes);
}

TEST_F(StreamsFixtureTest, PackagesAndOverlay) {
  StatusOr<std::vector<PackageListing>> packages = DecodePackageListings(Read(layout_->packages()));
  ASSERT_TRUE(packages.ok()) << packages.status();
  std::vector<std::string> with_tests, without;
  for (const PackageListing& p : *packages) (p.has_tests() ? with_tests : without).push_back(p.import_path);
  EXPECT_THAT(without, ElementsAre(Pkg("notests")));
  EXPECT_THAT(with_tests, Contains(Pkg("killed")));
  const std::string overlay = Read(layout_->overlay_dir() + "/overlay.json");
  EXPECT_THAT(overlay, HasSubstr(std::string(STREAMS_FIXTURE) + "/killed/zz_gotestrun_heap_test.go"));
  EXPECT_THAT(overlay, Not(HasSubstr("notests")));
}

TEST(AgentHeapSnapshotsTest, SuccessiveSnapshotsOfGrowingTests) {
  SetGoEnvironment();
  TempDir tmp;
  const AttemptLayout layout(tmp.path() + "/a1");
  const CapturedRun run =
      RunAgent({"run", "--dir", layout.dir(), "--module-dir", HEAP_MODULE, "--heap-interval", "100ms", "--gomemlimit",
                "256MiB", "--parallel", "2", "--p", "1", "--flag", "-count=1", "./..."});
  ASSERT_EQ(run.end.exit_code, 0) << run.err;
  const AttemptResult result = ReadResult(layout);
  EXPECT_THAT(result.go_test_argv, Contains("-parallel=2"));
  EXPECT_THAT(result.go_test_argv, Contains("-p=1"));
  EXPECT_THAT(result.go_test_argv, Contains("-count=1"));
  EXPECT_EQ(Package(result, "example.com/heapmodule/grow").outcome, PackageOutcome::kPass);
  EXPECT_EQ(Package(result, "example.com/heapmodule/extonly").outcome, PackageOutcome::kPass);

  // grow keeps 1 MiB more every 25 ms for ~1.5 s: the snapshots see the heap grow.
  const std::string grow_dir = layout.heap_dir("example.com/heapmodule/grow");
  const std::vector<std::string> profiles = HeapProfiles(grow_dir);
  ASSERT_GE(profiles.size(), 3u);
  EXPECT_EQ(profiles[0], "0001.pb.gz");
  const std::string first = Read(grow_dir + "/" + profiles[0]);
  ASSERT_GE(first.size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>(first[0]), 0x1f);  // gzip
  EXPECT_EQ(static_cast<unsigned char>(first[1]), 0x8b);
  const std::vector<HeapSnapshotLine> snapshots =
      ParseHeapSnapshots(Read(grow_dir + "/" + std::string(kHeapSnapshotsFile)));
  ASSERT_GE(snapshots.size(), 3u);
  for (std::size_t i = 1; i < snapshots.size(); ++i) {
    EXPECT_EQ(snapshots[i].seq, snapshots[i - 1].seq + 1);
    EXPECT_GE(snapshots[i].unix_ms, snapshots[i - 1].unix_ms);
  }
  EXPECT_GT(snapshots.back().heap_alloc, snapshots.front().heap_alloc + (10u << 20));
  EXPECT_GE(snapshots.front().goroutines, 2u);  // the test's and the snapshot goroutine

  // A package with only external tests gets the file as package extonly_test.
  EXPECT_GE(HeapProfiles(layout.heap_dir("example.com/heapmodule/extonly")).size(), 2u);

  // GOMEMLIMIT reached the test binaries, not the go command.
  StatusOr<ExecRecord> record = DecodeExecRecord(Read(layout.exec_record("example.com/heapmodule/grow")));
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->gomemlimit, 256u << 20);
}

TEST(AgentHeapSnapshotsTest, LeakAcrossTestsGrowsFromSnapshotToSnapshot) {
  // tests/fixtures/memory/leak: 8 tests each add 40 MiB to a cache that is never emptied.
  SetGoEnvironment();
  TempDir tmp;
  const AttemptLayout layout(tmp.path() + "/a1");
  const std::string leak = "gotestrun.dev/fixtures/memory/leak";
  const CapturedRun run =
      RunAgent({"run", "--dir", layout.dir(), "--module-dir", MEMORY_FIXTURE, "--heap-interval", "50ms", "./leak"});
  ASSERT_EQ(run.end.exit_code, 0) << run.err;
  EXPECT_EQ(Package(ReadResult(layout), leak).outcome, PackageOutcome::kPass);

  const std::string dir = layout.heap_dir(leak);
  const std::vector<HeapSnapshotLine> snapshots = ParseHeapSnapshots(Read(dir + "/" + std::string(kHeapSnapshotsFile)));
  ASSERT_GE(snapshots.size(), 3u);
  // Nothing is ever freed: each snapshot holds at least what the one before did (give
  // or take the garbage of fmt.Sprintf keys), and the last clearly more than the first.
  for (std::size_t i = 1; i < snapshots.size(); ++i) {
    EXPECT_GE(snapshots[i].heap_alloc + (4u << 20), snapshots[i - 1].heap_alloc) << "snapshot " << snapshots[i].seq;
  }
  EXPECT_GT(snapshots.back().heap_alloc, snapshots.front().heap_alloc + (20u << 20));

  // The profiles are real pprof heap profiles, and the last one names the leak.
  const std::vector<std::string> profiles = HeapProfiles(dir);
  ASSERT_GE(profiles.size(), 3u);
  StatusOr<pprof::HeapProfile> last = pprof::ParseHeapProfile(Read(dir + "/" + profiles.back()));
  ASSERT_TRUE(last.ok()) << last.status();
  StatusOr<pprof::TopReport> top = pprof::TopFunctions(*last, pprof::kInuseSpace, 1);
  ASSERT_TRUE(top.ok()) << top.status();
  ASSERT_THAT(top->functions, SizeIs(1));
  EXPECT_EQ(top->functions[0].name, leak + ".remember");
  EXPECT_GE(top->total, 40 << 20);
}

TEST(AgentRunTest, RefusesOwnedFlagsAndSaysSoInTheResult) {
  SetGoEnvironment();
  TempDir tmp;
  const AttemptLayout layout(tmp.path() + "/a1");
  const CapturedRun run =
      RunAgent({"run", "--dir", layout.dir(), "--module-dir", STREAMS_FIXTURE, "--flag", "-parallel=64", "./passing"});
  EXPECT_EQ(run.end.exit_code, 2);
  const AttemptResult result = ReadResult(layout);
  EXPECT_THAT(result.error, HasSubstr("-parallel=64"));
  EXPECT_THAT(result.error, HasSubstr("--parallel"));
  EXPECT_EQ(result.go_test_exit_code, -1);
  EXPECT_THAT(result.go_test_argv, IsEmpty());
  EXPECT_FALSE(fs::exists(layout.events()));
}

TEST(AgentRunTest, SigtermStopsGoTestAndStillWritesTheResult) {
  SetGoEnvironment();
  TempDir tmp;
  const AttemptLayout layout(tmp.path() + "/a1");
  StatusOr<Subprocess> agent = Subprocess::Spawn(
      ChildSpec{.argv = {AGENT_BIN, "run", "--dir", layout.dir(), "--module-dir", HEAP_MODULE, "./grow"},
                .output_file = tmp.path() + "/agent.log"});
  ASSERT_TRUE(agent.ok()) << agent.status();
  // Wait (generously) until TestGrow runs.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(3);
  bool running = false;
  while (!running && std::chrono::steady_clock::now() < deadline) {
    const StatusOr<std::string> events = ReadFile(layout.events(), 64 << 20);
    running =
        events.ok() && events->find(R"("Action":"run","Package":"example.com/heapmodule/grow","Test":"TestGrow")") !=
                           std::string::npos;
    if (!running) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(running) << Read(tmp.path() + "/agent.log");
  ::kill(agent->pid(), SIGTERM);
  const std::optional<ExitInfo> end = agent->Wait(std::chrono::minutes(1));
  ASSERT_TRUE(end.has_value());
  EXPECT_NE(end->exit_code, 0);
  const AttemptResult result = ReadResult(layout);
  EXPECT_NE(Package(result, "example.com/heapmodule/grow").outcome, PackageOutcome::kPass);
  EXPECT_TRUE(result.go_test_signal == SIGTERM || result.go_test_exit_code != 0);
}

constexpr std::string_view kGcLine =
    "gc 1 @0.001s 1%: 0.1+0.2+0.003 ms clock, 0.4+0.1/0.2/0+0.01 ms cpu, 4->4->0 MB, 4 MB goal, 0 MB stacks, "
    "0 MB globals, 2 P";

TEST(AgentExecTest, SeparateStreamsEnvironmentAndExitCode) {
  TempDir tmp;
  const AttemptLayout layout(tmp.path() + "/a1");
  const std::string script = "echo out; echo '" + std::string(kGcLine) +
                             "' >&2; echo not a gc line >&2; echo \"$GODEBUG\"; echo \"$GOMEMLIMIT\"; "
                             "echo \"$GOTESTRUN_HEAP_DIR\"; exit 3";
  StatusOr<CapturedRun> run =
      RunCaptured(ChildSpec{.argv = {AGENT_BIN, "exec", "--dir", layout.dir(), "/bin/sh", "-c", script},
                            .extra_env = {"GODEBUG=madvdontneed=1", "GOTESTRUN_GOMEMLIMIT=1GiB"},
                            .working_dir = tmp.path()},
                  1 << 20);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->end.exit_code, 3);
  // Without packages.json the folder names the package.
  const std::string package = fs::canonical(tmp.path()).string();
  EXPECT_EQ(run->out, "out\nmadvdontneed=1,gctrace=1\n1073741824\n" + layout.heap_dir(package) + "\n");
  EXPECT_EQ(run->err, std::string(kGcLine) + "\nnot a gc line\n");
  EXPECT_EQ(Read(layout.gctrace(package)), std::string(kGcLine) + "\n");
  EXPECT_TRUE(fs::is_directory(layout.heap_dir(package)));
  StatusOr<ExecRecord> record = DecodeExecRecord(Read(layout.exec_record(package)));
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->package, package);
  EXPECT_EQ(record->end.exit_code, 3);
  EXPECT_EQ(record->gomemlimit, 1u << 30);
  EXPECT_EQ(record->argv.at(0), "/bin/sh");
}

TEST(AgentExecTest, OneStreamKeepsItsOrder) {
  // go test hands a -json test binary one pipe for stdout and stderr.
  TempDir tmp;
  const AttemptLayout layout(tmp.path() + "/a1");
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  std::string script;
  for (int i = 0; i < 50; ++i) script += "echo o" + std::to_string(i) + "; echo e" + std::to_string(i) + " >&2; ";
  StatusOr<pid_t> pid = SpawnChild(ChildSpec{
      .argv = {AGENT_BIN, "exec", "--dir", layout.dir(), "/bin/sh", "-c", script}, .stdio = {-1, fds[1], fds[1]}});
  ::close(fds[1]);
  ASSERT_TRUE(pid.ok()) << pid.status();
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);
  EXPECT_EQ(WaitChild(*pid).exit_code, 0);
  std::string want;
  for (int i = 0; i < 50; ++i) want += "o" + std::to_string(i) + "\ne" + std::to_string(i) + "\n";
  EXPECT_EQ(out, want);
}

TEST(AgentExecTest, EndsWithTheBinarysSignal) {
  TempDir tmp;
  const AttemptLayout layout(tmp.path() + "/a1");
  for (const int sig : {SIGKILL, SIGTERM, SIGSEGV}) {
    const std::string script = "kill -" + std::to_string(sig) + " $$";
    StatusOr<CapturedRun> run =
        RunCaptured(ChildSpec{.argv = {AGENT_BIN, "exec", "--dir", layout.dir(), "/bin/sh", "-c", script},
                              .working_dir = tmp.path()},
                    1 << 20);
    ASSERT_TRUE(run.ok()) << run.status();
    EXPECT_EQ(run->end.signal, sig) << run->err;
    StatusOr<ExecRecord> record = DecodeExecRecord(Read(layout.exec_record(fs::canonical(tmp.path()).string())));
    ASSERT_TRUE(record.ok()) << record.status();
    EXPECT_EQ(record->end.signal, sig);
    // A core only when the binary left one (that depends on the machine's ulimit -c).
    EXPECT_EQ(run->end.core_dumped, record->end.core_dumped);
  }
}

TEST(AgentExecTest, PassesSignalsOnToTheBinary) {
  TempDir tmp;
  const AttemptLayout layout(tmp.path() + "/a1");
  const std::string ready = tmp.path() + "/ready";
  // The binary turns SIGQUIT (what go test sends on -timeout) into exit code 42.
  StatusOr<Subprocess> wrapper =
      Subprocess::Spawn(ChildSpec{.argv = {AGENT_BIN, "exec", "--dir", layout.dir(), "/bin/sh", "-c",
                                           "trap 'exit 42' QUIT; touch " + ready + "; while :; do sleep 0.05; done"},
                                  .working_dir = tmp.path(),
                                  .output_file = tmp.path() + "/out.log"});
  ASSERT_TRUE(wrapper.ok()) << wrapper.status();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(1);
  while (!fs::exists(ready) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(fs::exists(ready));
  ::kill(wrapper->pid(), SIGQUIT);  // the wrapper only, not its process group
  const std::optional<ExitInfo> end = wrapper->Wait(std::chrono::minutes(1));
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->exit_code, 42);
}

TEST(AgentExecTest, BinaryThatCannotStart) {
  TempDir tmp;
  const AttemptLayout layout(tmp.path() + "/a1");
  StatusOr<CapturedRun> run =
      RunCaptured(ChildSpec{.argv = {AGENT_BIN, "exec", "--dir", layout.dir(), tmp.path() + "/missing.test"},
                            .working_dir = tmp.path()},
                  1 << 20);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->end.exit_code, 127);
  EXPECT_THAT(run->err, HasSubstr("missing.test"));
  StatusOr<ExecRecord> record = DecodeExecRecord(Read(layout.exec_record(fs::canonical(tmp.path()).string())));
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_THAT(record->error, HasSubstr("missing.test"));
}

TEST(AgentInstallTest, CopiesAWorkingBinary) {
  SetGoEnvironment();
  TempDir tmp;
  const std::string dest = tmp.path() + "/bin-shared/gotestrun-agent";
  fs::create_directories(tmp.path() + "/bin-shared");
  CapturedRun run = RunAgent({"install", dest});
  ASSERT_EQ(run.end.exit_code, 0) << run.err;
  struct stat st {};
  ASSERT_EQ(::stat(dest.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  EXPECT_EQ(Read(dest), Read(AGENT_BIN));
  // Installing again replaces it.
  run = RunAgent({"install", dest});
  EXPECT_EQ(run.end.exit_code, 0) << run.err;

  // The copy works: list the fixture's packages with it, to stdout and to a file.
  StatusOr<CapturedRun> listed = RunCaptured(
      ChildSpec{.argv = {dest, "list", "--module-dir", STREAMS_FIXTURE, "./killed", "./notests"}}, 16 << 20);
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->end.exit_code, 0) << listed->err;
  StatusOr<std::vector<PackageListing>> packages = DecodePackageListings(listed->out);
  ASSERT_TRUE(packages.ok()) << packages.status() << listed->out;
  ASSERT_THAT(*packages, SizeIs(2));
  EXPECT_EQ((*packages)[0].import_path, "example.com/streams/killed");
  EXPECT_EQ((*packages)[0].name, "killed");
  EXPECT_EQ((*packages)[0].dir, std::string(STREAMS_FIXTURE) + "/killed");
  EXPECT_THAT((*packages)[0].test_go_files, ElementsAre("killed_test.go"));
  EXPECT_FALSE((*packages)[1].has_tests());

  const std::string out = tmp.path() + "/plan/packages.json";
  fs::create_directories(tmp.path() + "/plan");
  listed = RunCaptured(ChildSpec{.argv = {dest, "list", "--module-dir", STREAMS_FIXTURE, "--out", out}}, 16 << 20);
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->end.exit_code, 0) << listed->err;
  EXPECT_THAT(listed->out, IsEmpty());
  packages = DecodePackageListings(Read(out));
  ASSERT_TRUE(packages.ok()) << packages.status();
  EXPECT_GE(packages->size(), 10u);
}

TEST(AgentListTest, GoListFailureIsAnError) {
  SetGoEnvironment();
  TempDir tmp;
  const CapturedRun run = RunAgent({"list", "--module-dir", tmp.path() + "/missing"});
  EXPECT_EQ(run.end.exit_code, 1);
  EXPECT_THAT(run.err, HasSubstr("missing"));
}

}  // namespace
}  // namespace gotestrun::agent
