// What `gotestrun run` runs: a GoTestRun, from a manifest (-f) or built from flags,
// checked by the same api::ParseSpec as the operator, and where it runs on this
// machine.
//
// The source of a local run is always a folder on this machine. spec.source (a
// PersistentVolumeClaim or a git URL) and spec.image say where a cluster finds the
// module and the go command; neither means anything here, so a manifest's are kept
// as written (the run.yaml of the run folder is the manifest as given, so it still
// applies to a cluster) but not used: the module is the one in --module-dir, which
// stands in for the checked-out source (spec.source.moduleDir, if set, is taken
// relative to it), and go is the one on PATH. A run built from flags has no
// manifest; the schema still requires a source and an image, so it gets placeholders
// (claim "local", image "local") that name nothing, and the module folder is recorded
// in the annotation gotestrun.dev/module-dir, which run.yaml explains in a comment.
// Also a cluster's only: profiling.claimName (the evidence goes to the run folder).
// resources.cpu cannot be enforced here; GOMAXPROCS is set from it instead, which is
// what Go 1.25+ derives from a container's CPU limit and what the planner assumes.
//
// Flags given with -f override the manifest's fields (packages, memory, ...).
#pragma once

#include <climits>
#include <chrono>
#include <istream>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/machine_budget.h"
#include "core/api/gotestrun.h"
#include "base/status.h"

namespace gotestrun::cli {

// `gotestrun run`'s options as given on the command line, before they are a GoTestRun.
struct RunFlags {
  std::string manifest_file;          // -f; "-" reads stdin
  std::vector<std::string> packages;  // positional; empty: the manifest's, else ./...
  std::string module_dir = ".";       // --module-dir
  // Spec fields, as written; unset leaves the manifest's value or the default.
  // Kept as text so that a bad value reaches ParseSpec and gets the CRD's message.
  std::optional<std::string> memory;              // --memory (default 512Mi)
  std::optional<std::string> max_memory;          // --max-memory (default 2Gi)
  std::optional<std::string> shards;              // --shards
  std::optional<std::string> max_shards;          // --max-shards
  std::optional<std::string> parallel;            // --parallel
  std::optional<std::string> p;                   // --p
  std::optional<std::string> max_attempts;        // --max-attempts
  std::optional<std::string> memory_stall_after;  // --memory-stall-after (default 10s)
  std::optional<std::string> machine_memory;      // --machine-memory (default: what is available)
  std::string name;                               // --name; default: the module folder's name and a timestamp
  std::string out;                                // --out: the run folder
  std::string agent;                              // --agent: gotestrun-agent
  bool json_progress = false;                     // --json-progress
  bool no_history = false;                        // --no-history
  bool no_memory_stall = false;                   // --no-memory-stall
  // GOFLAGS of the shell that ran gotestrun: the go commands inherit it, so the run
  // must know it too (a -run there leaves tests out of the counts projections use).
  std::optional<std::string> shell_goflags;
};

inline constexpr char kDefaultMemory[] = "512Mi";
inline constexpr char kDefaultMaxMemory[] = "2Gi";
// Placeholders for the schema's required source and image in a run built from flags.
inline constexpr char kLocalPlaceholder[] = "local";

// The run, resolved.
struct LocalRun {
  nlohmann::json object;    // the GoTestRun as run: apiVersion, kind, metadata, spec
  api::GoTestRunSpec spec;  // object.spec as ParseSpec read it
  std::string name;
  std::string module_dir;          // absolute: the folder with go.mod
  std::string run_dir;             // absolute: where the evidence and status go
  std::vector<std::string> notes;  // what this run does differently from a cluster's
  // Environment of each shard attempt: spec.goTest.env, then GOMAXPROCS from resources.cpu.
  // spec.env also holds the shell's GOFLAGS when goTest.env sets none (a note says so).
  std::vector<std::string> env;
  // Plan from the module's memory history and record this run's peaks in it
  // (local/history_file.h); --no-history plans as a first run and leaves it alone.
  bool use_history = true;
  // --machine-memory: the most the running shards' limits may add up to; unset: what
  // this machine and this process's cgroup have available (machine_budget.h).
  std::optional<std::uint64_t> machine_memory;
  // The bound on shards running at once; unbounded until the caller reads the machine's.
  MachineBudget budget{.memory_bytes = UINT64_MAX, .go_commands = INT_MAX, .source = "unbounded"};
};

// The largest manifest -f reads, from a file or stdin: a GoTestRun is a few KB, and
// anything near this is not one.
inline constexpr size_t kMaxManifestBytes = size_t{4} << 20;

// The text of -f FILE, or of `in` for "-". InvalidArgument once more than
// kMaxManifestBytes arrive, having read at most one chunk past it.
StatusOr<std::string> ReadManifest(const std::string& file, std::istream& in);

// The GoTestRun object of a manifest's text: exactly one document, of kind GoTestRun
// and apiVersion gotestrun.dev/v1alpha1. InvalidArgument saying what is wrong.
StatusOr<nlohmann::json> DecodeManifest(std::string_view yaml);

// Builds the run from the flags and, when -f was given, the manifest's object.
// `cwd` resolves relative folders; `now` names a run without --name.
// InvalidArgument (naming the flag where one was given) for anything the CRD refuses
// or a bad name; the module folder is not checked here (see CheckModuleDir).
StatusOr<LocalRun> ResolveRun(const RunFlags& flags, const std::optional<nlohmann::json>& manifest,
                              const std::string& cwd, std::chrono::system_clock::time_point now);

// FailedPrecondition when `dir` is not a folder with a go.mod.
Status CheckModuleDir(const std::string& dir);

// "memory-20260301-142502": the folder's base name made a valid Kubernetes name, and
// the time (UTC), within metadata.name's 52 characters.
std::string DefaultRunName(const std::string& module_dir, std::chrono::system_clock::time_point now);

// InvalidArgument unless `name` is a valid GoTestRun name: lower-case letters, digits,
// '-' and '.', starting and ending with a letter or digit, at most 52 characters.
Status ValidateRunName(const std::string& name);

}  // namespace gotestrun::cli
