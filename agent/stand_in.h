// The agent standing in for a program the go command runs: the test binary (exec
// wrapper) or a compiler or linker (toolexec). The go command signals the process it
// started, which is the agent; the program must get those signals as if it had been
// started directly.
#pragma once

#include <sys/types.h>

#include <initializer_list>
#include <vector>

#include "base/status.h"
#include "sandbox/child_process.h"

namespace gotestrun::agent {

// Forwards `signals` sent to this process to the one child it stands in for. Only one
// per process: the signal handlers are process-wide.
class StandIn {
 public:
  explicit StandIn(std::initializer_list<int> signals);

  // Starts the child. The forwarded signals are held from before the fork until the
  // child's pid is known, so none is lost, and none is handled in the child.
  StatusOr<pid_t> Spawn(sandbox::ChildSpec spec);
  // Waits for the child; signals arriving after it ended are no longer forwarded.
  sandbox::ExitInfo Wait(pid_t pid);

 private:
  std::vector<int> signals_;
};

}  // namespace gotestrun::agent
