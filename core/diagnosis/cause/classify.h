// Why a package needed its memory: one cause, named from the signals of one attempt
// (signals.h), with the figures behind it and the change the retry policy should make.
//
// What this component promises:
//  - Classify is pure and deterministic: no files, clocks, threads or logging; the
//    same signals give the same diagnosis, word for word.
//  - A package that was killed (its test binary, or its compile or link) always gets a
//    Diagnosis; when no cause fits, the cause is kUnknown and `missing` says what
//    evidence would have told. A package that was not killed gets one only when it
//    shows a clear pathology (a leak across tests, goroutines piling up) or came close
//    to its limit; otherwise nullopt: nothing worth naming.
//  - Every figure the diagnosis rests on is in `evidence`, at most kMaxEvidenceLines
//    lines of at most kMaxEvidenceLineBytes bytes.
//
// The causes, in the order they are tried (the first that fits is named):
//  1. BuildMemory: a compile or link step of the package was killed.
//  2. NativeMemory: the binary's RSS (or the cgroup, when the RSS is unknown) is far
//     above everything the Go heap ever took from the OS: cgo malloc, mmap.
//  3. InitMemory: killed before the first test started, or the heap held before the
//     first test is most of what the package ever used and it stayed flat after.
//  4. GoroutineLeak: goroutines beyond the tests' own survive test ends and grow, and
//     the heap grows with them (or is held by those goroutines).
//  5. LeakAcrossTests: the live heap seen in each sequential test never drops below
//     what the one before it held and rises in several of them; or the last profile
//     holds memory allocated by several tests that had ended before its GC.
//  6. ParallelSpike: several tests were running at once when the binary was killed
//     (or at its peak), each holding its own share.
//  7. GCHeadroom: the live heap after the last GC fits under the limit but the GC goal
//     after it does not, and no GOMEMLIMIT under the limit was set. (A heap still
//     growing looks the same at the kill; the GOMEMLIMIT the policy sets tells them
//     apart on the next attempt, whose kill is then a LargeTest.)
//  8. LargeTest: one test took the heap far above what the tests before it left.
//  9. Unknown.
// The thresholds are named constants in classify.cc, each with the reason for it.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "core/diagnosis/cause/signals.h"
#include "core/policy/retry.h"

namespace gotestrun::cause {

inline constexpr std::size_t kMaxEvidenceLines = 32;
inline constexpr std::size_t kMaxEvidenceLineBytes = 1024;

struct Diagnosis {
  policy::Cause cause = policy::Cause::kUnknown;
  // One sentence a developer can act on, starting with the cause, e.g. "leak: the live
  // heap grew ~44 MiB per test over 3 tests and was never released; ...".
  std::string summary;
  // The figures behind it, one per line.
  std::vector<std::string> evidence;
  // What the retry policy should do about it (policy/retry.h): ParallelSpike proposes
  // -parallel and the need at the concurrency seen; LeakAcrossTests, GoroutineLeak,
  // NativeMemory and LargeTest project a memory need where the figures allow;
  // BuildMemory proposes -p when it was above 1; GCHeadroom and InitMemory name the
  // cause only.
  policy::Finding finding;
  // kUnknown: what evidence was missing, e.g. "no heap snapshot (the binary died
  // before the first interval); no exec record".
  std::string missing;
};

std::optional<Diagnosis> Classify(const PackageSignals& signals);

}  // namespace gotestrun::cause
