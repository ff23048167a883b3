// The GoTestRun resource as the engine reads it: the spec decoded, defaulted and
// checked, and turned into the retry policy's knobs.
//
// In a cluster the API server has already applied the CRD's defaults and validation
// (crds/gotestrun.dev_gotestruns.yaml); the same rules are applied here so that a
// manifest run without a cluster (`gotestrun run -f`) is refused the same way, and so
// that the controller never trusts what it reads. Every error names the field.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "core/policy/plan.h"

namespace gotestrun::api {

using Json = nlohmann::json;

inline constexpr char kGroup[] = "gotestrun.dev";
inline constexpr char kVersion[] = "v1alpha1";
inline constexpr char kApiVersion[] = "gotestrun.dev/v1alpha1";
inline constexpr char kKind[] = "GoTestRun";
inline constexpr char kFinalizer[] = "gotestrun.dev/evidence";

struct EnvVar {
  std::string name;
  std::string value;
};

struct GoTestRunSpec {
  // source: exactly one of a volume (claim + subPath) or git.
  std::string volume_claim;
  std::string volume_sub_path;
  std::string git_url;
  std::string git_revision;
  std::string module_dir = ".";
  std::string image;
  std::vector<std::string> packages = {"./..."};
  std::vector<std::string> flags;
  std::vector<std::string> tags;
  std::string timeout;  // go duration, passed to go test as is
  std::vector<EnvVar> env;
  std::optional<std::string> cpu;  // as written, for the Pod
  policy::RunPolicy policy;
  bool profiling = true;
  std::chrono::milliseconds heap_interval{2000};
  std::string profiles_claim = "gotestrun-profiles";
  int growth_threshold_percent = 25;
  bool fail_on_growth = false;
  // spec.memoryStall: end an attempt whose memory stays pinned at its limit while the
  // kernel thrashes (see sandbox/memory_stall.h) after this long; off when disabled.
  bool memory_stall_enabled = true;
  std::chrono::milliseconds memory_stall_after{10000};
};

// spec.memoryStall.after bounds: under 2 s a few sampling hiccups would decide; past
// 10 minutes a stalled attempt has cost most of what the watch is there to save.
inline constexpr std::chrono::milliseconds kMinMemoryStallAfter{2000};
inline constexpr std::chrono::milliseconds kMaxMemoryStallAfter{600000};

// Decodes `spec` of a GoTestRun. InvalidArgument naming the field on anything the
// CRD would refuse.
StatusOr<GoTestRunSpec> ParseSpec(const Json& spec);

// The OpenAPI schema of spec in the built-in CRD (crds/gotestrun.dev_gotestruns.yaml).
const Json& SpecSchema();

// The name of a go test flag given as one argument, as go reads it: without its one or
// two dashes, its "test." prefix (-test.parallel reaches the binary) and whatever
// follows '=' or whitespace ("-exec /bin/true" as one argument names exec). Empty when
// `flag` is no flag.
std::string_view FlagName(std::string_view flag);
// What follows the name in a flag given as one argument ("-count=1", "-count 1" as one
// argument), without the '=' or the blanks; nullopt when nothing follows the name.
std::optional<std::string_view> FlagInlineValue(std::string_view flag);

// Flags the engine sets itself and a user may not: -parallel, -p, -json, -exec, ...
// in -flag, --flag and -flag=value forms. The name when `flag` is one of them.
std::optional<std::string> OwnedFlag(std::string_view flag);

// The words of a GOFLAGS value (go splits it at whitespace).
std::vector<std::string> GoFlagsWords(std::string_view value);

// "20m", "1h30m", "250ms" -> milliseconds; InvalidArgument otherwise.
StatusOr<std::chrono::milliseconds> ParseGoDuration(std::string_view text);

}  // namespace gotestrun::api
