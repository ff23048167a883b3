// Wall-clock timestamps in the forms the Kubernetes API uses.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gotestrun {

// metav1.Time: "2026-11-28T18:47:57Z".
std::string Rfc3339(std::chrono::system_clock::time_point t);
inline std::string Rfc3339Now() { return Rfc3339(std::chrono::system_clock::now()); }
// metav1.MicroTime: "2026-11-28T18:47:57.123456Z".
std::string MicroTime(std::chrono::system_clock::time_point t);
inline std::string MicroTimeNow() { return MicroTime(std::chrono::system_clock::now()); }
// Milliseconds since the Unix epoch: how the evidence files write their times.
inline std::int64_t UnixMsNow() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}
// Which RFC 3339 times ParseRfc3339 takes.
enum class Rfc3339Zone {
  kUtcOnly,    // "Z" only, as the API server writes metav1.Time and MicroTime
  kAnyOffset,  // also "+02:00"/"-01:30", as go test -json writes its event times
};
// Parses "2026-11-28T18:47:57Z" with an optional fraction of up to nanoseconds (more
// digits are read and dropped). The one parser of the project: the API's times and the
// test event stream's.
std::optional<std::chrono::system_clock::time_point> ParseRfc3339(std::string_view s,
                                                                  Rfc3339Zone zone = Rfc3339Zone::kUtcOnly);

}  // namespace gotestrun
