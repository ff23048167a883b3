// The -toolexec wrapper: which tool runs are recorded, which package a step belongs to,
// and the start and end lines a real child process leaves in build.jsonl.
#include "agent/toolexec.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/files.h"

namespace gotestrun::agent {
namespace {

namespace fs = std::filesystem;
using ::testing::SizeIs;

TEST(ToolexecTest, RecordsCompileAndLinkButNotVersionQueriesOrOtherTools) {
  EXPECT_TRUE(RecordsBuildStep({"/go/pkg/tool/linux_amd64/compile", "-o", "x.a", "-p", "example.com/x"}));
  EXPECT_TRUE(RecordsBuildStep({"/go/pkg/tool/linux_amd64/link", "-o", "x.test"}));
  EXPECT_FALSE(RecordsBuildStep({"/go/pkg/tool/linux_amd64/compile", "-V=full"}));
  EXPECT_FALSE(RecordsBuildStep({"/go/pkg/tool/linux_amd64/link", "-V=full"}));
  EXPECT_FALSE(RecordsBuildStep({"/go/pkg/tool/linux_amd64/asm", "-p", "x"}));
  EXPECT_FALSE(RecordsBuildStep({"/go/pkg/tool/linux_amd64/vet", "vet.cfg"}));
  EXPECT_FALSE(RecordsBuildStep({"/go/pkg/tool/linux_amd64/cgo", "x.go"}));
  EXPECT_FALSE(RecordsBuildStep({}));
}

TEST(ToolexecTest, PackageFromTheGoCommandsNameElseTheToolsArguments) {
  const std::vector<std::string> compile{"/t/compile", "-o", "/w/b002/_pkg_.a", "-p", "example.com/x"};
  EXPECT_EQ(BuildStepPackage(compile, "example.com/x [example.com/x.test]"), "example.com/x");
  EXPECT_EQ(BuildStepPackage(compile, "example.com/x.test"), "example.com/x");
  EXPECT_EQ(BuildStepPackage(compile, ""), "example.com/x");
  EXPECT_EQ(BuildStepPackage({"/t/compile", "-p=example.com/y"}, ""), "example.com/y");
  // A test binary's link without the go command's name: its output file's name.
  EXPECT_EQ(BuildStepPackage({"/t/link", "-o", "/w/b001/x.test", "-importcfg", "/w/b001/importcfg.link"}, ""), "x");
  EXPECT_EQ(BuildStepPackage({"/t/link"}, ""), "unknown");
}

class ToolexecRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "gtr-toolexec-XXXXXX").string();
    dir_ = ::mkdtemp(pattern.data());
    ASSERT_TRUE(evidence::AttemptLayout(dir_).Create().ok());
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  // A stand-in tool named `name` running `body`.
  std::string Tool(const std::string& name, const std::string& body) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << "#!/bin/sh\n" << body << "\n";
    ::chmod(path.c_str(), 0755);
    return path;
  }
  evidence::BuildLog Log() {
    StatusOr<std::string> text = ReadFile(evidence::AttemptLayout(dir_).build_log());
    return text.ok() ? evidence::ParseBuildLog(*text) : evidence::BuildLog{};
  }
  std::string dir_;
};

TEST_F(ToolexecRunTest, AFailingCompileIsRecordedAndEndsTheWayTheToolDid) {
  const std::string tool = Tool("compile", "head -c 30000000 /dev/zero | tail -c 1 > /dev/null; exit 3");
  ::setenv("TOOLEXEC_IMPORTPATH", "example.com/x [example.com/x.test]", 1);
  const evidence::BinaryEnd end = RunBuildTool({.attempt_dir = dir_, .argv = {tool, "-p", "example.com/x"}});
  ::unsetenv("TOOLEXEC_IMPORTPATH");
  EXPECT_EQ(end.exit_code, 3);
  EXPECT_EQ(end.signal, 0);
  const evidence::BuildLog log = Log();
  EXPECT_EQ(log.malformed_lines, 0u);
  ASSERT_THAT(log.steps, SizeIs(1));
  const evidence::BuildStep& step = log.steps[0];
  EXPECT_EQ(step.tool, "compile");
  EXPECT_EQ(step.package, "example.com/x");
  EXPECT_EQ(step.import_path, "example.com/x [example.com/x.test]");
  ASSERT_TRUE(step.ended());
  EXPECT_EQ(step.end->exit_code, 3);
  EXPECT_GT(step.end->max_rss_bytes, 0u);
  EXPECT_GE(*step.end_unix_ms, step.start_unix_ms);
}

TEST_F(ToolexecRunTest, AKilledLinkIsRecordedWithItsSignal) {
  const std::string tool = Tool("link", "kill -9 $$");
  const evidence::BinaryEnd end = RunBuildTool({.attempt_dir = dir_, .argv = {tool, "-o", "/w/b001/y.test"}});
  EXPECT_EQ(end.signal, 9);
  const evidence::BuildLog log = Log();
  ASSERT_THAT(log.steps, SizeIs(1));
  EXPECT_EQ(log.steps[0].tool, "link");
  ASSERT_TRUE(log.steps[0].ended());
  EXPECT_EQ(log.steps[0].end->signal, 9);
}

TEST_F(ToolexecRunTest, NoRecordOnceTheLogIsAtItsCap) {
  const std::string path = evidence::AttemptLayout(dir_).build_log();
  { std::ofstream(path) << std::string(evidence::kMaxBuildLogBytes - 10, '\n'); }
  const std::string tool = Tool("compile", "exit 0");
  EXPECT_EQ(RunBuildTool({.attempt_dir = dir_, .argv = {tool, "-p", "z"}}).exit_code, 0);
  EXPECT_EQ(fs::file_size(path), evidence::kMaxBuildLogBytes - 10);
}

}  // namespace
}  // namespace gotestrun::agent
