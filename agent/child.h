// Child processes with chosen standard streams and the resource usage of their end.
// base/subprocess.h sends a child's output to a file and reports only its wait status;
// the exec wrapper must hand a test binary its own stdout, read its stderr through a
// pipe and learn its peak RSS from wait4, and `go list` must be read from a pipe
// apart from its stderr.
#pragma once

#include <sys/types.h>

#include <array>
#include <string>
#include <vector>

#include "core/evidence/evidence.h"
#include "base/status.h"

namespace gotestrun::agent {

struct ChildSpec {
  std::vector<std::string> argv;       // argv[0] is looked up in PATH if it has no '/'
  std::vector<std::string> extra_env;  // "NAME=value", replacing NAME in this process's environment
  std::string working_dir;             // empty: this process's
  // The child's stdin, stdout and stderr: a descriptor of this process, or -1 to share
  // this process's own.
  std::array<int, 3> stdio{-1, -1, -1};
  bool die_with_parent = true;  // SIGKILL when this process dies (PR_SET_PDEATHSIG)
  // Signals the child starts with blocked here and released in the child after its
  // handlers are reset, so that none is handled by a copy of this process's handlers.
  std::vector<int> held_signals;
};

// Starts the child; FailedPrecondition when it cannot be started (no such program,
// no such folder), with the reason.
StatusOr<pid_t> SpawnChild(const ChildSpec& spec);

// Waits for the child (wait4, retrying on EINTR) and says how it ended.
BinaryEnd WaitChild(pid_t pid);

struct CapturedRun {
  BinaryEnd end;
  std::string out;
  std::string err;
};

// Runs a command to its end with stdin from /dev/null, collecting stdout and stderr
// apart. ResourceExhausted when either exceeds `max_bytes`.
StatusOr<CapturedRun> RunCaptured(ChildSpec spec, std::size_t max_bytes);

}  // namespace gotestrun::agent
