#include "base/go_duration.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <map>
#include <string>

namespace gotestrun {

StatusOr<std::chrono::nanoseconds> ParseGoDuration(std::string_view text) {
  const std::string original(text);
  if (text.empty()) return InvalidArgumentError("empty duration");
  if (text == "0") return std::chrono::nanoseconds(0);
  if (text.front() == '-') return InvalidArgumentError("negative duration " + original);
  if (text.front() == '+') text.remove_prefix(1);
  static const std::map<std::string, double, std::less<>> kUnits{
      {"ns", 1.0},        {"us", 1e3}, {"\xC2\xB5s", 1e3},  // µs, U+00B5
      {"\xCE\xBCs", 1e3}, {"ms", 1e6}, {"s", 1e9},         {"m", 60e9}, {"h", 3600e9},
  };
  double total = 0;
  while (!text.empty()) {
    std::size_t n = 0;
    while (n < text.size() && ((text[n] >= '0' && text[n] <= '9') || text[n] == '.')) ++n;
    if (n == 0) return InvalidArgumentError("bad duration " + original);
    double number = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + n, number);
    if (ec != std::errc() || ptr != text.data() + n) return InvalidArgumentError("bad duration " + original);
    text.remove_prefix(n);
    std::size_t u = 0;
    while (u < text.size() && !((text[u] >= '0' && text[u] <= '9') || text[u] == '.')) ++u;
    const auto unit = kUnits.find(text.substr(0, u));
    if (unit == kUnits.end()) return InvalidArgumentError("duration " + original + ": missing or unknown unit");
    text.remove_prefix(u);
    total += number * unit->second;
  }
  if (!(total < 9.2e18)) return InvalidArgumentError("duration " + original + " is too long");
  return std::chrono::nanoseconds(static_cast<std::int64_t>(std::llround(total)));
}

}  // namespace gotestrun
