// A program that uses a known amount of memory, for the sandbox tests:
//   sandbox_allocator TOTAL_MIB [STEP_MIB] [PAUSE_MS] [HOLD_MS]
// maps and touches STEP_MIB at a time (so the pages are really resident), pausing
// PAUSE_MS between steps, until TOTAL_MIB are in use; then holds them HOLD_MS and
// exits 0. The memory comes from mmap, not malloc, so a sanitizer's allocator does not
// change how much is used.
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s TOTAL_MIB [STEP_MIB] [PAUSE_MS] [HOLD_MS]\n", argv[0]);
    return 2;
  }
  const long total = std::atol(argv[1]);
  const long step = argc > 2 ? std::atol(argv[2]) : 4;
  const long pause_ms = argc > 3 ? std::atol(argv[3]) : 0;
  const long hold_ms = argc > 4 ? std::atol(argv[4]) : 0;
  if (total < 0 || step <= 0) return 2;
  const long page = ::sysconf(_SC_PAGESIZE);
  for (long used = 0; used < total; used += step) {
    const std::size_t bytes = static_cast<std::size_t>(step) << 20;
    void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      std::perror("mmap");
      return 3;
    }
    for (std::size_t off = 0; off < bytes; off += static_cast<std::size_t>(page))
      static_cast<volatile char*>(p)[off] = 1;
    std::printf("%ld MiB\n", used + step);
    std::fflush(stdout);
    if (pause_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms));
  }
  if (hold_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(hold_ms));
  return 0;
}
