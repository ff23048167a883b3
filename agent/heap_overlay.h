// Periodic heap profiles from inside test binaries, without touching the user's tree.
//
// `go test -overlay` adds one file, zz_gotestrun_heap_test.go, to every package that
// has test files. Its init() starts one goroutine with a ticker that, every interval,
// writes pprof.Lookup("heap") to $GOTESTRUN_HEAP_DIR/NNNN.pb.gz (through a temporary
// name and a rename) and then appends a snapshots.tsv line (evidence.h). It does
// nothing when GOTESTRUN_HEAP_DIR is unset, so a binary run by hand is unaffected.
//
// The file imports only the standard library, every import under an alias and every
// identifier prefixed with zzGotestrunHeap, so it cannot collide with the package's
// own names. It is a test file, so only test binaries carry it; go vet cannot read
// overlay files, so go test must run with -vet=off. The goroutine never keeps a
// binary alive (a Go program ends when main returns) and its top function,
// zzGotestrunHeapLoop, is what goroutine leak checkers can be told to ignore.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/evidence/evidence.h"
#include "base/status.h"

namespace gotestrun::agent {

inline constexpr std::string_view kHeapOverlayFile = "zz_gotestrun_heap_test.go";
// Set per test binary by the exec wrapper: the binary's heap/<pkg>/ folder.
inline constexpr std::string_view kHeapDirEnv = "GOTESTRUN_HEAP_DIR";
// Set for go test by `run`: the snapshot interval as a Go duration ("2000ms").
inline constexpr std::string_view kHeapIntervalEnv = "GOTESTRUN_HEAP_INTERVAL";

// The package clause the injected file needs: the package's own name when it has
// internal test files (they are compiled into the package), else name + "_test" (the
// external test package). nullopt when the package has no test files, has a go list
// error, or already has a file of that name.
std::optional<std::string> HeapOverlayPackage(const evidence::PackageListing& package);

// The Go source of the injected file for package clause `package_name`.
std::string HeapSnapshotSource(std::string_view package_name);

// overlay.json: {"Replace": {"<target>": "<source>", ...}}.
std::string OverlayJson(const std::map<std::string, std::string>& replace);

struct HeapOverlay {
  std::string overlay_json_path;      // empty when no package has tests: pass no -overlay
  std::vector<std::string> packages;  // import paths that got the file
};

// Writes one source file per package with tests into `overlay_dir` (created if
// missing) and overlay_dir/overlay.json mapping <package dir>/zz_gotestrun_heap_test.go
// to it.
StatusOr<HeapOverlay> WriteHeapOverlay(const std::vector<evidence::PackageListing>& packages,
                                       const std::string& overlay_dir);

}  // namespace gotestrun::agent
