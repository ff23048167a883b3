#include "sandbox/cgroup.h"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/sandbox/fake_cgroup.h"

namespace gotestrun::sandbox {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::IsEmpty;

// The cgroup_path is what /proc/self/cgroup said; the folder is what matters here.
auto Dir(CgroupVersion version, const std::string& dir) {
  return AllOf(Field(&CgroupDir::version, version), Field(&CgroupDir::dir, dir));
}

// A host with v1 controllers and the unified hierarchy beside them (these machines).
constexpr std::string_view kHybridCgroup =
    "9:name=systemd:/\n"
    "4:memory:/process_api/3e4e\n"
    "3:cpuset:/\n"
    "1:cpu:/\n"
    "0::/\n";
constexpr std::string_view kHybridMountinfo =
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

TEST(MemoryCgroupCandidatesTest, HybridHostTriesV2ThenV1) {
  EXPECT_THAT(MemoryCgroupCandidates(kHybridCgroup, kHybridMountinfo),
              ElementsAre(Dir(CgroupVersion::kV2, "/sys/fs/cgroup/unified"),
                          Dir(CgroupVersion::kV1, "/sys/fs/cgroup/memory/process_api/3e4e")));
}

TEST(MemoryCgroupCandidatesTest, V2ContainerWithCgroupNamespace) {
  // containerd with a cgroup namespace: the container's cgroup is the root it sees.
  EXPECT_THAT(MemoryCgroupCandidates("0::/\n",
                                     "1064 1063 0:27 / /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime - cgroup2 "
                                     "cgroup rw,nsdelegate,memory_recursiveprot\n"),
              ElementsAre(Dir(CgroupVersion::kV2, "/sys/fs/cgroup")));
}

TEST(MemoryCgroupCandidatesTest, V2ContainerWithoutNamespaceMountsItsOwnCgroup) {
  // Without a cgroup namespace the mount's root is the container's cgroup, and
  // /proc/self/cgroup shows the full path.
  const std::string path = "/kubepods.slice/kubepods-burstable.slice/cri-containerd-ab.scope";
  EXPECT_THAT(
      MemoryCgroupCandidates("0::" + path + "\n", "500 400 0:27 " + path + " /sys/fs/cgroup ro - cgroup2 cgroup2 rw\n"),
      ElementsAre(Dir(CgroupVersion::kV2, "/sys/fs/cgroup")));
  // A process in a child of the mounted cgroup.
  EXPECT_THAT(MemoryCgroupCandidates("0::" + path + "/attempt\n",
                                     "500 400 0:27 " + path + " /sys/fs/cgroup ro - cgroup2 cgroup2 rw\n"),
              ElementsAre(Dir(CgroupVersion::kV2, "/sys/fs/cgroup/attempt")));
}

TEST(MemoryCgroupCandidatesTest, PathOutsideTheMountedRootFallsBackToTheMountPoint) {
  // A cgroup namespace created in a child cgroup shows ancestors as "/..".
  EXPECT_THAT(MemoryCgroupCandidates("0::/../../other\n", "1 0 0:27 /mine /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"),
              ElementsAre(Dir(CgroupVersion::kV2, "/sys/fs/cgroup")));
  // "/mine" is not a prefix of "/minefield".
  EXPECT_THAT(MemoryCgroupCandidates("0::/minefield\n", "1 0 0:27 /mine /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"),
              ElementsAre(Dir(CgroupVersion::kV2, "/sys/fs/cgroup")));
}

TEST(MemoryCgroupCandidatesTest, V1WithJoinedControllersAndOptionalFields) {
  EXPECT_THAT(MemoryCgroupCandidates("5:cpu,memory:/docker/abc\n",
                                     "30 25 0:26 / /sys/fs/cgroup/cpu,memory rw,nosuid shared:12 master:3 - "
                                     "cgroup cgroup rw,cpu,memory\n"),
              ElementsAre(Dir(CgroupVersion::kV1, "/sys/fs/cgroup/cpu,memory/docker/abc")));
}

TEST(MemoryCgroupCandidatesTest, EscapedMountPoint) {
  EXPECT_THAT(MemoryCgroupCandidates("0::/a\n", "1 0 0:27 / /mnt/my\\040cgroups rw - cgroup2 none rw\n"),
              ElementsAre(Dir(CgroupVersion::kV2, "/mnt/my cgroups/a")));
}

TEST(MemoryCgroupCandidatesTest, NothingUsable) {
  EXPECT_THAT(MemoryCgroupCandidates("", ""), IsEmpty());
  // A memory cgroup but no mount of its hierarchy (a container without /sys/fs/cgroup).
  EXPECT_THAT(MemoryCgroupCandidates("4:memory:/x\n0::/\n", "22 1 0:20 / /proc rw - proc proc rw\n"), IsEmpty());
  // Garbage lines are skipped.
  EXPECT_THAT(MemoryCgroupCandidates("nonsense\n4:memory\n", "short line\n1 2 3 - cgroup\n"), IsEmpty());
}

TEST(ParseMemoryLimitTest, Forms) {
  EXPECT_EQ(*ParseMemoryLimit("536870912\n"), std::optional<std::uint64_t>(536870912));
  EXPECT_EQ(*ParseMemoryLimit("max\n"), std::nullopt);
  EXPECT_EQ(*ParseMemoryLimit("9223372036854771712\n"), std::nullopt);  // v1 without a limit
  EXPECT_FALSE(ParseMemoryLimit("").ok());
  EXPECT_FALSE(ParseMemoryLimit("lots").ok());
  EXPECT_FALSE(ParseMemoryLimit("-1").ok());
}

TEST(ParseKeyedValueTest, EventsAndOomControl) {
  const std::string v2_events = "low 0\nhigh 0\nmax 12\noom 2\noom_kill 1\noom_group_kill 0\n";
  EXPECT_EQ(ParseKeyedValue(v2_events, "oom_kill"), 1u);
  EXPECT_EQ(ParseKeyedValue(v2_events, "oom"), 2u);
  const std::string v1_oom_control = "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n";
  EXPECT_EQ(ParseKeyedValue(v1_oom_control, "oom_kill"), 3u);
  EXPECT_EQ(ParseKeyedValue("oom_kill_disable 0\nunder_oom 0\n", "oom_kill"), std::nullopt);  // before 4.13
  EXPECT_EQ(ParseKeyedValue("oom_kill many\n", "oom_kill"), std::nullopt);
}

TEST(CgroupMemoryTest, OpenFailsWhereThereIsNoUsageFile) {
  EXPECT_FALSE(CgroupMemory::Open({.version = CgroupVersion::kV2, .dir = "/nonexistent/cgroup"}).ok());
  EXPECT_FALSE(CgroupMemory::Open({.version = CgroupVersion::kV1, .dir = "/nonexistent/cgroup"}).ok());
}

// What CgroupMemory::Read says of a fake cgroup folder.
MemoryUsage ReadOf(CgroupVersion version, const FakeCgroup& cgroup) {
  StatusOr<CgroupMemory> memory = CgroupMemory::Open({.version = version, .dir = cgroup.dir()});
  EXPECT_TRUE(memory.ok()) << memory.status();
  if (!memory.ok()) return {};
  StatusOr<MemoryUsage> usage = memory->Read();
  EXPECT_TRUE(usage.ok()) << usage.status();
  return usage.ok() ? *usage : MemoryUsage{};
}

// The anonymous part comes from memory.stat: v2's "anon", v1's hierarchical
// "total_rss" (its "rss" leaves out child cgroups).
TEST(CgroupMemoryTest, ReadsTheAnonymousPartOfTheUsage) {
  FakeCgroup v2;
  v2.Write("memory.current", "119083008\n");
  v2.Write("memory.max", "167772160\n");
  v2.Write("memory.stat", "anon 42733568\nfile 76349440\nkernel 1998848\n");
  MemoryUsage usage = ReadOf(CgroupVersion::kV2, v2);
  EXPECT_EQ(usage.usage_bytes, 119083008u);
  EXPECT_EQ(usage.limit_bytes, 167772160u);
  EXPECT_EQ(usage.anon_bytes, 42733568u);

  FakeCgroup v1;
  v1.Write("memory.usage_in_bytes", "119083008\n");
  v1.Write("memory.limit_in_bytes", "9223372036854771712\n");
  v1.Write("memory.stat", "cache 100\nrss 4096\ntotal_cache 76349440\ntotal_rss 42733568\n");
  usage = ReadOf(CgroupVersion::kV1, v1);
  EXPECT_EQ(usage.limit_bytes, std::nullopt);
  EXPECT_EQ(usage.anon_bytes, 42733568u);

  FakeCgroup bare;  // no memory.stat: the usage alone
  bare.Write("memory.current", "5\n");
  usage = ReadOf(CgroupVersion::kV2, bare);
  EXPECT_EQ(usage.usage_bytes, 5u);
  EXPECT_EQ(usage.anon_bytes, std::nullopt);
}

}  // namespace
}  // namespace gotestrun::sandbox
