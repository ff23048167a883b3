#include "agent/runner.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <set>

#include <spdlog/spdlog.h>

#include "agent/go_list.h"
#include "agent/go_test_command.h"
#include "agent/heap_overlay.h"
#include "agent/memory_stall_watch.h"
#include "base/files.h"
#include "core/diagnosis/gotest/gctrace.h"
#include "core/diagnosis/gotest/test_stream_reader.h"
#include "sandbox/cgroup.h"
#include "sandbox/child_process.h"
#include "base/timestamps.h"

namespace gotestrun::agent {

using evidence::AttemptLayout;
using evidence::AttemptResult;
using evidence::DecodeExecRecord;
using evidence::EncodeAttemptResult;
using evidence::EncodePackageListings;
using evidence::ExecRecord;
using evidence::FormatMemoryHeader;
using evidence::FormatMemorySample;
using evidence::MemorySample;
using evidence::MemoryStallRecord;
using evidence::PackageListing;
using evidence::PackageOutcomeJsonName;
using evidence::PackageRecord;
using sandbox::CgroupMemory;
using sandbox::CgroupVersion;
using sandbox::ChildSpec;
using sandbox::ExitInfo;
using sandbox::MemoryUsage;
using sandbox::Subprocess;

namespace {

constexpr std::chrono::milliseconds kSampleInterval{200};
constexpr std::chrono::seconds kStopGrace{10};

std::atomic<int> g_stop_signal{0};

void OnStopSignal(int sig) { g_stop_signal.store(sig); }

void AddError(AttemptResult& result, const std::string& error) {
  spdlog::error("{}", error);
  if (!result.error.empty()) result.error += "; ";
  result.error += error;
}

// memory.tsv: the cgroup's usage, appended a whole line per write so that a kill
// leaves at most the line being written cut.
class MemoryRecorder {
 public:
  explicit MemoryRecorder(const std::string& path) : cgroup_(CgroupMemory::Discover()) {
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd_ < 0) spdlog::warn("open {}: {}", path, std::strerror(errno));
    Write(FormatMemoryHeader(source()));
    if (cgroup_) oom_kills_at_start_ = cgroup_->OomKills();
    Sample();
  }
  ~MemoryRecorder() {
    if (fd_ >= 0) ::close(fd_);
  }
  MemoryRecorder(const MemoryRecorder&) = delete;
  MemoryRecorder& operator=(const MemoryRecorder&) = delete;

  std::string source() const { return cgroup_ ? cgroup_->Source() : "none"; }
  const std::optional<CgroupMemory>& cgroup() const { return cgroup_; }

  // The sample written, nullopt when none could be read.
  std::optional<MemorySample> Sample() {
    if (!cgroup_) return std::nullopt;
    StatusOr<MemoryUsage> usage = cgroup_->Read();
    if (!usage.ok()) return std::nullopt;
    peak_ = std::max(peak_.value_or(0), usage->usage_bytes);
    limit_ = usage->limit_bytes;
    const MemorySample sample{.unix_ms = UnixMsNow(),
                              .usage_bytes = usage->usage_bytes,
                              .limit_bytes = limit_,
                              .anon_bytes = usage->anon_bytes};
    Write(FormatMemorySample(sample));
    return sample;
  }

  void Report(AttemptResult& result) const {
    result.memory_source = source();
    std::replace(result.memory_source.begin(), result.memory_source.end(), '\t', ' ');
    if (!cgroup_) return;
    result.limit_bytes = limit_;
    result.peak_bytes = peak_;
    if (const std::optional<std::uint64_t> counter = cgroup_->Peak()) {
      result.peak_bytes = std::max(result.peak_bytes.value_or(0), *counter);
    }
    const std::optional<std::uint64_t> kills = cgroup_->OomKills();
    if (kills && oom_kills_at_start_ && *kills >= *oom_kills_at_start_) {
      result.oom_kills_seen = *kills - *oom_kills_at_start_;
    }
  }

