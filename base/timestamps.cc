#include "base/timestamps.h"

#include <cstdio>
#include <ctime>

namespace gotestrun {
namespace {
std::string Seconds(std::chrono::system_clock::time_point t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return buf;
}
}  // namespace

std::string Rfc3339(std::chrono::system_clock::time_point t) { return Seconds(t) + "Z"; }

std::string MicroTime(std::chrono::system_clock::time_point t) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count() % 1000000;
  char frac[16];
  std::snprintf(frac, sizeof frac, ".%06lld", static_cast<long long>(us < 0 ? us + 1000000 : us));
  return Seconds(t) + frac + "Z";
}

std::optional<std::chrono::system_clock::time_point> ParseRfc3339(std::string_view s) {
  std::tm tm{};
  int y, mo, d, h, mi, sec;
  char rest[32] = {};
  std::string str(s.substr(0, 60));
  if (std::sscanf(str.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%31s", &y, &mo, &d, &h, &mi, &sec, rest) < 6) return std::nullopt;
  std::string tail = rest;
  long long micros = 0;
  if (!tail.empty() && tail.front() == '.') {
    size_t i = 1;
    long long scale = 100000;
    for (; i < tail.size() && tail[i] >= '0' && tail[i] <= '9'; ++i, scale /= 10) {
      if (scale > 0) micros += (tail[i] - '0') * scale;
    }
    tail = tail.substr(i);
  }
  if (tail != "Z") return std::nullopt;
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  std::time_t tt = timegm(&tm);
  return std::chrono::system_clock::from_time_t(tt) + std::chrono::microseconds(micros);
}

}  // namespace gotestrun
