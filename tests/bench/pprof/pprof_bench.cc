// Reads a Go heap profile and prints its top 20 functions by inuse_space, as
// `go tool pprof -top` would; the time of each phase goes to stderr. run.sh compares
// it with pprof itself and with `gzip -dc` on the same file.
//
//   pprof_bench FILE.pb.gz
#include <chrono>
#include <cstdio>
#include <string>

#include "base/files.h"
#include "core/diagnosis/pprof/heap_profile.h"

namespace {

using Clock = std::chrono::steady_clock;

double Millis(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

double Percent(double part, int64_t total) { return total == 0 ? 0 : 100.0 * part / static_cast<double>(total); }

}  // namespace

int main(int argc, char** argv) {
  using namespace gotestrun;
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s HEAP_PROFILE.pb.gz\n", argv[0]);
    return 2;
  }
  const pprof::Limits limits;
  auto t0 = Clock::now();
  StatusOr<std::string> bytes = ReadFile(argv[1], limits.max_compressed_bytes);
  if (!bytes.ok()) {
    std::fprintf(stderr, "%s\n", bytes.status().ToString().c_str());
    return 1;
  }
  auto t1 = Clock::now();
  StatusOr<pprof::HeapProfile> profile = pprof::ParseHeapProfile(*bytes, limits);
  if (!profile.ok()) {
    std::fprintf(stderr, "%s: %s\n", argv[1], profile.status().ToString().c_str());
    return 1;
  }
  auto t2 = Clock::now();
  StatusOr<pprof::TopReport> top = pprof::TopFunctions(*profile, pprof::kInuseSpace, 20);
  if (!top.ok()) {
    std::fprintf(stderr, "%s\n", top.status().ToString().c_str());
    return 1;
  }
  auto t3 = Clock::now();

  std::printf("Type: %s\n", top->sample_type.c_str());
  std::printf("Showing top %zu functions out of %zu, of %lld %s total\n", top->functions.size(), top->function_count,
              static_cast<long long>(top->total), top->unit.c_str());
  std::printf("%14s %7s %7s %14s %7s  %s\n", "flat", "flat%", "sum%", "cum", "cum%", "function (hottest line)");
  double sum = 0;  // Only for the percentage; a double cannot overflow here.
  for (const pprof::FunctionCost& f : top->functions) {
    sum += static_cast<double>(f.flat);
    std::printf("%14lld %6.2f%% %6.2f%% %14lld %6.2f%%  %s (%s:%lld)\n", static_cast<long long>(f.flat),
                Percent(static_cast<double>(f.flat), top->total), Percent(sum, top->total),
                static_cast<long long>(f.cum), Percent(static_cast<double>(f.cum), top->total), f.name.c_str(),
                f.hottest.filename.c_str(), static_cast<long long>(f.hottest.line));
  }
  std::fprintf(stderr, "read %.1f ms, parse %.1f ms (%zu samples, %zu locations, %zu functions), top %.1f ms\n",
               Millis(t0, t1), Millis(t1, t2), profile->sample_count(), profile->locations().size(),
               profile->functions().size(), Millis(t2, t3));
  return 0;
}