 private:
  void Write(const std::string& line) {
    if (fd_ < 0) return;
    if (::write(fd_, line.data(), line.size()) < 0) spdlog::warn("memory.tsv: {}", std::strerror(errno));
  }

  std::optional<CgroupMemory> cgroup_;
  int fd_ = -1;
  std::optional<std::uint64_t> peak_;
  std::optional<std::uint64_t> limit_;
  std::optional<std::uint64_t> oom_kills_at_start_;
};

// Follows events.jsonl as go test appends to it, into a TestStreamReader, and prints
// one line per package as it ends.
class StreamFollower {
 public:
  StreamFollower(const std::string& folder, const std::string& path) {
    StatusOr<RegularFile> file = RegularFile::OpenWithin(folder, path);
    if (file.ok()) {
      file_ = std::move(file).value();
    } else {
      spdlog::warn("{}", file.status().message());
    }
  }

  void Poll() {
    if (!file_) return;
    std::string chunk;
    for (;;) {
      chunk.clear();
      if (Status s = file_->ReadUpTo(65536, chunk); !s.ok() || chunk.empty()) break;
      reader_.Feed(chunk);
    }
    Announce();
  }

  void Finish() {
    Poll();
    reader_.Finish();
    Announce();
  }

  const gotest::RunSummary& summary() const { return reader_.summary(); }

 private:
  void Announce() {
    const std::vector<gotest::PackageResult>& packages = reader_.summary().packages;
    for (; announced_ < packages.size(); ++announced_) {
      const gotest::PackageResult& p = packages[announced_];
      if (p.outcome == gotest::PackageOutcome::kRunning) break;
      const std::string outcome(PackageOutcomeJsonName(p.outcome));
      if (p.elapsed_seconds) {
        std::printf("%s\t%s\t%.3fs\n", outcome.c_str(), p.name.c_str(), *p.elapsed_seconds);
      } else {
        std::printf("%s\t%s\n", outcome.c_str(), p.name.c_str());
      }
    }
    std::fflush(stdout);
  }

  std::optional<RegularFile> file_;
  gotest::TestStreamReader reader_;
  std::size_t announced_ = 0;
};

std::map<std::string, ExecRecord> ReadExecRecords(const AttemptLayout& layout) {
  std::map<std::string, ExecRecord> records;
  DIR* dir = ::opendir(layout.exec_dir().c_str());
  if (dir == nullptr) return records;
  while (const dirent* entry = ::readdir(dir)) {
    const std::string name = entry->d_name;
    if (!name.ends_with(".json")) continue;
    StatusOr<std::string> text =
        ReadFileWithin(layout.dir(), layout.exec_dir() + "/" + name, evidence::kMaxExecRecordBytes);
    if (!text.ok()) continue;
    StatusOr<ExecRecord> record = DecodeExecRecord(*text);
    if (!record.ok()) {
      spdlog::warn("exec/{}: {}", name, record.status().ToString());
      continue;
    }
    records[record->package] = std::move(record).value();
  }
  ::closedir(dir);
  return records;
}

std::optional<std::uint64_t> GcPeak(const AttemptLayout& layout, const std::string& package) {
  StatusOr<std::string> text = ReadFileWithin(layout.dir(), layout.gctrace(package), evidence::kMaxGcTraceBytes);
  if (!text.ok()) return std::nullopt;
  gotest::GcTraceReader reader(1);
  std::string_view rest = *text;
  while (!rest.empty()) {
    const std::size_t nl = rest.find('\n');
    reader.AddLine(rest.substr(0, nl));
    if (nl == std::string_view::npos) break;
    rest.remove_prefix(nl + 1);
  }
  if (reader.trajectories().empty()) return std::nullopt;
  return reader.trajectories().front().peak_heap_bytes();
}

gotest::BuildPhase BuildPhaseOf(const gotest::RunSummary& stream, const gotest::PackageResult& package) {
  if (!package.failed_build.empty()) {
    if (const gotest::BuildFailure* failure = stream.FindBuildFailure(package.failed_build)) return failure->phase;
  }
  for (const gotest::BuildFailure& failure : stream.build_failures) {
    if (std::find(failure.packages.begin(), failure.packages.end(), package.name) != failure.packages.end()) {
      return failure.phase;
    }
  }
  return gotest::BuildPhase::kUnknown;
}

// The stall the watch ended, with what the stream says the package was doing.
std::optional<MemoryStallRecord> StallRecord(const MemoryStallWatch& watch,
                                             const std::vector<PackageRecord>& packages) {
  std::optional<MemoryStallRecord> record = watch.record();
  if (!record) return record;
  for (const PackageRecord& p : packages) {
    if (p.package == record->package) record->running_tests = p.running_tests;
  }
  record->phase = record->running_tests.empty() ? "init" : "test-run";
  return record;
}

}  // namespace

