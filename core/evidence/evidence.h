// The evidence an attempt leaves behind: the contract between the agent that writes it
// (inside a test Pod, or under the local runner) and the controller, the diagnosis and
// the report that read it. Writers and readers share the folder and file names, the
// structs and codecs, and the size caps here; readers open the files with
// base/files.h's ReadFileWithin, which refuses FIFOs, devices and links out of the
// folder.
//
// Attempt folders sit in a run folder, which has the same shape on the operator's
// profiles volume (at <ns>/<run>, VolumeRunLayout) and in a local run's folder:
//
//   RUN_DIR/
//     plan/packages.json    the planning `gotestrun-agent list` (EncodePackageListings)
//     s<i>/a<k>/            shard i's attempt k: an attempt folder (AttemptName)
//
// One folder per attempt:
//
//   ATTEMPT_DIR/
//     packages.json         what `go list` said about the packages, before go test starts
//                           (EncodePackageListings); the exec wrapper maps a test
//                           binary's working folder to its import path with it
//     overlay/              the injected heap snapshot files and overlay.json (heap_overlay.h)
//     events.jsonl          go test's output (stdout and stderr), raw, written by go test
//                           itself into the file as it prints: -json events plus any
//                           text go prints outside them
//     memory.tsv            the container's cgroup memory every ~200 ms (MemorySample);
//                           the first line is a header naming the source
//     gctrace/<pkg>.log     the `gc N @...` lines of the package's test binary, raw
//     heap/<pkg>/NNNN.pb.gz heap profiles of the test binary, every interval; NNNN is
//                           the snapshot's sequence number from 1, at least 4 digits
//     heap/<pkg>/snapshots.tsv  one line per profile (HeapSnapshotLine), appended after
//                           the profile is renamed into place
//     exec/<pkg>.json       one per test binary, written when it ends (ExecRecord)
//     build.jsonl           compile and link steps, one line when each starts and one
//                           when it ends (BuildRecord), appended by `gotestrun-agent
//                           toolexec`: a step started and not ended was running when
//                           everything died
//     result.json           written last (AttemptResult); its absence means the agent
//                           itself died, usually with the whole container on an OOM kill
//
// Every file but result.json is written while the tests run, so that what was seen
// before a kill survives it. Files are appended line by line or written to a temporary
// name and renamed: a reader sees whole lines and whole files, except possibly a last
// line cut by a kill, which the parsers here skip.
//
// <pkg> is the import path escaped into one path component (EscapePackage).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "core/diagnosis/gotest/run_summary.h"
#include "core/evidence/memory_stall.h"

namespace gotestrun::evidence {

// The import path as one file name, reversibly:
//   - ASCII letters, digits, '-', '+' and '.' stay (a leading '.' is escaped, so a name
//     is never hidden, "." or "..");
//   - '/' becomes '_';
//   - every other byte, '_', '%' and '~' included, becomes %XX (upper-case hex).
// So "example.com/x/my_pkg" is "example.com_x_my%5Fpkg". A result longer than
// kMaxEscapedPackageBytes is cut and ends in '~' and 16 hex digits of a hash of the
// import path; such a name cannot be reversed, and the real import path is in
// exec/<pkg>.json and result.json.
inline constexpr std::size_t kMaxEscapedPackageBytes = 200;
std::string EscapePackage(std::string_view import_path);
// InvalidArgument for a name EscapePackage cannot have produced, or a shortened one.
StatusOr<std::string> UnescapePackage(std::string_view name);

// Paths inside an attempt folder.
class AttemptLayout {
 public:
  explicit AttemptLayout(std::string dir) : dir_(std::move(dir)) {}

  const std::string& dir() const { return dir_; }
  std::string packages() const { return dir_ + "/packages.json"; }
  std::string overlay_dir() const { return dir_ + "/overlay"; }
  std::string events() const { return dir_ + "/events.jsonl"; }
  std::string memory() const { return dir_ + "/memory.tsv"; }
  std::string gctrace_dir() const { return dir_ + "/gctrace"; }
  std::string gctrace(std::string_view import_path) const;
  std::string heap_root() const { return dir_ + "/heap"; }
  std::string heap_dir(std::string_view import_path) const;
  std::string exec_dir() const { return dir_ + "/exec"; }
  std::string exec_record(std::string_view import_path) const;
  std::string build_log() const { return dir_ + "/build.jsonl"; }
  std::string result() const { return dir_ + "/result.json"; }

  // Creates the folder (and its parents) and its exec/, gctrace/, heap/ and overlay/
  // folders; those that exist are left as they are.
  Status Create() const;

 private:
  std::string dir_;
};

// Paths inside a run folder.
class RunLayout {
 public:
  explicit RunLayout(std::string dir) : dir_(std::move(dir)) {}

