#include "agent/go_test_command.h"

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace gotestrun::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

RunOptions Options(std::vector<std::string> flags = {}) {
  return RunOptions{.attempt_dir = "/v/a1", .module_dir = "/src", .flags = std::move(flags), .packages = {"./..."}};
}

TEST(CheckUserFlagsTest, OwnedFlagsAreRefusedInEveryForm) {
  for (const std::string name : {"parallel", "p", "json", "exec", "overlay", "vet", "toolexec", "o", "c"}) {
    for (const std::string& form : {"-" + name, "--" + name, "-" + name + "=1", "--" + name + "=x"}) {
      const Status s = CheckUserFlags(Options({"-race", form}));
      EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << form;
      EXPECT_THAT(s.message(), HasSubstr(form)) << form;
    }
  }
  EXPECT_THAT(CheckUserFlags(Options({"-parallel=8"})).message(), HasSubstr("use --parallel"));
  EXPECT_THAT(CheckUserFlags(Options({"-p", "4"})).message(), HasSubstr("use --p"));
  EXPECT_THAT(CheckUserFlags(Options({"-vet=all"})).message(), HasSubstr("-vet=off"));
  EXPECT_THAT(CheckUserFlags(Options({"-test.parallel=2"})).message(), HasSubstr("use --parallel"));
}

TEST(CheckUserFlagsTest, OtherFlagsPass) {
  EXPECT_TRUE(CheckUserFlags(Options({"-race", "-count=1", "-run", "TestX", "-cover", "-coverprofile=c.out", "-cpu=1,2",
                                      "-short", "-failfast", "-pgo=off", "-json-like"}))
                  .ok());
  // Values that look like owned flags, and arguments that are not flags.
  EXPECT_TRUE(CheckUserFlags(Options({"-run=-p", "p", "json", "-"})).ok());
  // After -args only the binary reads them, and only -test.parallel matters there.
  EXPECT_TRUE(CheckUserFlags(Options({"-args", "-p", "-json", "-c"})).ok());
  EXPECT_FALSE(CheckUserFlags(Options({"-args", "-test.parallel=4"})).ok());
}

TEST(CheckUserFlagsTest, TagsAndTimeoutOnlyOnce) {
  RunOptions o = Options({"-tags=a"});
  EXPECT_TRUE(CheckUserFlags(o).ok());
  o.tags = "b";
  EXPECT_THAT(CheckUserFlags(o).message(), HasSubstr("--tags"));
  o = Options({"-timeout", "5m"});
  EXPECT_TRUE(CheckUserFlags(o).ok());
  o.timeout = "10m";
  EXPECT_THAT(CheckUserFlags(o).message(), HasSubstr("--timeout"));
}

TEST(GoTestArgvTest, Minimal) {
  StatusOr<std::vector<std::string>> argv = GoTestArgv(Options(), "/bin/gotestrun-agent", "");
  ASSERT_TRUE(argv.ok()) << argv.status();
  EXPECT_THAT(*argv, ElementsAre("go", "test", "-json", "-vet=off", "-exec", "/bin/gotestrun-agent exec --dir /v/a1",
                                 "-toolexec", "/bin/gotestrun-agent toolexec --dir /v/a1", "./..."));
}

TEST(GoTestArgvTest, EverythingInOrder) {
  RunOptions o = Options({"-race", "-count=1", "-args", "-custom", "x"});
  o.parallel = 4;
  o.p = 2;
  o.timeout = "20m";
  o.tags = "integration";
  o.packages = {"./a/...", "./b"};
  StatusOr<std::vector<std::string>> argv = GoTestArgv(o, "/bin/gotestrun-agent", "/v/a1/overlay/overlay.json");
  ASSERT_TRUE(argv.ok()) << argv.status();
  EXPECT_THAT(*argv, ElementsAre("go", "test", "-json", "-vet=off", "-exec", "/bin/gotestrun-agent exec --dir /v/a1",
                                 "-toolexec", "/bin/gotestrun-agent toolexec --dir /v/a1",
                                 "-overlay=/v/a1/overlay/overlay.json", "-parallel=4", "-p=2", "-timeout=20m",
                                 "-tags=integration", "-race", "-count=1", "./a/...", "./b", "-args", "-custom", "x"));
}

TEST(GoTestArgvTest, RefusesOwnedFlags) {
  const StatusOr<std::vector<std::string>> argv = GoTestArgv(Options({"-json"}), "/bin/a", "");
  EXPECT_EQ(argv.status().code(), StatusCode::kInvalidArgument);
}

TEST(ExecWrapperValueTest, QuotesPathsGoWouldSplit) {
  EXPECT_EQ(*ExecWrapperValue("/bin/agent", "/v/a1"), "/bin/agent exec --dir /v/a1");
  EXPECT_EQ(*ExecWrapperValue("/my tools/agent", "/v/a 1"), "'/my tools/agent' exec --dir '/v/a 1'");
  EXPECT_EQ(*ExecWrapperValue("/bin/agent", "/v/it's"), "/bin/agent exec --dir \"/v/it's\"");
  EXPECT_FALSE(ExecWrapperValue("/bin/agent", "/v/'\"").ok());
}

TEST(ToolexecWrapperValueTest, QuotedLikeTheExecValue) {
  EXPECT_EQ(*ToolexecWrapperValue("/bin/agent", "/v/a1"), "/bin/agent toolexec --dir /v/a1");
  EXPECT_EQ(*ToolexecWrapperValue("/my tools/agent", "/v/a 1"), "'/my tools/agent' toolexec --dir '/v/a 1'");
  EXPECT_FALSE(ToolexecWrapperValue("/bin/agent", "/v/'\"").ok());
}

TEST(GoTestEnvTest, IntervalAndMemoryLimit) {
  RunOptions o = Options();
  o.heap_interval = std::chrono::milliseconds(250);
  EXPECT_THAT(GoTestEnv(o), ElementsAre("GOTESTRUN_HEAP_INTERVAL=250ms"));
  o.gomemlimit_bytes = 1 << 30;
  EXPECT_THAT(GoTestEnv(o), UnorderedElementsAre("GOTESTRUN_HEAP_INTERVAL=250ms", "GOTESTRUN_GOMEMLIMIT=1073741824"));
}

}  // namespace
}  // namespace gotestrun::agent