std::vector<PackageRecord> PackageRecords(const std::vector<PackageListing>& listed, const gotest::RunSummary& stream,
                                          const std::map<std::string, ExecRecord>& exec_records,
                                          const std::map<std::string, std::uint64_t>& gc_peak_heap_bytes) {
  std::vector<std::string> names;
  std::set<std::string, std::less<>> seen;
  const auto add = [&](const std::string& name) {
    if (!name.empty() && seen.insert(name).second) names.push_back(name);
  };
  for (const PackageListing& p : listed) add(p.import_path);
  for (const gotest::PackageResult& p : stream.packages) add(p.name);
  for (const auto& [name, record] : exec_records) add(name);

  std::vector<PackageRecord> records;
  for (const std::string& name : names) {
    PackageRecord r{.package = name};
    const auto exec = exec_records.find(name);
    if (exec != exec_records.end()) r.binary = exec->second.end;
    if (const gotest::PackageResult* p = stream.FindPackage(name)) {
      r.outcome = p->outcome == gotest::PackageOutcome::kRunning ? gotest::PackageOutcome::kNoResult : p->outcome;
      r.elapsed_seconds = p->elapsed_seconds;
      r.timed_out = p->timed_out;
      if (r.outcome != gotest::PackageOutcome::kPass) r.running_tests = p->running_at_end;
      for (const gotest::TestResult& t : p->tests) {
        if (t.outcome == gotest::TestOutcome::kFail) r.failed_tests.push_back(t.name);
      }
      if (r.outcome == gotest::PackageOutcome::kBuildFailed) r.build_phase = BuildPhaseOf(stream, *p);
    }
    if (r.binary && r.binary->signal != 0 && r.outcome != gotest::PackageOutcome::kBuildFailed) {
      r.outcome = gotest::PackageOutcome::kKilled;
    }
    if (const auto peak = gc_peak_heap_bytes.find(name); peak != gc_peak_heap_bytes.end()) {
      r.gc_peak_heap_bytes = peak->second;
    }
    records.push_back(std::move(r));
  }
  return records;
}

