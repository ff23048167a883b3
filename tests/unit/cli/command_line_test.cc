#include "cli/command_line.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace gotestrun::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

StatusOr<Command> Parse(std::vector<std::string> args) { return ParseCommandLine(args); }

TEST(CommandLine, VersionInBothSpellings) {
  for (const char* spelling : {"version", "--version"}) {
    StatusOr<Command> c = Parse({spelling});
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_EQ(c->kind, Command::Kind::kVersion);
  }
}

TEST(CommandLine, RunTakesPackagesAndFlagsInAnyOrder) {
  StatusOr<Command> c = Parse({"run",
                               "./leak",
                               "--memory",
                               "256Mi",
                               "./clean/...",
                               "--max-memory=1Gi",
                               "--module-dir",
                               "fixtures",
                               "--shards",
                               "2",
                               "--max-shards=4",
                               "--parallel",
                               "2",
                               "--p",
                               "1",
                               "--max-attempts",
                               "3",
                               "--name",
                               "demo",
                               "--out",
                               "/tmp/x",
                               "--agent",
                               "/bin/agent",
                               "--json-progress",
                               "--no-history"});
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->kind, Command::Kind::kRun);
  const cli::RunFlags& f = c->run;
  EXPECT_THAT(f.packages, ElementsAre("./leak", "./clean/..."));
  EXPECT_EQ(f.memory, "256Mi");
  EXPECT_EQ(f.max_memory, "1Gi");
  EXPECT_EQ(f.module_dir, "fixtures");
  EXPECT_EQ(f.shards, "2");
  EXPECT_EQ(f.max_shards, "4");
  EXPECT_EQ(f.parallel, "2");
  EXPECT_EQ(f.p, "1");
  EXPECT_EQ(f.max_attempts, "3");
  EXPECT_EQ(f.name, "demo");
  EXPECT_EQ(f.out, "/tmp/x");
  EXPECT_EQ(f.agent, "/bin/agent");
  EXPECT_TRUE(f.json_progress);
  EXPECT_TRUE(f.no_history);
  EXPECT_TRUE(f.manifest_file.empty());
}

TEST(CommandLine, RunDefaultsLeaveTheSpecToTheManifestOrTheDefaults) {
  StatusOr<Command> c = Parse({"run"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->run.module_dir, ".");
  EXPECT_FALSE(c->run.memory.has_value());
  EXPECT_FALSE(c->run.shards.has_value());
  EXPECT_TRUE(c->run.packages.empty());
  EXPECT_FALSE(c->run.json_progress);
}

TEST(CommandLine, ManifestFile) {
  StatusOr<Command> c = Parse({"run", "-f", "run.yaml"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->run.manifest_file, "run.yaml");
  c = Parse({"run", "--filename=-"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->run.manifest_file, "-");
}

TEST(CommandLine, DoubleDashEndsOptions) {
  StatusOr<Command> c = Parse({"run", "--memory", "1Gi", "--", "--not-an-option"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(c->run.packages, ElementsAre("--not-an-option"));
}

TEST(CommandLine, NumbersAreLeftForTheSpecToJudge) {
  // ParseSpec gives the CRD's words for a bad number; the parser only takes the text.
  StatusOr<Command> c = Parse({"run", "--shards", "many"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->run.shards, "many");
}

TEST(CommandLine, Errors) {
  EXPECT_THAT(Parse({}).status().message(), HasSubstr("no command"));
  EXPECT_THAT(Parse({"launch"}).status().message(), HasSubstr("unknown command launch"));
  EXPECT_THAT(Parse({"run", "--memroy", "1Gi"}).status().message(), HasSubstr("unknown option --memroy"));
  EXPECT_THAT(Parse({"run", "--memory"}).status().message(), HasSubstr("--memory needs a value"));
  EXPECT_THAT(Parse({"run", "--memory="}).status().message(), HasSubstr("--memory needs a value"));
  EXPECT_THAT(Parse({"run", "--json-progress=yes"}).status().message(), HasSubstr("takes no value"));
  EXPECT_THAT(Parse({"describe"}).status().message(), HasSubstr("needs a run folder or the name"));
  EXPECT_THAT(Parse({"describe", "a", "b"}).status().message(), HasSubstr("one run folder or name"));
  for (const auto& args : {std::vector<std::string>{}, {"launch"}, {"run", "--memroy", "1"}}) {
    EXPECT_EQ(Parse(args).status().code(), StatusCode::kInvalidArgument);
  }
}

TEST(CommandLine, Help) {
  for (const auto& args :
       {std::vector<std::string>{"help"}, {"--help"}, {"-h"}, {"run", "--help"}, {"describe", "-h"}}) {
    StatusOr<Command> c = Parse(args);
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_EQ(c->kind, Command::Kind::kHelp);
  }
  // The help documents every exit code.
  for (const char* code : {"  0 ", "  1 ", "  2 ", "  3 ", "  130 "}) EXPECT_THAT(kUsage, HasSubstr(code));
}

TEST(CommandLine, DescribeAFolderOrAClusterRun) {
  StatusOr<Command> c = Parse({"describe", "/tmp/run"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->kind, Command::Kind::kDescribe);
  EXPECT_EQ(c->describe.target, "/tmp/run");
  EXPECT_FALSE(c->describe.cluster);

  c = Parse({"describe", "payments", "-n", "ci", "--kubeconfig", "/k"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->describe.target, "payments");
  EXPECT_EQ(c->describe.ns, "ci");
  EXPECT_EQ(c->describe.kubeconfig, "/k");
  EXPECT_TRUE(c->describe.cluster);

  c = Parse({"describe", "--namespace=ci", "payments"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->describe.ns, "ci");
  EXPECT_TRUE(c->describe.cluster);
}

}  // namespace
}  // namespace gotestrun::cli
