// How the report writes figures for people: sizes, durations and times.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace gotestrun::report {

// Binary units, three significant digits at most: "900 B", "12.5 KiB", "192 MiB",
// "1.50 GiB".
std::string FormatBytes(std::uint64_t bytes);
std::string FormatBytes(std::int64_t bytes);  // negative values get a "-"

// "0.42 s", "7.2 s", "1 m 05 s", "2 h 03 m".
std::string FormatDuration(double seconds);

// UTC, to the second: "2026-11-28 10:00:05 UTC" (people) or, with `iso`,
// "2026-11-28T10:00:05" (JUnit's timestamp, which takes no zone).
std::string FormatUnixMs(std::int64_t unix_ms, bool iso = false);

// Seconds with three decimals, as JUnit's time attributes take them: "0.020".
std::string FormatSeconds(double seconds);

}  // namespace gotestrun::report
