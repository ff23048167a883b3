// What `go list` says about the packages of a run: import path, package name, folder
// and test files. Both the planning Pod (`gotestrun-agent list`) and `run` (to inject
// the heap snapshot file and to name test binaries) use it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/evidence/evidence.h"
#include "base/status.h"

namespace gotestrun::agent {

// The go list fields read; passed as -json=<fields> so that go prints only these.
inline constexpr std::string_view kGoListFields = "ImportPath,Name,Dir,TestGoFiles,XTestGoFiles,Error";

// `go list -json` prints one JSON object after another, not an array. InvalidArgument
// when the output is not such a sequence. A package's Error becomes
// PackageListing::error.
StatusOr<std::vector<evidence::PackageListing>> ParseGoListOutput(std::string_view output);

// argv of `go list -e -json=<fields> [-tags T] PATTERNS` (-e: a package that does
// not load is listed with its error rather than failing the whole list).
std::vector<std::string> GoListArgv(const std::string& tags, const std::vector<std::string>& patterns);

// What go test says when the patterns match no package at all: go list -e only warns
// (`go: warning: "./a/...x" matched no packages`) and exits 0, where go test prints
// "no packages to test" and exits 1. FailedPrecondition with go's words then; Ok when
// any package matched (go test runs those and only warns about the rest), even one
// without test files.
Status CheckPatternsMatched(const std::vector<evidence::PackageListing>& packages, std::string_view go_list_stderr);

// Runs go list in `module_dir`. FailedPrecondition with go's stderr when it fails, or
// when the patterns match no package (CheckPatternsMatched).
StatusOr<std::vector<evidence::PackageListing>> ListPackages(const std::string& module_dir, const std::string& tags,
                                                             const std::vector<std::string>& patterns);

}  // namespace gotestrun::agent
