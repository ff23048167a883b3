#include "agent/go_list.h"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace gotestrun::agent {

using evidence::PackageListing;

namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;

// The shape go list -e -json=... prints: objects one after another, tab-indented.
constexpr std::string_view kOutput = R"({
	"Dir": "/src/m/a",
	"ImportPath": "example.com/m/a",
	"Name": "a",
	"TestGoFiles": [
		"a_test.go"
	]
}
{
	"Dir": "/src/m/b {braces} \"quoted\"",
	"ImportPath": "example.com/m/b",
	"Name": "b",
	"XTestGoFiles": [
		"b_ext_test.go",
		"c_ext_test.go"
	]
}
{
	"Dir": "/src/m/none",
	"ImportPath": "example.com/m/none",
	"Name": "none"
}
{
	"Dir": "/src/m/broken",
	"ImportPath": "example.com/m/broken",
	"Error": {
		"ImportStack": [
			"example.com/m/broken"
		],
		"Pos": "broken.go:3:1",
		"Err": "expected 'package', found 'EOF'"
	}
}
)";

TEST(ParseGoListOutputTest, ConcatenatedObjects) {
  StatusOr<std::vector<PackageListing>> packages = ParseGoListOutput(kOutput);
  ASSERT_TRUE(packages.ok()) << packages.status();
  ASSERT_THAT(*packages, SizeIs(4));
  const PackageListing& a = (*packages)[0];
  EXPECT_EQ(a.import_path, "example.com/m/a");
  EXPECT_EQ(a.name, "a");
  EXPECT_EQ(a.dir, "/src/m/a");
  EXPECT_THAT(a.test_go_files, ElementsAre("a_test.go"));
  EXPECT_THAT(a.x_test_go_files, IsEmpty());
  EXPECT_TRUE(a.has_tests());

  const PackageListing& b = (*packages)[1];
  EXPECT_EQ(b.dir, "/src/m/b {braces} \"quoted\"");
  EXPECT_THAT(b.x_test_go_files, ElementsAre("b_ext_test.go", "c_ext_test.go"));

  EXPECT_FALSE((*packages)[2].has_tests());
  EXPECT_TRUE((*packages)[2].error.empty());
  EXPECT_EQ((*packages)[3].error, "expected 'package', found 'EOF'");
}

TEST(ParseGoListOutputTest, EmptyAndBroken) {
  StatusOr<std::vector<PackageListing>> packages = ParseGoListOutput("  \n");
  ASSERT_TRUE(packages.ok());
  EXPECT_THAT(*packages, IsEmpty());
  EXPECT_FALSE(ParseGoListOutput("go: warning: nothing\n").ok());
  EXPECT_FALSE(ParseGoListOutput(R"({"ImportPath": "a")").ok());
  EXPECT_FALSE(ParseGoListOutput(R"({"ImportPath": "a"} [)").ok());
  EXPECT_FALSE(ParseGoListOutput(R"({"ImportPath" "a"})").ok());
}

TEST(CheckPatternsMatchedTest, NothingMatchedFailsAsGoTestDoes) {
  Status none = CheckPatternsMatched({}, "go: warning: \"./a/...x\" matched no packages\n");
  EXPECT_EQ(none.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(none.message(), "go: warning: \"./a/...x\" matched no packages\nno packages to test");
  EXPECT_EQ(CheckPatternsMatched({}, "").message(), "no packages to test");
  // A package without test files matched: go test runs it ("no test files") and passes.
  PackageListing no_tests;
  no_tests.import_path = "example.com/m/b";
  EXPECT_TRUE(CheckPatternsMatched({no_tests}, "go: warning: \"./zz/...\" matched no packages\n").ok());
}

TEST(GoListArgvTest, Forms) {
  EXPECT_THAT(GoListArgv("", {}),
              ElementsAre("go", "list", "-e", "-json=ImportPath,Name,Dir,TestGoFiles,XTestGoFiles,Error", "./..."));
  EXPECT_THAT(GoListArgv("integration", {"./a/...", "./b"}),
              ElementsAre("go", "list", "-e", "-json=ImportPath,Name,Dir,TestGoFiles,XTestGoFiles,Error",
                          "-tags=integration", "--", "./a/...", "./b"));
}

}  // namespace
}  // namespace gotestrun::agent
