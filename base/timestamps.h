// Wall-clock timestamps in the forms the Kubernetes API uses.
#pragma once

#include <chrono>
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
// Parses either form (UTC "Z" only, as the API server writes them).
std::optional<std::chrono::system_clock::time_point> ParseRfc3339(std::string_view s);

}  // namespace gotestrun
