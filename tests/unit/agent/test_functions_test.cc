#include "agent/test_functions.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include <gtest/gtest.h>

namespace gotestrun::agent {
namespace {

struct Row {
  const char* name;
  const char* source;
  std::optional<int> want;
};

TEST(CountTopLevelTestsTest, Table) {
  const Row rows[] = {
      {"tests, a fuzz target, TestMain and helpers",
       "package p\n\nimport \"testing\"\n\n"
       "func TestMain(m *testing.M) { m.Run() }\n"
       "func TestA(t *testing.T) {}\n"
       "func Test(t *testing.T) {}\n"
       "func Test_b(t *testing.T) {}\n"
       "func Testable(t *testing.T) {}\n"  // lower case after Test: not a test
       "func TestC(tb testing.TB) {}\n"    // not *testing.T
       "func TestD( t *testing.T ) {\n\tt.Run(\"sub\", func(t *testing.T) {})\n}\n"
       "func TestE(*testing.T) {}\n"
       "func FuzzF(f *testing.F) {}\n"
       "func BenchmarkG(b *testing.B) {}\n"
       "func helper(t *testing.T) {}\n"
       "func (s suite) TestMethod(t *testing.T) {}\n",
       6},
      {"a signature over several lines", "package p\n\nimport \"testing\"\n\nfunc TestLong(\n\tt *testing.T,\n) {\n}\n",
       1},
      {"examples run only with an output comment",
       "package p_test\n\n"
       "func Example() {\n\tfmt.Println(1)\n\t// Output: 1\n}\n\n"
       "func ExampleThing() {\n\tfmt.Println(2)\n\t// Unordered output:\n\t// 2\n}\n\n"
       "func ExampleNoOutput() {\n\tfmt.Println(3)\n}\n\n"
       "func Examples() {\n\t// Output: x\n}\n",
       2},
      {"declarations in raw strings and comments are not tests",
       "package p\n\nimport \"testing\"\n\n"
       "const src = `\nfunc TestInString(t *testing.T) {}\n`\n"
       "/*\nfunc TestInComment(t *testing.T) {}\n*/\n"
       "// func TestInLineComment(t *testing.T) {}\n"
       "var s = \"`\"\n"
       "func TestReal(t *testing.T) {}\n",
       1},
      {"testing imported under another name: unknown", "package p\n\nimport tt \"testing\"\n\nfunc TestA(t *tt.T) {}\n",
       std::nullopt},
      {"a dot import: unknown", "package p\n\nimport (\n\t. \"testing\"\n)\n\nfunc TestA(t *T) {}\n", std::nullopt},
      {"a blank or plain import in a block is fine",
       "package p\n\nimport (\n\t\"fmt\"\n\ttesting \"testing\" // explicit\n)\n\nfunc TestA(t *testing.T) {}\n", 1},
      {"a string that says testing is no import", "package p\n\nvar name = \"testing\"\n", 0},
      {"empty", "", 0},
  };
  for (const Row& r : rows) {
    EXPECT_EQ(CountTopLevelTests(r.source), r.want) << r.name;
  }
}

TEST(CountTopLevelTestsTest, HostileInputEndsWithACount) {
  // Unterminated strings, comments and raw strings, and a declaration cut short.
  const std::string backticks(100000, '`');
  for (const char* s : {"func TestA(t *testing.T", "/* func TestA(t *testing.T) {}", "`", "\"", "'", "func ",
                        "func Example() {\n// Output: 1\n", backticks.c_str()}) {
    EXPECT_TRUE(CountTopLevelTests(s).has_value()) << s;
  }
  EXPECT_EQ(CountTopLevelTests("func Example() {\n// Output: 1\n"), 1);
}

TEST(CountPackageTestsTest, SumsTheFilesAndGivesUpOnOneItCannotRead) {
  std::string dir = (std::filesystem::temp_directory_path() / "gotestrun-test-functions-XXXXXX").string();
  ASSERT_NE(::mkdtemp(dir.data()), nullptr);
  std::ofstream(dir + "/a_test.go") << "package p\n\nimport \"testing\"\n\nfunc TestA(t *testing.T) {}\n";
  std::ofstream(dir + "/b_test.go") << "package p_test\n\nimport \"testing\"\n\nfunc TestB(t *testing.T) {}\n"
                                       "func TestC(t *testing.T) {}\n";
  EXPECT_EQ(CountPackageTests(dir, {"a_test.go", "b_test.go"}), 3);
  EXPECT_EQ(CountPackageTests(dir, {"a_test.go", "missing_test.go"}), std::nullopt);
  EXPECT_EQ(CountPackageTests(dir, {"a_test.go"}, 8), std::nullopt);  // over the cap
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace gotestrun::agent
