// The agent's stall watch on a fake cgroup folder and a real child process standing in
// for a test binary: the pid files, the heap profile request, the kill and the record.
#include "agent/memory_stall_watch.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/files.h"

namespace gotestrun::agent {
namespace {

namespace fs = std::filesystem;
using evidence::AttemptLayout;
using evidence::MemoryStallRecord;
using ::testing::HasSubstr;

constexpr std::uint64_t kMiB = 1 << 20;
constexpr std::uint64_t kLimit = 256 * kMiB;
constexpr std::int64_t kStart = 1'700'000'000'000;
constexpr char kPackage[] = "example.com/stall";

TEST(RunningBinaryTest, RoundTripAndGarbage) {
  EXPECT_EQ(FormatRunningBinary(1234, "example.com/x"), "1234\texample.com/x\n");
  const std::optional<RunningBinary> b = ParseRunningBinary("1234\texample.com/x\n");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->pid, 1234);
  EXPECT_EQ(b->package, "example.com/x");
  for (const char* bad : {"", "1234", "1234\texample.com/x", "x\ty\n", "1\tinit\n", "-5\tp\n", "12\t\n"}) {
    EXPECT_FALSE(ParseRunningBinary(bad)) << bad;
  }
}

class MemoryStallWatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "gtr-stall-watch-XXXXXX").string();
    root_ = ::mkdtemp(pattern.data());
    fs::create_directories(root_ + "/cgroup");
    layout_.emplace(root_ + "/attempt");
    ASSERT_TRUE(layout_->Create().ok());
    fs::create_directories(layout_->heap_dir(kPackage));
  }
  void TearDown() override {
    if (child_ > 0) {
      ::kill(child_, SIGKILL);
      ::waitpid(child_, nullptr, 0);
    }
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  // A process that waits to be killed, registered as kPackage's test binary.
  void StartBinary() {
    child_ = ::fork();
    if (child_ == 0) {
      ::pause();
      ::_exit(0);
    }
    ASSERT_TRUE(WriteFileAtomic(RunningBinaryFile(*layout_, kPackage), FormatRunningBinary(child_, kPackage)).ok());
  }

  void SetCounters(std::uint64_t refaults) {
    std::ofstream(root_ + "/cgroup/memory.stat")
        << "total_pgmajfault 0\ntotal_workingset_refault_file " << refaults << "\n";
    std::ofstream(root_ + "/cgroup/memory.failcnt") << refaults / 10 << "\n";
  }

  bool ChildKilled() {
    int status = 0;
    const pid_t r = ::waitpid(child_, &status, WNOHANG);
    if (r != child_) return false;
    child_ = 0;
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
  }

  std::string root_;
  std::optional<AttemptLayout> layout_;
  pid_t child_ = 0;
};

TEST_F(MemoryStallWatchTest, AsksForAProfileAtTheStartAndEndsTheBinaryAfterTheStall) {
  StartBinary();
  MemoryStallWatch watch(*layout_, root_ + "/cgroup", /*v2=*/false, std::chrono::seconds(10));
  const std::string request = layout_->heap_dir(kPackage) + "/" + std::string(kHeapSnapshotNowFile);
  std::uint64_t refaults = 0;
  for (int i = 0; i <= 51; ++i) {
    SetCounters(refaults);
    refaults += 40000;
    watch.Sample(kStart + 200 * i, 255 * kMiB, kLimit);
    if (i == 1) {
      EXPECT_TRUE(fs::exists(request)) << "a profile is asked for when the thrash begins";
      // The snapshot goroutine takes it and removes the request.
      fs::remove(request);
      std::ofstream(layout_->heap_dir(kPackage) + "/snapshots.tsv") << kStart + 300 << "\t1\t3\t1\t1\t1\t1\n";
    }
    if (i < 51) {
      EXPECT_FALSE(watch.record()) << i;
    }
  }
  ASSERT_TRUE(watch.record());
  const MemoryStallRecord& r = *watch.record();
  EXPECT_EQ(r.package, kPackage);
  EXPECT_EQ(r.since_unix_ms, kStart + 200);
  EXPECT_EQ(r.detected_unix_ms, kStart + 200 * 51);
  EXPECT_EQ(r.limit_bytes, kLimit);
  EXPECT_THAT(r.evidence, HasSubstr("200,000 refaults/s"));
  EXPECT_EQ(r.heap_profile, "heap/example.com_stall/0001.pb.gz");
  for (int i = 0; i < 100 && child_ != 0 && !ChildKilled(); ++i) ::usleep(10000);
  EXPECT_EQ(child_, 0) << "the binary was not killed";
}

TEST_F(MemoryStallWatchTest, OffOrWithoutACgroupDoesNothing) {
  StartBinary();
  MemoryStallWatch off(*layout_, root_ + "/cgroup", false, std::chrono::milliseconds(0));
  MemoryStallWatch no_cgroup(*layout_, "", false, std::chrono::seconds(10));
  std::uint64_t refaults = 0;
  for (int i = 0; i <= 100; ++i) {
    SetCounters(refaults);
    refaults += 40000;
    off.Sample(kStart + 200 * i, 255 * kMiB, kLimit);
    no_cgroup.Sample(kStart + 200 * i, 255 * kMiB, kLimit);
  }
  EXPECT_FALSE(off.record());
  EXPECT_FALSE(no_cgroup.record());
  EXPECT_FALSE(ChildKilled());
  EXPECT_FALSE(fs::exists(layout_->heap_dir(kPackage) + "/" + std::string(kHeapSnapshotNowFile)));
}

}  // namespace
}  // namespace gotestrun::agent
