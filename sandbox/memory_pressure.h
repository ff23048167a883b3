// Reads the pressure counters of a memory cgroup (memory_stall.h's PressureCounters)
// from its folder:
//   cgroup v2: memory.stat (pgmajfault, workingset_refault_anon/_file),
//              memory.events ("max": times usage hit memory.max),
//              memory.pressure ("some|full avg10=.. avg60=.. avg300=.. total=<us>");
//   cgroup v1: memory.stat (total_pgmajfault, total_workingset_refault_anon/_file, or
//              total_workingset_refault before 5.9; the total_ forms include child
//              cgroups), memory.failcnt plus memory.memsw.failcnt.
// A file that is missing or malformed leaves its counters unset: kernels differ in
// what they offer, and the detector asks only for one rising signal.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "sandbox/memory_stall.h"

namespace gotestrun::sandbox {

// The "key value" lines of memory.stat into the counters; `v1` reads the total_ forms.
void ParseMemoryStat(std::string_view text, bool v1, PressureCounters& counters);
// "some avg10=1.50 avg60=0.20 avg300=0.05 total=123456" and the "full" line.
void ParseMemoryPressure(std::string_view text, PressureCounters& counters);

// `v2` says which files `dir` has; reads each file once.
PressureCounters ReadPressureCounters(const std::string& dir, bool v2);

}  // namespace gotestrun::sandbox
