// What one attempt's evidence says about one package, as plain data: the input of the
// cause classifier (classify.h).
//
// What this component promises:
//  - PackageSignals is plain data with no behaviour: a test can write one by hand, and
//    Classify is a pure function of it.
//  - ReadPackageSignals is the I/O edge. It reads the attempt folder of
//    core/evidence/evidence.h (result.json, events.jsonl, exec/, gctrace/, heap/, memory.tsv)
//    with every file read capped (ReadOptions), and never crashes or throws on what it
//    finds there: a missing, oversized, truncated or corrupt file leaves its part of
//    the signals empty and adds a line to `notes` saying so.
//  - Times are Unix milliseconds throughout, so that the binary's own clock (heap
//    snapshots, exec records, GC lines timed from the binary's start) and go test's
//    event times can be compared. go test stamps an event when it reads the line, so
//    event times can trail the binary by tens of milliseconds; GC lines are attributed
//    to tests by their place in the stream instead, wherever the stream has them.
//
// Error codes: InvalidArgument for an empty package; NotFound when the folder has no
// evidence of the package at all (no result record, no events, no exec record, no GC
// trace and no heap folder for it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "core/diagnosis/gotest/run_summary.h"
#include "core/evidence/evidence.h"
#include "core/policy/retry.h"

namespace gotestrun::cause {

// One test (or subtest) of the package, from go test's -json events.
struct TestSpan {
  std::string name;                       // "TestX" or "TestX/sub"
  std::optional<std::int64_t> start_ms;   // its "run" event
  std::optional<std::int64_t> resume_ms;  // its last "cont": when a t.Parallel test really started
  std::optional<std::int64_t> end_ms;     // its pass, fail or skip; none when it never ended
  bool ended = false;                     // had a pass, fail or skip event
  bool parallel = false;                  // paused at least once (t.Parallel)
  bool leaf = true;                       // no subtest of its own
};

// Where a sample's memory was allocated, from the frames of its stack.
enum class AllocationOrigin {
  kTest,       // on a test's goroutine (testing.tRunner is on the stack)
  kInit,       // package init or TestMain, before the tests (runtime.doInit, main.main)
  kGoroutine,  // on some other goroutine: one that a test or init started
  kProfiler,   // gotestrun's own heap snapshot goroutine
};
std::string_view AllocationOriginName(AllocationOrigin origin);

// An allocation site: the leaf frame of heap profile samples.
struct AllocationSite {
  std::string function;  // as the profile names it, e.g. "example.com/leak.remember"
  std::string file;      // as the profile names it (a full path)
  std::int64_t line = 0;
  std::uint64_t bytes = 0;  // in use, or grown, depending on the list
  AllocationOrigin origin = AllocationOrigin::kGoroutine;
  std::string test;  // kTest: the top-level test whose goroutine allocated it, e.g. "TestOrders"
};

// In-use bytes of a profile by where they were allocated.
struct InuseByTest {
  std::string test;  // top-level test, e.g. "TestOrders"
  std::uint64_t bytes = 0;
};
struct InuseBreakdown {
  std::optional<std::int64_t> unix_ms;  // of the snapshot whose profile this is
  std::uint64_t total = 0;              // all in-use bytes but the profiler's own
  std::uint64_t tests = 0;
  std::uint64_t init = 0;
  std::uint64_t goroutines = 0;
  std::vector<InuseByTest> by_test;  // largest first
};

// Where the package's tests stood at some moment.
struct TestProgress {
  int started = 0;         // tests that had started (run events), subtests included
  int ended = 0;           // ... and ended
  int running_leaves = 0;  // leaf tests running, not paused
  int open = 0;            // tests started and not ended, paused ones and parents included
  // The innermost test running, as go test attributed the moment; -1 for none (init,
  // or between tests). An index into PackageSignals::tests.
  int test = -1;
};

// One line of heap/<pkg>/snapshots.tsv (runtime.ReadMemStats right after a profile).
struct HeapSample {
  std::int64_t unix_ms = 0;
  std::uint64_t seq = 0;
  std::uint64_t goroutines = 0;  // runtime.NumGoroutine, the snapshot goroutine included
  std::uint64_t heap_alloc = 0;  // live and not yet collected
  std::uint64_t heap_inuse = 0;
  std::uint64_t heap_sys = 0;  // the heap's memory from the OS
  std::uint64_t next_gc = 0;   // the GC goal
  TestProgress progress;       // attributed by time
};

// One GC of the package's test binary (GODEBUG=gctrace=1).
struct GcSample {
  std::uint64_t number = 0;
  double seconds = 0;                   // since the binary started
  std::optional<std::int64_t> unix_ms;  // when the binary's start is known
  std::uint64_t heap_start = 0;         // heap at the start of the GC
  std::uint64_t heap_end = 0;
  std::uint64_t live = 0;    // marked live: what the GC could not free
  std::uint64_t goal = 0;    // the goal of this cycle
  std::uint64_t stacks = 0;  // goroutine stacks the GC scanned (Go 1.18+; 0 when not printed)
  bool forced = false;
  TestProgress progress;
  bool attributed_by_stream = false;  // progress from the line's place in the stream, not by time
};

// The cgroup's usage at a moment (memory.tsv).
using CgroupSample = evidence::MemorySample;

// One compile or link step of the package, from build.jsonl (the toolexec wrapper).
struct BuildStepSample {
  std::string tool;  // "compile" or "link"
  std::string import_path;
  std::int64_t start_ms = 0;
  // Wall time: to its end; for a step that had not ended, to the attempt's last memory
  // sample (about when everything died). None when that is not known.
  std::optional<std::int64_t> ran_ms;
  bool ended = false;
  int signal = 0;  // 9: killed, recorded by a wrapper that outlived it
  int exit_code = -1;
  std::optional<std::uint64_t> max_rss_bytes;
};

struct PackageSignals {
  std::string package;
  policy::PackageResult result = policy::PackageResult::kNotRun;
  policy::Phase phase = policy::Phase::kUnknown;

