// A finished (or still running) GoTestRun read back from disk, for the report.
//
// A local run (`gotestrun run`) leaves a run folder:
//
//   RUN_DIR/
//     run.yaml           the GoTestRun as run (apiVersion, kind, metadata, spec)
//     status.yaml        its .status as the operator writes it (core/api/status.h)
//     plan/packages.json the packages go list found (evidence::EncodePackageListings)
//     s<i>/a<k>/         one attempt folder per shard attempt (core/evidence/evidence.h)
//
// The operator's profiles volume holds the same s<i>/a<k> folders under <ns>/<run>;
// there the GoTestRun object comes from the API server instead of the yaml files.
//
// What this component promises:
//  - Reading is bounded: every file has a size cap (LoadLimits), the number of files
//    read from one folder is capped, and every file is read with base/files.h's
//    ReadFileWithin: a FIFO or device named like an evidence file, or a link leading
//    out of the run folder, is refused, never read.
//  - A file that is missing where it may be missing (result.json after a container
//    kill, heap profiles with profiling off) is simply absent. A file that cannot be
//    read or decoded is recorded in LoadedRun::skipped with the reason and left out;
//    the rest of the folder is still read. Nothing in the folder can make loading
//    throw or crash.
//  - Attempts come from status.yaml (shards[].attempts[]) joined with the s<i>/a<k>
//    folders on disk: an attempt with a folder but no status entry is kept (with
//    in_status false), and one in the status without a folder has no evidence.
//  - Only LoadRunFolder touches the file system; the result is plain data.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/evidence/evidence.h"
#include "base/status.h"
#include "core/diagnosis/gotest/run_summary.h"

