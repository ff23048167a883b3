#include "core/diagnosis/gotest/text_forms.h"

#include <optional>
#include <string>

#include <gtest/gtest.h>

namespace gotestrun::gotest {
namespace {

struct TextCase {
  std::string line;
  TextLineKind kind;
  std::string package = {};
  std::string tool = {};
  std::string signal = {};
  std::optional<double> seconds = std::nullopt;
};

TEST(ClassifyTextLineTest, Table) {
  const TextCase cases[] = {
      {"ok  \texample.com/p\t0.012s", TextLineKind::kPackagePass, "example.com/p", "", "", 0.012},
      {"ok  \texample.com/p\t(cached)", TextLineKind::kPackagePass, "example.com/p"},
      {"ok  \texample.com/p\t0.5s\tcoverage: 80.0% of statements", TextLineKind::kPackagePass, "example.com/p", "", "",
       0.5},
      {"ok  \texample.com/p\t0.01s [no tests to run]", TextLineKind::kPackagePass, "example.com/p", "", "", 0.01},
      {"FAIL\texample.com/p\t1.250s", TextLineKind::kPackageFail, "example.com/p", "", "", 1.25},
      {"FAIL\texample.com/p [build failed]", TextLineKind::kPackageBuildFailed, "example.com/p"},
      {"FAIL\texample.com/p [setup failed]", TextLineKind::kPackageSetupFailed, "example.com/p"},
      {"?   \texample.com/p\t[no test files]", TextLineKind::kPackageNoTestFiles, "example.com/p"},
      {"# example.com/p [example.com/p.test]", TextLineKind::kBuildHeader, "example.com/p [example.com/p.test]"},
      {"# example.com/p", TextLineKind::kBuildHeader, "example.com/p"},
      {"# [example.com/p]", TextLineKind::kVetHeader, "example.com/p"},
      {"example.com/p: /usr/local/go/pkg/tool/linux_amd64/compile: signal: killed", TextLineKind::kBuildStepSignal,
       "example.com/p", "compile", "killed"},
      {"example.com/p.test: /usr/local/go/pkg/tool/linux_amd64/link: signal: killed", TextLineKind::kBuildStepSignal,
       "example.com/p.test", "link", "killed"},
      {"example.com/p [example.com/p.test]: C:\\go\\pkg\\tool\\windows_amd64\\compile.exe: signal: killed",
       TextLineKind::kBuildStepSignal, "example.com/p [example.com/p.test]", "compile.exe", "killed"},
      {"example.com/p: /opt/wrap.sh: signal: segmentation fault", TextLineKind::kBuildStepSignal, "example.com/p",
       "wrap.sh", "segmentation fault"},
      {"signal: killed", TextLineKind::kProcessSignal, "", "", "killed"},
      {"signal: segmentation fault (core dumped)", TextLineKind::kProcessSignal, "", "",
       "segmentation fault (core dumped)"},
      {"panic: runtime error: index out of range [3] with length 3", TextLineKind::kPanic},
      {"panic: test timed out after 10m0s", TextLineKind::kTimeout},
      {"*** Test killed: ran too long (11m0s).", TextLineKind::kTimeout},
      {"*** Test killed with quit: ran too long (11m0s).", TextLineKind::kTimeout},
      // Not forms of go test's own.
      {"FAIL", TextLineKind::kOther},
      {"PASS", TextLineKind::kOther},
      {"FAIL\texample.com/p something else", TextLineKind::kOther},
      {"ok  \t\t0.1s", TextLineKind::kOther},
      {"    signal: killed", TextLineKind::kOther},
      {"# ", TextLineKind::kOther},
      {"a b: /bin/tool: signal: killed", TextLineKind::kOther},  // "a b" names no package
      {"example.com/p: my tool: signal: killed", TextLineKind::kOther},
      {"the run ended: exit status 2", TextLineKind::kOther},
      {"=== RUN   TestA", TextLineKind::kOther},
  };
  for (const TextCase& c : cases) {
    const TextLine got = ClassifyTextLine(c.line);
    EXPECT_EQ(got.kind, c.kind) << c.line;
    EXPECT_EQ(got.package, c.package) << c.line;
    EXPECT_EQ(got.tool, c.tool) << c.line;
    EXPECT_EQ(got.signal, c.signal) << c.line;
    EXPECT_EQ(got.seconds, c.seconds) << c.line;
  }
}

TEST(GluedProcessSignalTest, SignalAtTheEndOfAnUnfinishedLine) {
  EXPECT_EQ(GluedProcessSignal("gc 3 @0.001s 10%: 0.023+signal: killed"), "killed");
  EXPECT_EQ(GluedProcessSignal("0.080signal: segmentation fault"), "segmentation fault");
  EXPECT_EQ(GluedProcessSignal("signal: killed"), std::nullopt);  // a whole line is kProcessSignal
  EXPECT_EQ(GluedProcessSignal("no signal here"), std::nullopt);
  EXPECT_EQ(GluedProcessSignal("trailing signal: "), std::nullopt);
}

TEST(PhaseOfToolTest, KnownTools) {
  EXPECT_EQ(PhaseOfTool("compile"), BuildPhase::kCompile);
  EXPECT_EQ(PhaseOfTool("compile.exe"), BuildPhase::kCompile);
  EXPECT_EQ(PhaseOfTool("link"), BuildPhase::kLink);
  EXPECT_EQ(PhaseOfTool("vet"), BuildPhase::kVet);
  EXPECT_EQ(PhaseOfTool("kill-tool.sh"), BuildPhase::kUnknown);
  EXPECT_EQ(PhaseOfTool(""), BuildPhase::kUnknown);
}

TEST(IsGoSourcePositionTest, CompilerAndVetErrors) {
  EXPECT_TRUE(IsGoSourcePosition("brokenbuild/brokenbuild_test.go:8:2: undefined: undefinedFunction"));
  EXPECT_TRUE(IsGoSourcePosition("./x.go:12: syntax error"));
  EXPECT_FALSE(IsGoSourcePosition("    passing_test.go:9: added"));  // t.Log output is indented
  EXPECT_FALSE(IsGoSourcePosition("x.go:12:5 no colon after"));
  EXPECT_FALSE(IsGoSourcePosition("x.go: bad"));
  EXPECT_FALSE(IsGoSourcePosition(".go:1: nothing before"));
  EXPECT_FALSE(IsGoSourcePosition("note: see x.go:3:1: here"));
}

TEST(IsLinkerMessageTest, LinkerErrors) {
  EXPECT_TRUE(IsLinkerMessage("/usr/local/go/pkg/tool/linux_amd64/link: running gcc failed: exit status 1"));
  EXPECT_TRUE(IsLinkerMessage("link: duplicated definition of symbol main.x"));
  EXPECT_FALSE(IsLinkerMessage("see the docs at https://go.dev/link: here"));
  EXPECT_FALSE(IsLinkerMessage("unlinked"));
}

TEST(BuildBelongsToPackageTest, VariantsOfOnePackage) {
  EXPECT_TRUE(BuildBelongsToPackage("example.com/p", "example.com/p"));
  EXPECT_TRUE(BuildBelongsToPackage("example.com/p [example.com/p.test]", "example.com/p"));
  EXPECT_TRUE(BuildBelongsToPackage("example.com/p_test [example.com/p.test]", "example.com/p"));
  EXPECT_TRUE(BuildBelongsToPackage("example.com/p.test", "example.com/p"));
  EXPECT_FALSE(BuildBelongsToPackage("example.com/pq", "example.com/p"));
  EXPECT_FALSE(BuildBelongsToPackage("example.com/p/sub", "example.com/p"));
  EXPECT_FALSE(BuildBelongsToPackage("example.com/q [example.com/p.test]", "example.com/p"));
  EXPECT_FALSE(BuildBelongsToPackage("example.com/p", ""));
}

}  // namespace
}  // namespace gotestrun::gotest
