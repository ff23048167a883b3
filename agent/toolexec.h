// `gotestrun-agent toolexec --dir ATTEMPT_DIR TOOL ARGS...`: the -toolexec wrapper go
// test starts in place of each go tool (compile, link, asm, cgo, vet, ...).
//
// A whole container OOM-killed while go test is still building leaves no test binary
// to blame; this wrapper leaves the build steps instead. For compile and link it
// appends a start line to ATTEMPT_DIR/build.jsonl before the tool starts (so a kill
// mid-compile leaves "started, not ended" on the volume), runs the tool as its child
// (not exec: wait4 gives its max RSS), and appends an end line with the wall time,
// how it ended and its ru_maxrss. The tool shares the wrapper's stdin, stdout and
// stderr, and the wrapper ends the way the tool did (exec_wrapper.h's ExitLike), so
// the go command sees exactly what it would see without the wrapper. Signals sent to
// the wrapper (the go command's interrupt) are passed on.
//
// Not recorded, the wrapper exec'ing the tool in its own place: the other tools (asm,
// cgo, vet, buildid, pack) and version queries (`TOOL -V=full`, which the go command
// runs to key its cache). asm and cgo's own step are small and short beside the
// compile of the same package; C compilers for cgo are run by the go command itself,
// never through -toolexec.
//
// The package: the go command names each build action in TOOLEXEC_IMPORTPATH (go
// 1.19+), read with evidence::BuildPackageOf; without it, compile's -p argument (which
// is "main" for a test main) or link's -o file name.
//
// The records are evidence, not a condition of the build: a record that cannot be
// written (no folder, the log at its cap) is skipped without a word, since anything
// the wrapper printed would be read by go as the tool's output.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "agent/command_line.h"
#include "core/evidence/evidence.h"

namespace gotestrun::agent {

// Whether this run of the tool is recorded: compile or link, and not a -V query.
bool RecordsBuildStep(const std::vector<std::string>& argv);

// The package a recorded step belongs to; see above.
std::string BuildStepPackage(const std::vector<std::string>& argv, std::string_view toolexec_import_path);

// Runs the tool as described above and returns how it ended; for a tool that is not
// recorded, execs it in this process (and returns only if that fails).
evidence::BinaryEnd RunBuildTool(const ExecOptions& options);

}  // namespace gotestrun::agent
