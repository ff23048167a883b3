// The agent's subcommands and their options, parsed from argv (after the subcommand).
//
//   gotestrun-agent install DEST
//   gotestrun-agent list --module-dir DIR [--tags T] [--out FILE] [PATTERNS...]
//   gotestrun-agent run --dir ATTEMPT_DIR --module-dir DIR [--parallel N] [--p N]
//       [--gomemlimit BYTES] [--heap-interval DURATION] [--timeout DURATION] [--tags T]
//       [--memory-stall-after DURATION] [--flag F]... PACKAGES...
//   gotestrun-agent exec --dir ATTEMPT_DIR BINARY ARGS...
//   gotestrun-agent toolexec --dir ATTEMPT_DIR TOOL ARGS...
//
// Options are "--name value" or "--name=value". For install, list and run they may
// come in any order with the positional arguments, and "--" ends them; for exec and
// toolexec they end at BINARY (TOOL), whose own arguments are never read as the agent's.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/go_duration.h"
#include "base/status.h"

namespace gotestrun::agent {

struct InstallOptions {
  std::string dest;
};

struct ListOptions {
  std::string module_dir;
  std::string tags;
  std::string out;                    // empty: stdout
  std::vector<std::string> patterns;  // empty: "./..."
};

struct RunOptions {
  std::string attempt_dir;
  std::string module_dir;
  std::optional<int> parallel;                    // go test -parallel
  std::optional<int> p;                           // go test -p
  std::optional<std::uint64_t> gomemlimit_bytes;  // GOMEMLIMIT of each test binary
  std::chrono::milliseconds heap_interval{2000};
  // How long a stall at the memory limit may last before the running test binary is
  // ended (memory_stall_watch.h); 0 (--memory-stall-after 0s) turns the watch off.
  std::chrono::milliseconds memory_stall_after{10000};
  std::string timeout;  // go test -timeout, a Go duration as given; empty: go's default
  std::string tags;
  std::vector<std::string> flags;  // more go test flags, in order
  std::vector<std::string> packages;
};

struct ExecOptions {
  std::string attempt_dir;
  std::vector<std::string> argv;  // the test binary and its arguments
};

// InvalidArgument, naming the option, for unknown options, missing values and bad numbers.
StatusOr<InstallOptions> ParseInstallArgs(std::span<const std::string> args);
StatusOr<ListOptions> ParseListArgs(std::span<const std::string> args);
StatusOr<RunOptions> ParseRunArgs(std::span<const std::string> args);
StatusOr<ExecOptions> ParseExecArgs(std::span<const std::string> args);
// toolexec has exec's shape: the attempt folder, then the go tool and its arguments.
StatusOr<ExecOptions> ParseToolexecArgs(std::span<const std::string> args);

// A byte count: digits with an optional unit B, KiB, MiB, GiB, TiB (GOMEMLIMIT's) or
// Ki, Mi, Gi, Ti (Kubernetes quantities).
StatusOr<std::uint64_t> ParseByteSize(std::string_view text);

}  // namespace gotestrun::agent
