// The `go test` command line `run` starts:
//
//   go test -json -vet=off -exec "<agent> exec --dir ATTEMPT_DIR"
//       -toolexec "<agent> toolexec --dir ATTEMPT_DIR" [-overlay OVERLAY]
//       [-parallel N] [-p N] [-timeout T] [-tags T] [user flags] PACKAGES [-args ...]
//
// The agent owns the flags that decide how evidence is gathered and how much runs at
// once: -json, -vet, -exec, -overlay, -toolexec, -parallel (also -test.parallel), -p,
// -o, -c. A user flag naming one of them is refused, in any of its forms (-f, --f,
// -f=v, --f=v), with an error that says which option to use instead. -tags and
// -timeout are refused when --tags / --timeout are given too. Everything after -args
// goes to the test binaries untouched (except -test.parallel).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "agent/command_line.h"
#include "base/status.h"

namespace gotestrun::agent {

// Set for go test by `run` when --gomemlimit is given: the bytes the exec wrapper puts
// in each test binary's GOMEMLIMIT (GOMEMLIMIT itself would also bind the go command
// and the compiler).
inline constexpr std::string_view kGoMemLimitEnv = "GOTESTRUN_GOMEMLIMIT";

// InvalidArgument naming the first user flag the agent owns.
Status CheckUserFlags(const RunOptions& options);

// The -exec value: the agent and its arguments, quoted the way go splits it
// (cmd/internal/quoted): in single quotes when a path has white space or quotes.
// InvalidArgument for a path go cannot be told (both quote characters in it).
StatusOr<std::string> ExecWrapperValue(std::string_view agent_path, std::string_view attempt_dir);

// The -toolexec value, quoted as the -exec one (go splits both the same way).
StatusOr<std::string> ToolexecWrapperValue(std::string_view agent_path, std::string_view attempt_dir);

// argv of go test, from "go" on. `overlay_json` empty: no -overlay.
StatusOr<std::vector<std::string>> GoTestArgv(const RunOptions& options, std::string_view agent_path,
                                              std::string_view overlay_json);

// Environment `run` adds for go test (and so for every test binary): the heap
// snapshot interval and, when given, the GOMEMLIMIT the exec wrapper applies.
std::vector<std::string> GoTestEnv(const RunOptions& options);

}  // namespace gotestrun::agent
