// The lines `go test` prints as plain text that say how a package or a build ended.
// They appear in plain `go test` output, as non-JSON lines beside a -json stream
// (before Go 1.24 build errors went to stderr as text), and inside -json output
// events. Recognising a line here says nothing about where it came from; the reader
// decides which forms to trust in which context.
#pragma once

#include <optional>
#include <string_view>

#include "core/diagnosis/gotest/run_summary.h"

namespace gotestrun::gotest {

enum class TextLineKind {
  kOther,
  kPackagePass,         // "ok  \t<pkg>\t0.012s" (also "(cached)" and coverage suffixes)
  kPackageFail,         // "FAIL\t<pkg>\t0.012s"
  kPackageBuildFailed,  // "FAIL\t<pkg> [build failed]"
  kPackageSetupFailed,  // "FAIL\t<pkg> [setup failed]"
  kPackageNoTestFiles,  // "?   \t<pkg>\t[no test files]"
  kBuildHeader,         // "# <package ID>": output of a build step follows
  kVetHeader,           // "# [<package>]": vet's findings follow
  kBuildStepSignal,     // "<package ID>: <path>/compile: signal: killed"
  kProcessSignal,       // "signal: killed": how go test reports a test binary ended by a signal
  kPanic,               // "panic: ..." at the start of a line
  kTimeout,             // "panic: test timed out after 10m0s", "*** Test killed: ran too long (11m0s)."
};

// Views into the classified line: valid as long as the line is.
struct TextLine {
  TextLineKind kind = TextLineKind::kOther;
  std::string_view package;       // the package or package ID the line names
  std::string_view tool;          // kBuildStepSignal: base name of the program go ran
  std::string_view signal;        // kBuildStepSignal, kProcessSignal: e.g. "killed"
  std::optional<double> seconds;  // kPackagePass, kPackageFail, when printed
};

TextLine ClassifyTextLine(std::string_view line);

// go test's "signal: <name>" glued to the end of another line: a binary killed in
// the middle of writing a line leaves it unfinished, and go test appends its own line
// without a newline before it ("gc 3 @0.1s 10%: 0.023+0.08signal: killed"). Returns
// the signal name. Only worth believing when go test's FAIL line comes right after.
std::optional<std::string_view> GluedProcessSignal(std::string_view line);

// The build phase a tool's base name stands for ("compile", "link", "vet"), or kUnknown.
BuildPhase PhaseOfTool(std::string_view tool);

// "file.go:12:5: message" or "file.go:12: message": how compiler and vet errors start.
bool IsGoSourcePosition(std::string_view line);

// "<path>/link: ..." or "link: ...": how the linker's own errors start.
bool IsLinkerMessage(std::string_view line);

// Whether a build's package ID belongs to the test package `package`: the package
// itself, its test variant "p [p.test]", its external test "p_test [p.test]", or the
// linked test binary "p.test".
bool BuildBelongsToPackage(std::string_view import_path, std::string_view package);

}  // namespace gotestrun::gotest
