// `gotestrun-agent exec`: the -exec wrapper go test starts in place of each test binary.
//
// It runs the binary with
//   - GODEBUG=gctrace=1 appended to any GODEBUG it had (the last setting wins),
//   - GOMEMLIMIT from GOTESTRUN_GOMEMLIMIT when `run` was given --gomemlimit,
//   - GOTESTRUN_HEAP_DIR=ATTEMPT_DIR/heap/<pkg> for the injected snapshot file;
// tees the binary's output back to go test unchanged while copying its `gc N @...`
// lines to gctrace/<pkg>.log as they come; writes exec/<pkg>.json when it ends; and
// then ends the way the binary did, re-raising a fatal signal on itself so that go
// test reports "signal: killed" exactly as without the wrapper. Signals go test
// sends the wrapper (SIGQUIT on -timeout, SIGINT, SIGTERM, SIGHUP) are passed on.
//
// Output: go test gives a -json test binary one pipe for both stdout and stderr. When
// the wrapper's stdout and stderr are the same file, the binary gets one pipe for both,
// read by the wrapper, so that go test sees the bytes in the order the binary wrote
// them. Otherwise stdout is the wrapper's own and only stderr passes through it.
//
// The package: go test starts the wrapper in the package's folder. The wrapper looks
// that folder up in ATTEMPT_DIR/packages.json (written by `run` from go list; folders
// compared as given and after resolving symlinks); a folder not there (the wrapper
// used without `run`) names the package by its absolute path.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/command_line.h"
#include "core/evidence/evidence.h"

namespace gotestrun::agent {

// GODEBUG with gctrace=1 appended.
std::string WithGcTrace(std::string_view godebug);

// The import path of the package whose folder is `dir`, or `dir` itself.
std::string PackageForDir(const std::vector<evidence::PackageListing>& packages, const std::string& dir);

// Runs the test binary as described above and returns how it ended.
evidence::BinaryEnd RunTestBinary(const ExecOptions& options);

// Ends this process the way `end` says the binary ended.
[[noreturn]] void ExitLike(const evidence::BinaryEnd& end);

}  // namespace gotestrun::agent