namespace gotestrun::report {

// Caps on what loading one run folder reads: the evidence contract's caps, smaller
// in tests. A real run stays far below them.
struct LoadLimits {
  std::size_t max_yaml_bytes = std::size_t{4} << 20;  // run.yaml, status.yaml
  std::size_t max_plan_bytes = evidence::kMaxPackagesBytes;
  std::size_t max_memory_bytes = evidence::kMaxMemoryBytes;
  // events.jsonl is streamed through the bounded go test reader; beyond this only the
  // last bytes are read (the end of the stream is where a kill shows).
  std::size_t max_events_bytes = evidence::kMaxEventsBytes;
  std::size_t max_result_bytes = evidence::kMaxResultBytes;
  std::size_t max_exec_bytes = evidence::kMaxExecRecordBytes;
  std::size_t max_snapshots_bytes = evidence::kMaxSnapshotsBytes;
  std::size_t max_profile_bytes = evidence::kMaxHeapProfileBytes;
  std::size_t max_files_per_folder = 10000;  // exec/, heap/, heap/<pkg>/
  std::size_t max_attempt_folders = 4096;    // s<i>/a<k> over the run
  std::size_t top_sites = 10;                // allocation sites per diagnosis
};

// A file that was there but could not be used (or, for an oversized event stream, was
// read only in part), and why.
struct SkippedFile {
  std::string path;  // relative to the run folder, e.g. "s0/a1/memory.tsv"
  std::string reason;
};

// One entry of status.shards[].attempts[], as written.
struct AttemptStatus {
  std::string pod;
  std::string memory;  // the attempt's memory limit, a quantity such as "384Mi"
  std::optional<std::uint64_t> memory_bytes;
  std::optional<int> parallel;
  std::optional<int> p;
  std::string gomemlimit;  // Go's form, e.g. "345MiB"
  std::string outcome;     // Pending, Running, Succeeded, TestsFailed, OOMKilled, Failed
  std::string phase;       // where a kill happened: compile, link, init, test-run
  std::optional<std::uint64_t> peak_bytes;
  std::string killed_package;
  std::string running_test;
  std::string start_time;  // RFC 3339
  std::string finish_time;
  std::string message;
};

// The in-use memory of one package's test binary by function, from its last heap
// profile, as `go tool pprof -top -sample_index=inuse_space` reports it.
struct AllocationSite {
  std::string function;
  std::string filename;  // of the line that allocates most in the function
  std::int64_t line = 0;
  std::int64_t flat_bytes = 0;
  std::int64_t cum_bytes = 0;
};

struct HeapTop {
  std::string profile;  // relative to the run folder, e.g. "s0/a3/heap/<pkg>/0004.pb.gz"
  std::uint64_t seq = 0;
  std::optional<evidence::HeapSnapshotLine> snapshot;  // the snapshots.tsv line of that profile
  std::int64_t total_inuse_bytes = 0;
  std::size_t function_count = 0;     // functions that allocated in-use memory, before the cut to LoadLimits::top_sites
  std::vector<AllocationSite> sites;  // those with the most in-use bytes (flat), most first
};

// What an attempt folder s<i>/a<k> holds.
struct AttemptEvidence {
  std::string path;     // relative to the run folder, e.g. "s0/a1"
  bool exists = false;  // false: the folder is not there (no evidence at all)
  evidence::MemoryTimeline memory;
  std::vector<evidence::ExecRecord> execs;  // by start time
  // Absent when the agent itself died (its container was killed) before writing it.
  std::optional<evidence::AttemptResult> result;
  bool has_events = false;
  gotest::RunSummary events;
  // heap/<pkg>/snapshots.tsv by import path.
  std::map<std::string, std::vector<evidence::HeapSnapshotLine>> heap_snapshots;
  // Heap profile files by import path, sorted by sequence number.
  std::map<std::string, std::vector<std::pair<std::uint64_t, std::string>>> heap_profiles;
};

struct Attempt {
  int shard = 0;
  int attempt = 0;
  bool in_status = false;  // listed in status.shards[].attempts[]
  AttemptStatus status;
  AttemptEvidence evidence;
};

struct Shard {
  int index = 0;
  std::vector<std::string> packages;  // of its latest plan
  std::vector<Attempt> attempts;      // by attempt number
};

// status.packages[]: how each package ended over the run.
struct PackageStatus {
  std::string package;
  std::string outcome;  // Succeeded, TestsFailed, BuildFailed, OOMKilled, Failed
  int attempts = 0;
  std::optional<int> shard;
  std::optional<std::uint64_t> peak_bytes;
};

// status.diagnosis[]: why a package that ended on a kill needed its memory.
// status.warnings[]: a package that passed but is at risk of an OOM kill next time.
struct Warning {
  std::string package;
  std::string kind;  // NearLimit, LeakAcrossTests, GoroutineLeak
  std::string message;
  std::string attempt;
};

struct Diagnosis {
  std::string package;
  std::string phase;
  std::string cause;  // e.g. LeakAcrossTests
  std::string summary;
  std::vector<std::string> evidence;
  std::string action;  // the verdict, e.g. DoesNotFit
  // From the latest attempt with heap profiles of the package; absent without one.
  std::optional<HeapTop> heap;
};

// status.retryLog: one entry per package per attempt.
struct RetryLogEntry {
  std::string package;
  int shard = 0;
  int attempt = 0;
  std::uint64_t memory_bytes = 0;
  std::optional<int> parallel;
  std::optional<int> p;
  std::optional<std::uint64_t> gomemlimit_bytes;
  std::optional<std::uint64_t> peak_bytes;
  std::string result;  // passed, tests failed, build failed, killed, build killed, no result
  std::string phase;
  std::string cause;
  bool counted = false;
  std::string verdict;  // set on the entry that ended the package
};

struct Condition {
  std::string type;
  std::string status;
  std::string reason;
  std::string message;
  std::string last_transition_time;
};

struct LoadedRun {
  std::string dir;  // as given
  // From run.yaml (or the object): metadata and the parts of the spec people ask for.
  std::string name;
  std::string ns;
  nlohmann::json spec = nlohmann::json::object();
  std::string memory;      // spec.resources.memory, as written
  std::string max_memory;  // spec.resources.maxMemory
  std::string image;
  std::vector<std::string> patterns;  // spec.packages
  // From status.yaml.
  bool has_status = false;
  std::string phase;
  std::string message;
  std::string start_time;
  std::string completion_time;
  std::optional<int> oom_kills;
  std::vector<Condition> conditions;
  std::vector<Shard> shards;  // by index
  std::vector<PackageStatus> packages;
  std::vector<Diagnosis> diagnoses;
  std::vector<Warning> warnings;
  std::vector<RetryLogEntry> retry_log;  // by package, then as logged
  // From plan/packages.json; empty when there is none.
  std::vector<evidence::PackageListing> plan;
  std::vector<SkippedFile> skipped;

  // Every attempt, in the order they started (by start time where known, then by
  // attempt number and shard).
  std::vector<const Attempt*> AttemptsInOrder() const;
};

// When an attempt started and ended, in Unix milliseconds: from the status, else from
// its evidence (result.json, the exec records, the memory samples).
std::optional<std::int64_t> AttemptStartUnixMs(const Attempt& attempt);
std::optional<std::int64_t> AttemptEndUnixMs(const Attempt& attempt);

// Reads a run folder as `gotestrun run` leaves it. NotFound when `dir` is not a
// folder; everything inside it that is missing or unreadable is left out (and noted
// in LoadedRun::skipped), so a report can always be written.
StatusOr<LoadedRun> LoadRunFolder(const std::string& dir, const LoadLimits& limits = {});

// The operator's form: `attempts_dir` is <profiles volume>/<ns>/<run> with the
// s<i>/a<k> folders, and `run` the GoTestRun object (metadata, spec, status) as the
// API server returns it.
StatusOr<LoadedRun> LoadRunFolder(const std::string& attempts_dir, const nlohmann::json& run,
                                  const LoadLimits& limits = {});

}  // namespace gotestrun::report
