#include "report/format.h"

#include <cmath>
#include <cstdio>
#include <ctime>

namespace gotestrun::report {

std::string FormatBytes(std::uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  double v = static_cast<double>(bytes);
  int unit = 0;
  while (v >= 1024 && unit < 6) {
    v /= 1024;
    ++unit;
  }
  char buf[32];
  // Three significant digits, without a trailing ".0" on whole values.
  if (v >= 100 || std::fabs(v - std::round(v)) < 0.005) {
    std::snprintf(buf, sizeof buf, "%.0f %s", v, kUnits[unit]);
  } else if (v >= 10) {
    std::snprintf(buf, sizeof buf, "%.1f %s", v, kUnits[unit]);
  } else {
    std::snprintf(buf, sizeof buf, "%.2f %s", v, kUnits[unit]);
  }
  return buf;
}

std::string FormatBytes(std::int64_t bytes) {
  if (bytes >= 0) return FormatBytes(static_cast<std::uint64_t>(bytes));
  return "-" + FormatBytes(static_cast<std::uint64_t>(-(bytes + 1)) + 1);
}

std::string FormatDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) seconds = 0;
  char buf[48];
  if (seconds < 1) {
    std::snprintf(buf, sizeof buf, "%.2f s", seconds);
  } else if (seconds < 60) {
    std::snprintf(buf, sizeof buf, "%.1f s", seconds);
  } else if (seconds < 3600) {
    auto s = static_cast<long long>(std::llround(seconds));
    std::snprintf(buf, sizeof buf, "%lld m %02lld s", s / 60, s % 60);
  } else {
    auto m = static_cast<long long>(std::llround(seconds / 60));
    std::snprintf(buf, sizeof buf, "%lld h %02lld m", m / 60, m % 60);
  }
  return buf;
}

std::string FormatUnixMs(std::int64_t unix_ms, bool iso) {
  std::time_t t = static_cast<std::time_t>(unix_ms >= 0 ? unix_ms / 1000 : (unix_ms - 999) / 1000);
  std::tm tm{};
  if (::gmtime_r(&t, &tm) == nullptr) return {};
  char buf[40];
  std::strftime(buf, sizeof buf, iso ? "%Y-%m-%dT%H:%M:%S" : "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

std::string FormatSeconds(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) seconds = 0;
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.3f", seconds);
  return buf;
}

}  // namespace gotestrun::report
