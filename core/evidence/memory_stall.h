// result.json's "memoryStall": an attempt the agent ended because its cgroup stalled at
// the memory limit (sandbox/memory_stall.h: usage pinned at the limit while pages are
// reclaimed and faulted back in, the OOM killer never firing). The agent killed the
// test binary that was running, after flushing its evidence, so the package's record
// says "killed" with SIGKILL; this record says why, and the attempt's outcome in status
// is "MemoryStall" rather than "OOMKilled". The retry policy and the diagnosis treat it
// like an OOM kill.
//
// {"outcome": "MemoryStall", "package": "...", "phase": "test-run|init",
//  "runningTests": [...], "sinceUnixMs": 0, "detectedUnixMs": 0, "endedUnixMs": 0,
//  "limitBytes": 0, "evidence": "at 99-100% of its 256.0Mi limit for 10.0 s ...",
//  "heapProfile": "heap/<pkg>/0007.pb.gz" or ""}
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace gotestrun::evidence {

inline constexpr std::string_view kMemoryStallOutcome = "MemoryStall";

struct MemoryStallRecord {
  std::string package;  // the test binary's import path ("" when none was running)
  std::string phase;    // "test-run" when a test was running, else "init"
  std::vector<std::string> running_tests;
  std::int64_t since_unix_ms = 0;     // the first sample of the thrash
  std::int64_t detected_unix_ms = 0;  // when it had lasted `after`
  std::int64_t ended_unix_ms = 0;     // when the binary was killed
  std::uint64_t limit_bytes = 0;
  std::string evidence;      // the detector's figures, one line
  std::string heap_profile;  // relative to the attempt folder: the profile taken at the thrash's start
  friend bool operator==(const MemoryStallRecord&, const MemoryStallRecord&) = default;
};

}  // namespace gotestrun::evidence