  const std::string& dir() const { return dir_; }
  std::string plan_dir() const { return dir_ + "/plan"; }
  std::string packages() const { return plan_dir() + "/packages.json"; }
  std::string attempt_dir(int shard, int attempt) const;
  AttemptLayout attempt(int shard, int attempt) const { return AttemptLayout(attempt_dir(shard, attempt)); }

 private:
  std::string dir_;
};

// "s<shard>/a<attempt>": an attempt folder relative to its run folder, and how an
// attempt is named to people.
std::string AttemptName(int shard, int attempt);
// The number in a shard folder's name "s<i>" or an attempt folder's name "a<k>";
// nullopt for any other name.
std::optional<int> ShardOfFolderName(std::string_view name);
std::optional<int> AttemptOfFolderName(std::string_view name);
// The run folder of GoTestRun <ns>/<run> on the profiles volume mounted at `root`.
RunLayout VolumeRunLayout(std::string_view root, std::string_view ns, std::string_view run);

// ---- size caps ----
//
// The most a reader takes of each file: far above what a real attempt writes (a
// monorepo's listing, minutes of GC lines every few ms, thousands of tests), far
// below what would hurt the operator that reads it.
inline constexpr std::size_t kMaxPackagesBytes = std::size_t{32} << 20;     // packages.json
inline constexpr std::size_t kMaxEventsBytes = std::size_t{512} << 20;      // events.jsonl
inline constexpr std::size_t kMaxMemoryBytes = std::size_t{64} << 20;       // memory.tsv (~3 days)
inline constexpr std::size_t kMaxResultBytes = std::size_t{16} << 20;       // result.json
inline constexpr std::size_t kMaxExecRecordBytes = std::size_t{1} << 20;    // one exec/<pkg>.json
inline constexpr std::size_t kMaxGcTraceBytes = std::size_t{64} << 20;      // one gctrace/<pkg>.log
inline constexpr std::size_t kMaxSnapshotsBytes = std::size_t{16} << 20;    // one heap/<pkg>/snapshots.tsv
inline constexpr std::size_t kMaxHeapProfileBytes = std::size_t{64} << 20;  // one heap profile, compressed
// build.jsonl: two lines of ~300 bytes per compile or link, so ~25,000 steps; the
// writer stops appending at the cap and a reader takes the lines up to it.
inline constexpr std::size_t kMaxBuildLogBytes = std::size_t{16} << 20;

// heap/<pkg>/ names: "0001.pb.gz" for sequence number 1.
std::string HeapProfileName(std::uint64_t seq);
inline constexpr std::string_view kHeapSnapshotsFile = "snapshots.tsv";

// ---- packages.json and the output of `gotestrun-agent list` ----
//
// [{"importPath": "...", "name": "...", "dir": "...", "hasTests": true,
//   "testGoFiles": [...], "xTestGoFiles": [...], "topLevelTests": 8 (when counted),
//   "error": "..." (only when go list could not load the package)}]
inline constexpr int kMaxTopLevelTests = 1000000;
struct PackageListing {
  std::string import_path;
  std::string name;                          // the package clause, e.g. "ledger"
  std::string dir;                           // absolute folder, as go list printed it
  std::vector<std::string> test_go_files;    // package <name>
  std::vector<std::string> x_test_go_files;  // package <name>_test
  // The top-level tests go test runs in it, counted from its test files
  // (agent/test_functions.h); none when they could not be counted.
  std::optional<int> top_level_tests;
  std::string error;