int RunAttempt(const RunOptions& options, const std::string& agent_path) {
  AttemptResult result{.start_unix_ms = UnixMsNow()};
  const AttemptLayout layout(options.attempt_dir);
  if (Status s = layout.Create(); !s.ok()) {
    spdlog::error("attempt folder: {}", s.ToString());
    return 1;
  }
  MemoryRecorder memory(layout.memory());
  MemoryStallWatch stall_watch(layout, memory.cgroup() ? memory.cgroup()->cgroup().dir : "",
                               memory.cgroup() && memory.cgroup()->cgroup().version == CgroupVersion::kV2,
                               options.memory_stall_after);
  const auto finish = [&](int exit_code) {
    memory.Sample();
    memory.Report(result);
    result.memory_stall = StallRecord(stall_watch, result.packages);
    result.end_unix_ms = UnixMsNow();
    if (Status s = WriteFileAtomic(layout.result(), EncodeAttemptResult(result)); !s.ok()) {
      spdlog::error("result.json: {}", s.ToString());
      return exit_code == 0 ? 1 : exit_code;
    }
    return exit_code;
  };

  if (Status s = CheckUserFlags(options); !s.ok()) {
    AddError(result, s.message());
    return finish(2);
  }

  std::vector<PackageListing> listed;
  if (StatusOr<std::vector<PackageListing>> packages = ListPackages(options.module_dir, options.tags, options.packages);
      packages.ok()) {
    listed = std::move(packages).value();
  } else {
    AddError(result, packages.status().message() + " (running go test without heap snapshots)");
  }
  if (Status s = WriteFileAtomic(layout.packages(), EncodePackageListings(listed)); !s.ok()) {
    AddError(result, s.message());
  }
  std::string overlay_json;
  if (StatusOr<HeapOverlay> overlay = WriteHeapOverlay(listed, layout.overlay_dir()); overlay.ok()) {
    overlay_json = overlay->overlay_json_path;
  } else {
    AddError(result, "heap overlay: " + overlay.status().message());
  }

  StatusOr<std::vector<std::string>> argv = GoTestArgv(options, agent_path, overlay_json);
  if (!argv.ok()) {
    AddError(result, argv.status().message());
    return finish(2);
  }
  result.go_test_argv = *argv;
  // The file exists before go test opens it, so that it can be followed from the start.
  if (Status s = WriteFileAtomic(layout.events(), ""); !s.ok()) {
    AddError(result, s.message());
    return finish(1);
  }
  StreamFollower follower(layout.dir(), layout.events());

  struct sigaction action {};
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) ::sigaction(sig, &action, nullptr);

  spdlog::info("attempt {}: go test in {}", options.attempt_dir, options.module_dir);
  StatusOr<Subprocess> go_test = Subprocess::Spawn(ChildSpec{.argv = *argv,
                                                             .extra_env = GoTestEnv(options),
                                                             .working_dir = options.module_dir,
                                                             .output_file = layout.events()});
  if (!go_test.ok()) {
    AddError(result, "go test: " + go_test.status().message());
    return finish(127);
  }

  std::optional<ExitInfo> end;
  std::optional<std::chrono::steady_clock::time_point> stopping_since;
  while (!end) {
    end = go_test->Wait(kSampleInterval);
    if (const std::optional<MemorySample> sample = memory.Sample()) {
      stall_watch.Sample(sample->unix_ms, sample->usage_bytes, sample->limit_bytes);
    }
    follower.Poll();
    if (end) break;
    if (const int sig = g_stop_signal.load(); sig != 0 && !stopping_since) {
      spdlog::warn("attempt {}: signal {}; stopping go test", options.attempt_dir, sig);
      go_test->Signal(SIGTERM);
      stopping_since = std::chrono::steady_clock::now();
    } else if (stopping_since && std::chrono::steady_clock::now() - *stopping_since > kStopGrace) {
      go_test->Signal(SIGKILL);
    }
  }
  follower.Finish();
  result.go_test_exit_code = end->exit_code;
  result.go_test_signal = end->signal;

  const std::map<std::string, ExecRecord> exec_records = ReadExecRecords(layout);
  std::map<std::string, std::uint64_t> gc_peaks;
  std::set<std::string> names;
  for (const PackageListing& p : listed) names.insert(p.import_path);
  for (const gotest::PackageResult& p : follower.summary().packages) names.insert(p.name);
  for (const auto& [name, record] : exec_records) names.insert(name);
  for (const std::string& name : names) {
    if (const std::optional<std::uint64_t> peak = GcPeak(layout, name)) gc_peaks[name] = *peak;
  }
  result.packages = PackageRecords(listed, follower.summary(), exec_records, gc_peaks);
  spdlog::info("attempt {}: go test ended with {}", options.attempt_dir, end->ToString());
  return finish(end->signal != 0 ? 128 + end->signal : end->exit_code);
}

}  // namespace gotestrun::agent
