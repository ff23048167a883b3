#include "agent/exec_wrapper.h"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace gotestrun::agent {

using evidence::PackageListing;

namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

TEST(WithGcTraceTest, AppendsToAnyGodebug) {
  EXPECT_EQ(WithGcTrace(""), "gctrace=1");
  EXPECT_EQ(WithGcTrace("madvdontneed=1"), "madvdontneed=1,gctrace=1");
  EXPECT_EQ(WithGcTrace("a=1,"), "a=1,gctrace=1");
  // The last setting wins in GODEBUG, so ours does.
  EXPECT_EQ(WithGcTrace("gctrace=0"), "gctrace=0,gctrace=1");
}

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "agent-exec-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(PackageForDirTest, ByFolderAsGivenOrResolved) {
  TempDir tmp;
  const std::string real = tmp.path() + "/src/m/a";
  std::filesystem::create_directories(real);
  std::filesystem::create_directory_symlink(tmp.path() + "/src", tmp.path() + "/link");
  const std::string via_link = tmp.path() + "/link/m/a";
  const std::vector<PackageListing> packages{
      {.import_path = "example.com/m/b", .dir = tmp.path() + "/src/m/b"},
      {.import_path = "example.com/m/a", .dir = via_link},
  };
  // go list printed the folder through the symlink; the binary's cwd is the real one.
  EXPECT_EQ(PackageForDir(packages, real), "example.com/m/a");
  EXPECT_EQ(PackageForDir(packages, via_link), "example.com/m/a");
  // Not a listed package: the folder names it.
  EXPECT_EQ(PackageForDir(packages, tmp.path()), std::filesystem::canonical(tmp.path()).string());
  EXPECT_EQ(PackageForDir({}, real), std::filesystem::canonical(real).string());
}

}  // namespace
}  // namespace gotestrun::agent