  bool has_tests() const { return !test_go_files.empty() || !x_test_go_files.empty(); }
  friend bool operator==(const PackageListing&, const PackageListing&) = default;
};

std::string EncodePackageListings(const std::vector<PackageListing>& packages);
StatusOr<std::vector<PackageListing>> DecodePackageListings(std::string_view json);

// ---- exec/<pkg>.json ----
//
// {"package": "...", "argv": [...], "startUnixMs": 0, "endUnixMs": 0, "exitCode": 0,
//  "signal": 0, "coreDumped": false, "maxRssBytes": 0, "gomemlimit": 123 or null,
//  "error": "..." (only when the binary could not be started)}

// How a test binary ended, as wait4 told its wrapper.
struct BinaryEnd {
  int exit_code = -1;  // -1 when a signal ended it
  int signal = 0;      // 0 when it exited
  bool core_dumped = false;
  std::uint64_t max_rss_bytes = 0;  // rusage ru_maxrss of the binary and what it waited for
  friend bool operator==(const BinaryEnd&, const BinaryEnd&) = default;
};

struct ExecRecord {
  // The import path; when the binary's folder was not among packages.json, the
  // folder's absolute path instead.
  std::string package;
  std::vector<std::string> argv;  // the test binary and its arguments, as go test gave them
  std::int64_t start_unix_ms = 0;
  std::int64_t end_unix_ms = 0;
  BinaryEnd end;
  std::optional<std::uint64_t> gomemlimit;  // GOMEMLIMIT the binary ran with, in bytes
  std::string error;
  friend bool operator==(const ExecRecord&, const ExecRecord&) = default;
};

std::string EncodeExecRecord(const ExecRecord& record);
StatusOr<ExecRecord> DecodeExecRecord(std::string_view json);

// ---- build.jsonl ----
//
// One JSON object a line, each appended with a single write(2) on an O_APPEND file so
// concurrent steps never interleave inside a line:
//   {"event": "start", "tool": "compile", "package": "...", "importPath": "...",
//    "pid": 123, "startUnixMs": 0}
//   {"event": "end", ...the same..., "endUnixMs": 0, "exitCode": 0, "signal": 0,
//    "coreDumped": false, "maxRssBytes": 0}
// The start line is written before the tool starts, so a kill mid-compile leaves a
// start without an end.
enum class BuildEvent { kStart, kEnd };

struct BuildRecord {
  BuildEvent event = BuildEvent::kStart;
  std::string tool;         // the go tool's name: "compile" or "link"
  std::string package;      // the package it was built for (BuildPackageOf); never empty
  std::string import_path;  // the go command's name of the build action, as given
  std::int64_t pid = 0;     // the tool's process; pairs a start with its end
  std::int64_t start_unix_ms = 0;
  std::int64_t end_unix_ms = 0;  // kEnd only
  BinaryEnd end;                 // kEnd only; max_rss_bytes is the tool's ru_maxrss
  friend bool operator==(const BuildRecord&, const BuildRecord&) = default;
};

// One line, ending in "\n".
std::string EncodeBuildRecord(const BuildRecord& record);
// One line, with or without its "\n". InvalidArgument for anything but an object with
// a known event, a tool and a package, and fields of the right types.
StatusOr<BuildRecord> DecodeBuildRecord(std::string_view line);

// The package a build action belongs to, from the go command's name for it
// (TOOLEXEC_IMPORTPATH, go 1.19+): "p [q.test]" (p compiled for q's test binary: p's
// test variant, its external test package p_test, or a dependency recompiled for it)
// belongs to q; "q.test" (the generated test main and the link of the test binary)
// to q; anything else to itself. Empty for an empty name.
std::string BuildPackageOf(std::string_view import_path);

// A compile or link step, its start and end lines paired by pid.
struct BuildStep {
  std::string tool;
  std::string package;
  std::string import_path;
  std::int64_t pid = 0;
  std::int64_t start_unix_ms = 0;
  std::optional<std::int64_t> end_unix_ms;  // none: it had not ended
  std::optional<BinaryEnd> end;
  bool ended() const { return end.has_value(); }
  friend bool operator==(const BuildStep&, const BuildStep&) = default;
};

struct BuildLog {
  std::vector<BuildStep> steps;     // in the order they started
  std::size_t malformed_lines = 0;  // a last line cut by a kill is one
};
// Steps in start order; an end whose start is missing (past the cap, or hostile input)
// is a step of its own with the start its end line gives.
BuildLog ParseBuildLog(std::string_view text);

// ---- result.json ----
//
// {"version": 1, "goTestArgv": [...], "goTestExitCode": 1, "goTestSignal": 0,
//  "startUnixMs": 0, "endUnixMs": 0, "memorySource": "cgroup2 /sys/fs/cgroup/...",
//  "limitBytes": 536870912 or null, "peakBytes": 1234 or null, "oomKillsSeen": 0 or null,
//  "error": "",
//  "packages": [{"package": "...", "outcome": "pass|fail|skip|killed|build-failed|no-result",
//                "elapsedSeconds": 0.5 or null, "runningTests": [...], "failedTests": [...],
//                "timedOut": false, "binary": {"exitCode", "signal", "coreDumped",
//                "maxRssBytes"} or null, "buildPhase": "compile|link|setup|vet|",
//                "gcPeakHeapBytes": 123 or null}],
//  "memoryStall": see memory_stall.h, absent unless the agent ended a stall}
inline constexpr int kResultVersion = 1;

struct PackageRecord {
  std::string package;  // import path
  gotest::PackageOutcome outcome = gotest::PackageOutcome::kNoResult;
  std::optional<double> elapsed_seconds;
  // For a package that did not pass: the tests running when it ended (a subtest and
  // its parents all listed), the suspects of a kill.
  std::vector<std::string> running_tests;
  std::vector<std::string> failed_tests;
  bool timed_out = false;           // go test's -timeout fired
  std::optional<BinaryEnd> binary;  // null when no test binary ran (cached, build failed)
  // For build-failed: which build step broke, kUnknown (written "") when not known.
  gotest::BuildPhase build_phase = gotest::BuildPhase::kUnknown;
  // The largest heap (at the start or end of a GC) in the binary's gctrace.
  std::optional<std::uint64_t> gc_peak_heap_bytes;
  friend bool operator==(const PackageRecord&, const PackageRecord&) = default;
};

struct AttemptResult {
  int version = kResultVersion;
  std::vector<std::string> go_test_argv;
  int go_test_exit_code = -1;  // -1 when a signal ended go test or it never started
  int go_test_signal = 0;
  std::int64_t start_unix_ms = 0;
  std::int64_t end_unix_ms = 0;
  std::string memory_source;                 // the memory.tsv header's source, e.g. "cgroup1 /sys/fs/cgroup/memory/x"
  std::optional<std::uint64_t> limit_bytes;  // null: no limit, or none readable
  // The most the cgroup used: the larger of the samples and the cgroup's own peak
  // counter (memory.peak, memory.max_usage_in_bytes) where the kernel has one.
  std::optional<std::uint64_t> peak_bytes;
  // OOM kills in the cgroup while the agent ran (memory.events / memory.oom_control).
  std::optional<std::uint64_t> oom_kills_seen;
  // What went wrong in the agent itself (bad flags, go list failed, go not found);
  // empty when nothing did.
  std::string error;
  std::vector<PackageRecord> packages;
  // Set when the agent ended the attempt because it stalled at its memory limit.
  std::optional<MemoryStallRecord> memory_stall;
  friend bool operator==(const AttemptResult&, const AttemptResult&) = default;
};

std::string EncodeAttemptResult(const AttemptResult& result);
// Also FailedPrecondition for a version other than kResultVersion.
StatusOr<AttemptResult> DecodeAttemptResult(std::string_view json);

std::string_view PackageOutcomeJsonName(gotest::PackageOutcome outcome);
std::optional<gotest::PackageOutcome> PackageOutcomeFromJsonName(std::string_view name);

// ---- memory.tsv ----
//
// First line "#source<TAB>cgroup2<TAB><dir>", "#source<TAB>cgroup1<TAB><dir>" or
// "#source<TAB>none" (no memory cgroup readable; no samples follow). Then
// "unix_ms<TAB>usage_bytes<TAB>limit_bytes[<TAB>anon_bytes]", limit_bytes "max" when
// unlimited; anon_bytes (the anonymous part of the usage: no page cache) when the
// cgroup's memory.stat said it.
struct MemorySample {
  std::int64_t unix_ms = 0;
  std::uint64_t usage_bytes = 0;
  std::optional<std::uint64_t> limit_bytes;
  std::optional<std::uint64_t> anon_bytes;
  friend bool operator==(const MemorySample&, const MemorySample&) = default;
};

// `source` is e.g. "cgroup2\t/sys/fs/cgroup/x" or "none"; the line ends in "\n".
std::string FormatMemoryHeader(std::string_view source);
std::string FormatMemorySample(const MemorySample& sample);
// One line, without or with its "\n". InvalidArgument for a header or a bad line.
StatusOr<MemorySample> ParseMemorySample(std::string_view line);

struct MemoryTimeline {
  std::string source;  // the header after "#source\t"; empty when there was none
  std::vector<MemorySample> samples;
  std::size_t malformed_lines = 0;  // a last line cut by a kill is one
};
MemoryTimeline ParseMemoryTimeline(std::string_view text);
// The cgroup's usage at `unix_ms`: the last sample (in file order) taken at or before
// it; none when every sample came later.
std::optional<std::uint64_t> UsageAt(const std::vector<MemorySample>& samples, std::int64_t unix_ms);
// The same sample whole, nullptr when every sample came later.
const MemorySample* SampleAt(const std::vector<MemorySample>& samples, std::int64_t unix_ms);

// ---- heap/<pkg>/snapshots.tsv ----
//
// "unix_ms<TAB>seq<TAB>goroutines<TAB>heap_alloc<TAB>heap_inuse<TAB>heap_sys<TAB>next_gc",
// from runtime.ReadMemStats and runtime.NumGoroutine (which counts the snapshot
// goroutine itself) right after profile seq was written.
struct HeapSnapshotLine {
  std::int64_t unix_ms = 0;
  std::uint64_t seq = 0;
  std::uint64_t goroutines = 0;
  std::uint64_t heap_alloc = 0;
  std::uint64_t heap_inuse = 0;
  std::uint64_t heap_sys = 0;
  std::uint64_t next_gc = 0;
  friend bool operator==(const HeapSnapshotLine&, const HeapSnapshotLine&) = default;
};

std::string FormatHeapSnapshotLine(const HeapSnapshotLine& line);
StatusOr<HeapSnapshotLine> ParseHeapSnapshotLine(std::string_view line);
// Whole lines that parse, in file order; others are skipped.
std::vector<HeapSnapshotLine> ParseHeapSnapshots(std::string_view text);

}  // namespace gotestrun::evidence