  // The memory limit of the attempt (its cgroup), when one was known.
  std::optional<std::uint64_t> limit_bytes;
  // The most the attempt's cgroup used (go command, compiles and binaries together).
  std::optional<std::uint64_t> cgroup_peak_bytes;
  std::vector<CgroupSample> cgroup;
  // Test binaries (this one included) running at once when the whole container was
  // killed; 0 when unknown or not a container kill. Above 1, the limit and the
  // cgroup's peak were shared: neither is this binary's own.
  int binaries_at_kill = 0;

  // The package's test binary, from its exec record.
  std::optional<std::uint64_t> max_rss_bytes;
  std::optional<std::uint64_t> gomemlimit_bytes;
  std::optional<std::int64_t> binary_start_ms;
  // When the binary started, as best known: the exec record, else its runtime's start
  // from the GC lines' times, else the package's start event.
  std::optional<std::int64_t> started_ms;
  std::optional<std::int64_t> binary_end_ms;
  int binary_signal = 0;

  // -parallel and -p as go test was given them; none: go's default.
  std::optional<int> parallel;
  std::optional<int> p;
  // GOMAXPROCS of the test binary (the "N P" of its GC lines): the default -parallel.
  std::optional<int> gomaxprocs;

  // Tests in the order they started.
  std::vector<TestSpan> tests;
  // The tests running when the binary ended without a result (a subtest and its
  // parents all listed): the suspects of a kill.
  std::vector<std::string> running_at_kill;
  // Tests known to exist in the package (go test -list, or an earlier attempt that
  // ran them all), for projections; none when only this attempt is known.
  std::optional<int> known_test_count;

  std::vector<HeapSample> heap;
  // The binary ran with its GC traced (gctrace/<pkg>.log exists). With no GC line in
  // it the heap never reached the first goal (4 MiB).
  bool gctrace_recorded = false;
  std::vector<GcSample> gc;

  // A compile or link step of the package killed by a signal: its tool, e.g. "compile".
  std::string killed_build_tool;
  // The package's compile and link steps, in the order they started (at most
  // kMaxBuildSteps, the latest kept).
  std::vector<BuildStepSample> build_steps;

  // From the heap profiles: the top in-use sites of the last snapshot, the sites that
  // grew most between the first and the last, and the last one's in-use bytes by origin.
  // Go's heap profile reflects the heap as of the last GCs, not the moment it was taken.
  std::vector<AllocationSite> inuse_sites;
  std::vector<AllocationSite> growth_sites;
  std::optional<InuseBreakdown> inuse;

  // What could not be read or was left out, one line each.
  std::vector<std::string> notes;
};

struct ReadOptions {
  // Caps on what is read. A larger file is read up to the cap (events, traces, tables)
  // or skipped (profiles), and a note says so.
  std::size_t max_events_bytes = std::size_t{256} << 20;
  std::size_t max_table_bytes = std::size_t{16} << 20;   // memory.tsv, snapshots.tsv, gctrace
  std::size_t max_record_bytes = std::size_t{16} << 20;  // result.json, exec record
  std::size_t max_profile_bytes = std::size_t{32} << 20;
  std::size_t max_sites = 8;
  // What the caller already decided about the package (the controller reads the Pod
  // too); when unset, it is read from the folder.
  std::optional<policy::PackageResult> result;
  std::optional<policy::Phase> phase;
  std::optional<int> known_test_count;
};

StatusOr<PackageSignals> ReadPackageSignals(const std::string& attempt_dir, std::string_view package,
                                            const ReadOptions& options = {});

// The container was killed at its memory limit (the kernel's OOM killer, the local RSS
// watch, a stall at the limit): its cgroup's usage reached the limit then, whatever
// the last sample said. memory.tsv is sampled at intervals and a binary can fill the
// rest of its limit between two samples (64 MiB of cgo malloc and memset takes ~20 ms),
// so the sampled peak alone can read as a fraction of the limit. Records the limit as
// the peak and as a sample at the last moment anything was seen. No-op without a limit.
void NoteKilledAtLimit(PackageSignals& s);

// go test's event Time (RFC 3339 with optional fractional seconds, "Z" or a numeric
// offset) as Unix milliseconds; nullopt when it is not one.
std::optional<std::int64_t> ParseEventTimeMs(std::string_view text);

}  // namespace gotestrun::cause
