// The cgroup file protocols (v1 and v2) on fake trees in a temporary folder, discovery
// from /proc/self/cgroup and mountinfo texts, and what the kernel's files may hold
// when they are not what they should be.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/files.h"
#include "sandbox/child_process.h"
#include "sandbox/cgroup.h"
#include "sandbox/process_tree.h"
#include "sandbox/sandbox.h"

namespace gotestrun::sandbox {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

namespace fs = std::filesystem;

// This machine as it is: cgroup v1 controllers, cgroup2 with only hugetlb.
constexpr std::string_view kHybridProcCgroup =
    "9:name=systemd:/\n8:pids:/\n7:blkio:/\n6:freezer:/\n5:devices:/\n"
    "4:memory:/process_api/75dc45c339a95e20c7fc5b44ce782b20\n3:cpuset:/\n2:cpuacct:/\n1:cpu:/\n0::/\n";
constexpr std::string_view kHybridMountinfo =
    "22 1 254:1 / / rw,relatime - ext4 /dev/vda rw\n"
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

// A systemd machine with only cgroup v2.
constexpr std::string_view kUnifiedProcCgroup = "0::/user.slice/user-1000.slice/session-3.scope\n";
constexpr std::string_view kUnifiedMountinfo =
    "24 30 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n"
    "35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 "
    "rw,nsdelegate,memory_recursiveprot\n";

// A temporary folder that plays the root of the filesystem.
class FakeRoot {
 public:
  FakeRoot() {
    std::string pattern = (fs::temp_directory_path() / "gtr-sandbox-XXXXXX").string();
    root_ = ::mkdtemp(pattern.data());
  }
  ~FakeRoot() {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  const std::string& path() const { return root_; }
  std::string At(std::string_view rel) const { return root_ + std::string(rel); }
  void Put(std::string_view rel, std::string_view content) const {
    fs::create_directories(fs::path(At(rel)).parent_path());
    std::ofstream(At(rel), std::ios::binary | std::ios::trunc) << content;
  }
  std::string Get(std::string_view rel) const {
    StatusOr<std::string> text = ReadFile(At(rel));
    return text.ok() ? *text : "<" + text.status().ToString() + ">";
  }

 private:
  std::string root_;
};

// ---- /proc/self/cgroup and mountinfo ----

TEST(ParseProcCgroup, ReadsEveryLine) {
  StatusOr<std::vector<ProcCgroupEntry>> entries = ParseProcCgroup(kHybridProcCgroup);
  ASSERT_TRUE(entries.ok()) << entries.status();
  ASSERT_EQ(entries->size(), 10u);
  EXPECT_EQ((*entries)[0].hierarchy_id, 9);
  EXPECT_THAT((*entries)[0].controllers, ElementsAre("name=systemd"));
  EXPECT_EQ((*entries)[5].path, "/process_api/75dc45c339a95e20c7fc5b44ce782b20");
  EXPECT_THAT((*entries)[5].controllers, ElementsAre("memory"));
  EXPECT_EQ((*entries)[9].hierarchy_id, 0);
  EXPECT_TRUE((*entries)[9].controllers.empty());
  EXPECT_EQ((*entries)[9].path, "/");
}

TEST(ParseProcCgroup, KeepsColonsInThePathAndCoMountedControllers) {
  StatusOr<std::vector<ProcCgroupEntry>> entries = ParseProcCgroup("3:cpu,cpuacct:/a:b\n");
  ASSERT_TRUE(entries.ok()) << entries.status();
  EXPECT_THAT((*entries)[0].controllers, ElementsAre("cpu", "cpuacct"));
  EXPECT_EQ((*entries)[0].path, "/a:b");
}

TEST(ParseProcCgroup, RejectsWhatIsNotACgroupLine) {
  for (std::string_view text :
       std::vector<std::string_view>{"", "garbage\n", "x:memory:/\n", "1:memory\n", "4:memory:\n", "-1:memory:/\n",
                                     "99999999999999999999:memory:/\n", std::string_view("\0\0\0", 3)}) {
    StatusOr<std::vector<ProcCgroupEntry>> entries = ParseProcCgroup(text);
    EXPECT_EQ(entries.status().code(), StatusCode::kInvalidArgument) << text;
  }
}

TEST(ParseCgroupMounts, KeepsOnlyCgroupMounts) {
  StatusOr<std::vector<CgroupMount>> mounts = ParseCgroupMounts(kHybridMountinfo);
  ASSERT_TRUE(mounts.ok()) << mounts.status();
  ASSERT_EQ(mounts->size(), 4u);
  EXPECT_EQ((*mounts)[1].mount_point, "/sys/fs/cgroup/memory");
  EXPECT_EQ((*mounts)[1].version, CgroupVersion::kV1);
  EXPECT_THAT((*mounts)[1].super_options, ElementsAre("rw", "memory"));
  EXPECT_EQ((*mounts)[3].version, CgroupVersion::kV2);
  EXPECT_EQ((*mounts)[3].root, "/");
}

TEST(ParseCgroupMounts, ReadsOptionalFieldsAndEscapes) {
  StatusOr<std::vector<CgroupMount>> mounts =
      ParseCgroupMounts("35 24 0:30 /docker/abc /mnt/my\\040cgroups rw shared:9 master:2 - cgroup2 cgroup2 rw\n");
  ASSERT_TRUE(mounts.ok()) << mounts.status();
  ASSERT_EQ(mounts->size(), 1u);
  EXPECT_EQ((*mounts)[0].root, "/docker/abc");
  EXPECT_EQ((*mounts)[0].mount_point, "/mnt/my cgroups");
}

TEST(ParseCgroupMounts, RejectsLinesThatAreNotMounts) {
  for (std::string_view text : {"garbage\n", "1 2 3 / /x rw cgroup cgroup rw\n", "1 2 3 / /x rw -\n",
                                "1 2 3 / - cgroup cgroup rw\n", "1 2 3 rel /x rw - cgroup2 cgroup2 rw\n"}) {
    EXPECT_EQ(ParseCgroupMounts(text).status().code(), StatusCode::kInvalidArgument) << text;
  }
}

struct LocateCase {
  std::string name;
  std::string proc_cgroup;
  std::string mountinfo;
  std::string want_v2;  // the dir, or "error"
  std::string want_v1;
};

class LocateOwnCgroupsTest : public ::testing::TestWithParam<LocateCase> {};

TEST_P(LocateOwnCgroupsTest, FindsTheDirectories) {
  const LocateCase& c = GetParam();
  StatusOr<std::vector<ProcCgroupEntry>> entries = ParseProcCgroup(c.proc_cgroup);
  StatusOr<std::vector<CgroupMount>> mounts = ParseCgroupMounts(c.mountinfo);
  ASSERT_TRUE(entries.ok()) << entries.status();
  ASSERT_TRUE(mounts.ok()) << mounts.status();
  OwnCgroups own = LocateOwnCgroups(*entries, *mounts, "/fake");
  EXPECT_EQ(own.unified.ok() ? own.unified->dir : "error", c.want_v2) << own.unified.status();
  EXPECT_EQ(own.v1_memory.ok() ? own.v1_memory->dir : "error", c.want_v1) << own.v1_memory.status();
}

INSTANTIATE_TEST_SUITE_P(
    Machines, LocateOwnCgroupsTest,
    ::testing::Values(LocateCase{"hybrid", std::string(kHybridProcCgroup), std::string(kHybridMountinfo),
                                 "/fake/sys/fs/cgroup/unified",
                                 "/fake/sys/fs/cgroup/memory/process_api/75dc45c339a95e20c7fc5b44ce782b20"},
                      LocateCase{"unified", std::string(kUnifiedProcCgroup), std::string(kUnifiedMountinfo),
                                 "/fake/sys/fs/cgroup/user.slice/user-1000.slice/session-3.scope", "error"},
                      // A container that sees its own part of the hierarchy mounted at /sys/fs/cgroup.
                      LocateCase{"container_mount_root", "0::/docker/abc/job\n",
                                 "1 0 0:30 /docker/abc /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
                                 "/fake/sys/fs/cgroup/job", "error"},
                      LocateCase{"container_mount_root_itself", "0::/docker/abc\n",
                                 "1 0 0:30 /docker/abc /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n", "/fake/sys/fs/cgroup",
                                 "error"},
                      LocateCase{"outside_the_mount", "0::/docker/other\n",
                                 "1 0 0:30 /docker/abc /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n", "error", "error"},
                      LocateCase{"prefix_is_not_a_parent", "0::/docker/abcdef\n",
                                 "1 0 0:30 /docker/abc /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n", "error", "error"},
                      LocateCase{"outside_the_namespace", "0::/../../init.scope\n",
                                 "1 0 0:30 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n", "error", "error"},
                      LocateCase{"memory_co_mounted", "5:cpu,memory:/a\n",
                                 "1 0 0:30 / /sys/fs/cgroup/cpu,memory rw - cgroup cgroup rw,cpu,memory\n", "error",
                                 "/fake/sys/fs/cgroup/cpu,memory/a"},
                      LocateCase{"memory_not_mounted", "4:memory:/a\n",
                                 "1 0 0:30 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n", "error", "error"}),
    [](const ::testing::TestParamInfo<LocateCase>& p) { return p.param.name; });

TEST(FindOwnMemoryCgroup, PrefersV1WhenTheUnifiedHierarchyHasNoMemoryController) {
  FakeRoot root;
  root.Put("/proc/self/cgroup", kHybridProcCgroup);
  root.Put("/proc/self/mountinfo", kHybridMountinfo);
  root.Put("/sys/fs/cgroup/unified/cgroup.controllers", "hugetlb\n");
  StatusOr<CgroupDir> own = FindOwnMemoryCgroup(root.path());
  ASSERT_TRUE(own.ok()) << own.status();
  EXPECT_EQ(own->version, CgroupVersion::kV1);
  EXPECT_EQ(own->cgroup_path, "/process_api/75dc45c339a95e20c7fc5b44ce782b20");
  EXPECT_EQ(own->dir, root.At("/sys/fs/cgroup/memory/process_api/75dc45c339a95e20c7fc5b44ce782b20"));
}

TEST(FindOwnMemoryCgroup, UsesV2WhenItsMemoryControllerIsAvailable) {
  FakeRoot root;
  root.Put("/proc/self/cgroup", kUnifiedProcCgroup);
  root.Put("/proc/self/mountinfo", kUnifiedMountinfo);
  root.Put("/sys/fs/cgroup/user.slice/user-1000.slice/session-3.scope/cgroup.controllers", "cpu io memory pids\n");
  StatusOr<CgroupDir> own = FindOwnMemoryCgroup(root.path());
  ASSERT_TRUE(own.ok()) << own.status();
  EXPECT_EQ(own->version, CgroupVersion::kV2);
  EXPECT_EQ(own->dir, root.At("/sys/fs/cgroup/user.slice/user-1000.slice/session-3.scope"));
}

TEST(FindOwnMemoryCgroup, SaysWhyForEachHierarchyWhenThereIsNone) {
  FakeRoot root;
  root.Put("/proc/self/cgroup", kUnifiedProcCgroup);
  root.Put("/proc/self/mountinfo", kUnifiedMountinfo);
  root.Put("/sys/fs/cgroup/user.slice/user-1000.slice/session-3.scope/cgroup.controllers", "cpu pids\n");
  StatusOr<CgroupDir> own = FindOwnMemoryCgroup(root.path());
  EXPECT_EQ(own.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(own.status().message(), HasSubstr("memory controller is not available"));
  EXPECT_THAT(own.status().message(), HasSubstr("cgroup v1: no cgroup v1 memory controller"));
}

TEST(FindOwnMemoryCgroup, MissingProcFilesAreAnError) {
  FakeRoot root;
  EXPECT_EQ(FindOwnMemoryCgroup(root.path()).status().code(), StatusCode::kFailedPrecondition);
  root.Put("/proc/self/cgroup", kUnifiedProcCgroup);
  EXPECT_EQ(FindOwnMemoryCgroup(root.path()).status().code(), StatusCode::kFailedPrecondition);
  root.Put("/proc/self/mountinfo", kUnifiedMountinfo);  // but no cgroup.controllers
  EXPECT_EQ(FindOwnMemoryCgroup(root.path()).status().code(), StatusCode::kFailedPrecondition);
}

// ---- what the memory files hold ----

TEST(ParseMemoryEvents, ReadsOomAndOomKill) {
  StatusOr<MemoryEvents> events = ParseMemoryEvents("low 0\nhigh 12\nmax 40\noom 3\noom_kill 2\noom_group_kill 0\n");
  ASSERT_TRUE(events.ok()) << events.status();
  EXPECT_EQ(events->oom_kill, 2u);
  EXPECT_EQ(events->oom, 3u);
  EXPECT_FALSE(events->under_oom.has_value());
}

TEST(ParseOomControl, ReadsOomKillAndUnderOom) {
  StatusOr<MemoryEvents> events = ParseOomControl("oom_kill_disable 0\nunder_oom 1\noom_kill 7\n");
  ASSERT_TRUE(events.ok()) << events.status();
  EXPECT_EQ(events->oom_kill, 7u);
  EXPECT_EQ(events->under_oom, true);
  EXPECT_FALSE(events->oom.has_value());
}

TEST(ParseMemoryEvents, GarbageIsAnError) {
  for (std::string_view text : std::vector<std::string_view>{
           "", "\n", "oom 1\n", "oom_kill\n", "oom_kill -1\n", "oom_kill 1 2\n", "oom_kill 0x10\n", "oom_kill 1.5\n",
           "oom_kill 99999999999999999999999\n", "oom_kill 1\ngarbage\n", "\x7f\x45\x4c\x46\x02\x01",
           std::string_view("oom_kill \0", 10)}) {
    EXPECT_EQ(ParseMemoryEvents(text).status().code(), StatusCode::kInvalidArgument) << text;
    EXPECT_EQ(ParseOomControl(text).status().code(), StatusCode::kInvalidArgument) << text;
  }
}

TEST(ParseCounter, ReadsOneNumber) {
  EXPECT_EQ(ParseCounter("67108864\n").value(), 67108864u);
  EXPECT_EQ(ParseCounter("9223372036854771712\n").value(), 9223372036854771712u);
  for (std::string_view text : {"", "\n", "max\n", "12 34\n", "-1\n", "+1\n", "18446744073709551616\n"}) {
    EXPECT_EQ(ParseCounter(text).status().code(), StatusCode::kInvalidArgument) << text;
  }
}

TEST(ParsePids, ReadsOnePidALine) {
  EXPECT_THAT(ParsePids("12\n345\n").value(), ElementsAre(12, 345));
  EXPECT_TRUE(ParsePids("").value().empty());
  for (std::string_view text : {"12\nabc\n", "0\n", "-5\n", "12 13\n", "\n\n", "99999999999\n"}) {
    EXPECT_EQ(ParsePids(text).status().code(), StatusCode::kInvalidArgument) << text;
  }
}

// ---- the v2 protocol on a fake tree ----

class FakeV2 : public ::testing::Test {
 protected:
  void SetUp() override {
    root_.Put("/proc/self/cgroup", "0::/job\n");
    root_.Put("/proc/self/mountinfo", "35 24 0:30 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
    root_.Put("/sys/fs/cgroup/job/cgroup.controllers", "cpu memory pids\n");
    root_.Put("/sys/fs/cgroup/job/cgroup.subtree_control", "cpu\n");
    StatusOr<CgroupDir> own = FindOwnMemoryCgroup(root_.path());
    ASSERT_TRUE(own.ok()) << own.status();
    own_ = *own;
  }
  // What the kernel would put in a new cgroup.
  void PopulateChild(std::string_view name) {
    const std::string dir = "/sys/fs/cgroup/job/" + std::string(name);
    root_.Put(dir + "/memory.max", "max\n");
    root_.Put(dir + "/memory.swap.max", "max\n");
    root_.Put(dir + "/memory.oom.group", "0\n");
    root_.Put(dir + "/memory.current", "52428800\n");
    root_.Put(dir + "/memory.peak", "67100672\n");
    root_.Put(dir + "/memory.events", "low 0\nhigh 0\nmax 41\noom 2\noom_kill 1\noom_group_kill 0\n");
    root_.Put(dir + "/cgroup.procs", "");
    root_.Put(dir + "/cgroup.kill", "");
  }
  std::string Child(std::string_view name, std::string_view file) {
    return "/sys/fs/cgroup/job/" + std::string(name) + "/" + std::string(file);
  }
  // A subtree_control that reads fine and refuses writes, as the kernel's does in a
  // cgroup with processes of its own: a file of /proc, which root cannot write either.
  void RefuseSubtreeControlWrites() {
    fs::remove(root_.At("/sys/fs/cgroup/job/cgroup.subtree_control"));
    fs::create_symlink("/proc/version", root_.At("/sys/fs/cgroup/job/cgroup.subtree_control"));
  }

  FakeRoot root_;
  CgroupDir own_;
};

TEST_F(FakeV2, EnablesTheMemoryControllerAndWritesTheLimit) {
  StatusOr<MemoryCgroup> cg = MemoryCgroup::Create(own_, "run1");
  ASSERT_TRUE(cg.ok()) << cg.status();
  EXPECT_EQ(root_.Get("/sys/fs/cgroup/job/cgroup.subtree_control"), "+memory");
  EXPECT_EQ(cg->version(), CgroupVersion::kV2);
  EXPECT_EQ(cg->dir(), root_.At("/sys/fs/cgroup/job/run1"));
  EXPECT_EQ(cg->procs_path(), root_.At("/sys/fs/cgroup/job/run1/cgroup.procs"));
  PopulateChild("run1");

  ASSERT_TRUE(cg->SetLimit(64 << 20).ok());
  EXPECT_EQ(root_.Get(Child("run1", "memory.max")), "67108864");
  EXPECT_EQ(root_.Get(Child("run1", "memory.swap.max")), "0");
  EXPECT_TRUE(cg->swap_limited());
  ASSERT_TRUE(cg->SetOomGroup(true).ok());
  EXPECT_EQ(root_.Get(Child("run1", "memory.oom.group")), "1");

  EXPECT_EQ(cg->Usage().value(), 52428800u);
  EXPECT_EQ(cg->Peak().value(), 67100672u);
  StatusOr<MemoryEvents> events = cg->Events();
  ASSERT_TRUE(events.ok()) << events.status();
  EXPECT_EQ(events->oom_kill, 1u);
  EXPECT_EQ(events->oom, 2u);

  ASSERT_TRUE(cg->Kill().ok());
  EXPECT_EQ(root_.Get(Child("run1", "cgroup.kill")), "1");

  // Files in a plain folder keep rmdir from working; the kernel's do not.
  Status removed = cg->Remove();
  EXPECT_FALSE(removed.ok());
  EXPECT_THAT(removed.message(), HasSubstr("remove cgroup"));
  for (const fs::directory_entry& file : fs::directory_iterator(root_.At("/sys/fs/cgroup/job/run1"))) {
    fs::remove(file.path());
  }
  EXPECT_TRUE(cg->Remove().ok());
  EXPECT_FALSE(fs::exists(root_.At("/sys/fs/cgroup/job/run1")));
  EXPECT_TRUE(cg->dir().empty());
  EXPECT_TRUE(cg->Remove().ok());
}

TEST_F(FakeV2, LeavesSubtreeControlAloneWhenMemoryIsEnabled) {
  root_.Put("/sys/fs/cgroup/job/cgroup.subtree_control", "cpu memory\n");
  StatusOr<MemoryCgroup> cg = MemoryCgroup::Create(own_, "run1");
  ASSERT_TRUE(cg.ok()) << cg.status();
  EXPECT_EQ(root_.Get("/sys/fs/cgroup/job/cgroup.subtree_control"), "cpu memory\n");
}

TEST_F(FakeV2, NoSwapFileMeansNoSwapToLimit) {
  StatusOr<MemoryCgroup> cg = MemoryCgroup::Create(own_, "run1");
  ASSERT_TRUE(cg.ok()) << cg.status();
  PopulateChild("run1");
  fs::remove(root_.At(Child("run1", "memory.swap.max")));
  ASSERT_TRUE(cg->SetLimit(1 << 30).ok());
  EXPECT_EQ(root_.Get(Child("run1", "memory.max")), "1073741824");
  EXPECT_FALSE(cg->swap_limited());
}

TEST_F(FakeV2, MissingAndGarbledFilesAreErrors) {
  StatusOr<MemoryCgroup> cg = MemoryCgroup::Create(own_, "run1");
  ASSERT_TRUE(cg.ok()) << cg.status();
  // Nothing in it yet: every read and write says which file.
  EXPECT_EQ(cg->SetLimit(1 << 20).code(), StatusCode::kNotFound);
  EXPECT_EQ(cg->Usage().status().code(), StatusCode::kNotFound);
  EXPECT_EQ(cg->Peak().status().code(), StatusCode::kNotFound);  // a kernel before 5.19
  EXPECT_EQ(cg->Events().status().code(), StatusCode::kNotFound);
  EXPECT_EQ(cg->Pids().status().code(), StatusCode::kNotFound);

  PopulateChild("run1");
  root_.Put(Child("run1", "memory.events"), "oom_kill lots\n");
  root_.Put(Child("run1", "memory.current"), "max\n");
  root_.Put(Child("run1", "cgroup.procs"), "1\nnot-a-pid\n");
  EXPECT_EQ(cg->Events().status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(cg->Events().status().message(), HasSubstr("memory.events"));
  EXPECT_EQ(cg->Usage().status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(cg->Pids().status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(cg->Kill(std::chrono::milliseconds(50)).code(), StatusCode::kInvalidArgument);
  root_.Put(Child("run1", "memory.events"), std::string(1 << 20, 'x'));
  EXPECT_FALSE(cg->Events().ok());

  fs::remove_all(root_.At("/sys/fs/cgroup/job/run1"));
  fs::create_directory(root_.At("/sys/fs/cgroup/job/run1"));
}

TEST_F(FakeV2, KillWaitsForTheKernelToEmptyTheCgroup) {
  StatusOr<MemoryCgroup> cg = MemoryCgroup::Create(own_, "run1");
  ASSERT_TRUE(cg.ok()) << cg.status();
  PopulateChild("run1");
  // With cgroup.kill the kernel does the killing; this pid (our own) is never signalled,
  // and since the fake kernel never empties the file, Kill gives up and says who is left.
  root_.Put(Child("run1", "cgroup.procs"), std::to_string(::getpid()) + "\n");
  Status killed = cg->Kill(std::chrono::milliseconds(100));
  EXPECT_EQ(killed.code(), StatusCode::kDeadlineExceeded);
  EXPECT_THAT(killed.message(), HasSubstr(std::to_string(::getpid())));
  EXPECT_EQ(root_.Get(Child("run1", "cgroup.kill")), "1");
  fs::remove_all(root_.At("/sys/fs/cgroup/job/run1"));
  fs::create_directory(root_.At("/sys/fs/cgroup/job/run1"));
}

// The fake kernel: once the process is gone, it leaves cgroup.procs.
std::thread RemoveWhenDead(Subprocess& process, const std::string& procs, std::optional<ExitInfo>& ended) {
  return std::thread([&process, procs, &ended] {
    ended = process.Wait();
    std::ofstream(procs, std::ios::trunc);
  });
}

TEST_F(FakeV2, WithoutCgroupKillEveryListedProcessIsSignalled) {
  StatusOr<MemoryCgroup> cg = MemoryCgroup::Create(own_, "run1");
  ASSERT_TRUE(cg.ok()) << cg.status();
  PopulateChild("run1");
  fs::remove(root_.At(Child("run1", "cgroup.kill")));  // Linux before 5.14
  StatusOr<Subprocess> sleeper = Subprocess::Spawn({.argv = {"sleep", "300"}});
  ASSERT_TRUE(sleeper.ok()) << sleeper.status();
  root_.Put(Child("run1", "cgroup.procs"), std::to_string(sleeper->pid()) + "\n");
  std::optional<ExitInfo> ended;
  std::thread kernel = RemoveWhenDead(*sleeper, root_.At(Child("run1", "cgroup.procs")), ended);
  Status killed = cg->Kill(std::chrono::seconds(30));
  kernel.join();
  EXPECT_TRUE(killed.ok()) << killed;
  ASSERT_TRUE(ended.has_value());
  EXPECT_EQ(ended->signal, SIGKILL);
  fs::remove_all(root_.At("/sys/fs/cgroup/job/run1"));
  fs::create_directory(root_.At("/sys/fs/cgroup/job/run1"));
}

TEST_F(FakeV2, RefusedControllerIsAFailedPreconditionThatSaysWhy) {
  RefuseSubtreeControlWrites();
  StatusOr<MemoryCgroup> cg = MemoryCgroup::Create(own_, "run1");
  EXPECT_EQ(cg.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(cg.status().message(), HasSubstr("cannot enable the memory controller"));
  EXPECT_FALSE(fs::exists(root_.At("/sys/fs/cgroup/job/run1")));
}

TEST_F(FakeV2, NamesAreSinglePathComponents) {
  for (std::string_view name : {"", ".", "..", "a/b", "../escape"}) {
    EXPECT_EQ(MemoryCgroup::Create(own_, name).status().code(), StatusCode::kInvalidArgument) << name;
  }
  EXPECT_NE(MemoryCgroup::UniqueName(), MemoryCgroup::UniqueName());
}

TEST_F(FakeV2, AnExistingCgroupIsNotTakenOver) {
  fs::create_directory(root_.At("/sys/fs/cgroup/job/taken"));
  EXPECT_EQ(MemoryCgroup::Create(own_, "taken").status().code(), StatusCode::kAlreadyExists);
}

TEST_F(FakeV2, SpawnWritesTheChildsPidBeforeExec) {
  StatusOr<MemoryCgroup> cg = MemoryCgroup::Create(own_, "run1");
  ASSERT_TRUE(cg.ok()) << cg.status();
  PopulateChild("run1");
  const std::string out = root_.At("/out.txt");
  // The shell finds its own pid in cgroup.procs: it was written before the exec.
  StatusOr<Subprocess> child = Subprocess::Spawn({
      .argv = {"/bin/sh", "-c", "cat \"$0\"; echo; echo $$", cg->procs_path()},
      .output_file = out,
      .cgroup_procs_path = cg->procs_path(),
  });
  ASSERT_TRUE(child.ok()) << child.status();
  const pid_t pid = child->pid();
  EXPECT_EQ(child->Wait()->exit_code, 0);
  EXPECT_EQ(root_.Get("/out.txt"), std::to_string(pid) + "\n" + std::to_string(pid) + "\n");
  root_.Put(Child("run1", "cgroup.procs"), "");
  fs::remove_all(root_.At("/sys/fs/cgroup/job/run1"));
  fs::create_directory(root_.At("/sys/fs/cgroup/job/run1"));
}

TEST_F(FakeV2, SpawnFailsWithoutRunningWhenItCannotJoin) {
  const std::string marker = root_.At("/ran");
  StatusOr<Subprocess> child = Subprocess::Spawn({
      .argv = {"/bin/sh", "-c", "touch \"$0\"", marker},
      .cgroup_procs_path = root_.At("/sys/fs/cgroup/job/gone/cgroup.procs"),
  });
  EXPECT_EQ(child.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(child.status().message(), HasSubstr("cannot join cgroup"));
  EXPECT_FALSE(fs::exists(marker));
}

TEST_F(FakeV2, ARunFallsBackToTheRssWatchWhenItsCgroupCannotBeSetUp) {
  // The fake kernel fills no files into the run's cgroup, so setting the limit fails.
  Sandbox sandbox({.fs_root = root_.path()});
  EXPECT_EQ(sandbox.enforcement(), MemoryEnforcement::kCgroupV2);
  StatusOr<RunResult> result = sandbox.Run({.argv = {"/bin/true"}, .memory_limit_bytes = 256 << 20});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->enforcement, MemoryEnforcement::kRssWatch);
  EXPECT_THAT(result->enforcement_note, HasSubstr("no cgroup for this run"));
  EXPECT_THAT(result->enforcement_note, HasSubstr("memory.max"));
  EXPECT_EQ(result->exit.exit_code, 0);
  EXPECT_FALSE(result->oom_killed);
  // The half-made cgroup was removed again.
  EXPECT_EQ(std::distance(fs::directory_iterator(root_.At("/sys/fs/cgroup/job")), fs::directory_iterator()), 2);
}

TEST_F(FakeV2, ASandboxThatCannotEnableMemoryForChildrenWatchesRss) {
  RefuseSubtreeControlWrites();
  Sandbox sandbox({.fs_root = root_.path()});
  EXPECT_EQ(sandbox.enforcement(), MemoryEnforcement::kRssWatch);
  EXPECT_THAT(sandbox.enforcement_note(), HasSubstr("cannot enable the memory controller"));
}

// ---- the v1 protocol on a fake tree ----

class FakeV1 : public ::testing::Test {
 protected:
  void SetUp() override {
    root_.Put("/proc/self/cgroup", kHybridProcCgroup);
    root_.Put("/proc/self/mountinfo", kHybridMountinfo);
    root_.Put("/sys/fs/cgroup/unified/cgroup.controllers", "hugetlb\n");
    fs::create_directories(root_.At(kOwn));
    StatusOr<CgroupDir> own = FindOwnMemoryCgroup(root_.path());
    ASSERT_TRUE(own.ok()) << own.status();
    own_ = *own;
  }
  void PopulateChild(std::string_view name) {
    const std::string dir = std::string(kOwn) + "/" + std::string(name);
    root_.Put(dir + "/memory.limit_in_bytes", "9223372036854771712\n");
    root_.Put(dir + "/memory.memsw.limit_in_bytes", "9223372036854771712\n");
    root_.Put(dir + "/memory.usage_in_bytes", "4096\n");
    root_.Put(dir + "/memory.max_usage_in_bytes", "67108864\n");
    root_.Put(dir + "/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n");
    root_.Put(dir + "/cgroup.procs", "");
    root_.Put(dir + "/tasks", "");
  }
  std::string Child(std::string_view name, std::string_view file) {
    return std::string(kOwn) + "/" + std::string(name) + "/" + std::string(file);
  }
  void Clear(std::string_view name) {
    fs::remove_all(root_.At(std::string(kOwn) + "/" + std::string(name)));
    fs::create_directory(root_.At(std::string(kOwn) + "/" + std::string(name)));
  }

  static constexpr std::string_view kOwn = "/sys/fs/cgroup/memory/process_api/75dc45c339a95e20c7fc5b44ce782b20";
  FakeRoot root_;
  CgroupDir own_;
};

TEST_F(FakeV1, WritesTheLimitAndTheMemswLimit) {
  StatusOr<MemoryCgroup> cg = MemoryCgroup::Create(own_, "run1");
  ASSERT_TRUE(cg.ok()) << cg.status();
  EXPECT_EQ(cg->version(), CgroupVersion::kV1);
  PopulateChild("run1");
  ASSERT_TRUE(cg->SetLimit(64 << 20).ok());
  EXPECT_EQ(root_.Get(Child("run1", "memory.limit_in_bytes")), "67108864");
  EXPECT_EQ(root_.Get(Child("run1", "memory.memsw.limit_in_bytes")), "67108864");
  EXPECT_TRUE(cg->swap_limited());
  EXPECT_EQ(cg->SetOomGroup(true).code(), StatusCode::kUnimplemented);
  EXPECT_EQ(cg->Usage().value(), 4096u);
  EXPECT_EQ(cg->Peak().value(), 67108864u);
  StatusOr<MemoryEvents> events = cg->Events();
  ASSERT_TRUE(events.ok()) << events.status();
  EXPECT_EQ(events->oom_kill, 3u);
  EXPECT_EQ(events->under_oom, false);
  Clear("run1");
}

TEST_F(FakeV1, WithoutSwapAccountingOnlyTheLimitIsWritten) {
  StatusOr<MemoryCgroup> cg = MemoryCgroup::Create(own_, "run1");
  ASSERT_TRUE(cg.ok()) << cg.status();
  PopulateChild("run1");
  fs::remove(root_.At(Child("run1", "memory.memsw.limit_in_bytes")));
  ASSERT_TRUE(cg->SetLimit(64 << 20).ok());
  EXPECT_FALSE(cg->swap_limited());
  Clear("run1");
}

TEST_F(FakeV1, OomControlWithoutAnOomKillCountIsAnError) {
  StatusOr<MemoryCgroup> cg = MemoryCgroup::Create(own_, "run1");
  ASSERT_TRUE(cg.ok()) << cg.status();
  PopulateChild("run1");
  root_.Put(Child("run1", "memory.oom_control"), "oom_kill_disable 0\nunder_oom 0\n");  // Linux < 4.13
  EXPECT_EQ(cg->Events().status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(cg->Events().status().message(), HasSubstr("4.13"));
  Clear("run1");
}

TEST_F(FakeV1, KillSignalsEveryListedProcessUntilTheListIsEmpty) {
  StatusOr<MemoryCgroup> cg = MemoryCgroup::Create(own_, "run1");
  ASSERT_TRUE(cg.ok()) << cg.status();
  PopulateChild("run1");
  StatusOr<Subprocess> sleeper = Subprocess::Spawn({.argv = {"sleep", "300"}});
  ASSERT_TRUE(sleeper.ok()) << sleeper.status();
  root_.Put(Child("run1", "cgroup.procs"), std::to_string(sleeper->pid()) + "\n");
  std::optional<ExitInfo> ended;
  std::thread kernel = RemoveWhenDead(*sleeper, root_.At(Child("run1", "cgroup.procs")), ended);
  Status killed = cg->Kill(std::chrono::seconds(30));
  kernel.join();
  EXPECT_TRUE(killed.ok()) << killed;
  ASSERT_TRUE(ended.has_value());
  EXPECT_EQ(ended->signal, SIGKILL);
  Clear("run1");
}

// A maker killed with SIGKILL (row 8) leaves its cgroups with whatever still runs in
// them: those processes are killed, and the cgroups of makers that are gone removed.
TEST_F(FakeV1, EndsAndRemovesTheCgroupsWhoseMakerIsGone) {
  StatusOr<Subprocess> gone = Subprocess::Spawn({.argv = {"true"}});
  ASSERT_TRUE(gone.ok()) << gone.status();
  const std::string dead = std::to_string(gone->pid());
  gone->Wait();
  const std::string alive = std::to_string(::getpid());
  const std::string started = std::to_string(ProcessStartTime(::getpid()).value_or(0));
  ASSERT_NE(started, "0");
  const std::string reused = std::to_string(ProcessStartTime(::getpid()).value_or(0) + 1);
  const std::string own(kOwn);
  for (const std::string& name :
       {"gotestrun-" + dead + "-0", "gotestrun-" + dead + "-1", "gotestrun-" + alive + "-0",
        "gotestrun-" + alive + "-" + started + "-0", "gotestrun-" + alive + "-" + reused + "-0",
        "gotestrun-" + dead + "-" + started + "-2", std::string("gotestrun-abc"), std::string("gotestrun-") + dead,
        std::string("gotestrun-1-2-3-4"), std::string("other")}) {
    fs::create_directory(root_.At(own + "/" + name));
  }
  // A test binary's child still runs in a cgroup of the dead maker.
  StatusOr<Subprocess> orphan = Subprocess::Spawn({.argv = {"sleep", "300"}});
  ASSERT_TRUE(orphan.ok()) << orphan.status();
  const std::string procs = own + "/gotestrun-" + dead + "-" + started + "-2/cgroup.procs";
  root_.Put(procs, std::to_string(orphan->pid()) + "\n");
  std::optional<ExitInfo> ended;
  std::thread kernel = RemoveWhenDead(*orphan, root_.At(procs), ended);
  // The fake kernel cannot rmdir a folder with files: the one that held the orphan stays.
  EXPECT_EQ(RemoveAbandonedChildren(own_), 3);
  kernel.join();
  ASSERT_TRUE(ended.has_value());
  EXPECT_EQ(ended->signal, SIGKILL);
  EXPECT_FALSE(fs::exists(root_.At(own + "/gotestrun-" + dead + "-0")));
  EXPECT_FALSE(fs::exists(root_.At(own + "/gotestrun-" + dead + "-1")));
  // The pid lives, but it is another process than the one that made the cgroup.
  EXPECT_FALSE(fs::exists(root_.At(own + "/gotestrun-" + alive + "-" + reused + "-0")));
  EXPECT_TRUE(fs::exists(root_.At(own + "/gotestrun-" + alive + "-0")));
  EXPECT_TRUE(fs::exists(root_.At(own + "/gotestrun-" + alive + "-" + started + "-0")));
  EXPECT_TRUE(fs::exists(root_.At(own + "/gotestrun-abc")));
  EXPECT_TRUE(fs::exists(root_.At(own + "/gotestrun-" + dead)));
  EXPECT_TRUE(fs::exists(root_.At(own + "/gotestrun-1-2-3-4")));
  EXPECT_TRUE(fs::exists(root_.At(own + "/other")));
}

}  // namespace
}  // namespace gotestrun::sandbox
