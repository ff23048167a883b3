#include "agent/heap_overlay.h"

#include <stdlib.h>

#include <filesystem>
#include <regex>
#include <set>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/files.h"

namespace gotestrun::agent {

using evidence::kHeapSnapshotsFile;
using evidence::PackageListing;

namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

PackageListing Package(std::string name, std::vector<std::string> tests, std::vector<std::string> xtests) {
  return {.import_path = "example.com/m/" + name,
          .name = name,
          .dir = "/m/" + name,
          .test_go_files = std::move(tests),
          .x_test_go_files = std::move(xtests)};
}

TEST(HeapOverlayPackageTest, InternalExternalAndNone) {
  EXPECT_EQ(HeapOverlayPackage(Package("ledger", {"ledger_test.go"}, {})), "ledger");
  EXPECT_EQ(HeapOverlayPackage(Package("ledger", {}, {"ledger_test.go"})), "ledger_test");
  // With both, the file joins the package itself.
  EXPECT_EQ(HeapOverlayPackage(Package("ledger", {"a_test.go"}, {"b_test.go"})), "ledger");
  // The package clause, not the last element of the import path.
  PackageListing renamed = Package("v2", {}, {"x_test.go"});
  renamed.name = "yaml";
  EXPECT_EQ(HeapOverlayPackage(renamed), "yaml_test");
  EXPECT_EQ(HeapOverlayPackage(Package("main", {"main_test.go"}, {})), "main");

  EXPECT_EQ(HeapOverlayPackage(Package("notests", {}, {})), std::nullopt);
  PackageListing broken = Package("broken", {"broken_test.go"}, {});
  broken.error = "no Go files";
  EXPECT_EQ(HeapOverlayPackage(broken), std::nullopt);
  EXPECT_EQ(HeapOverlayPackage(Package("taken", {"zz_gotestrun_heap_test.go"}, {})), std::nullopt);
}

TEST(HeapSnapshotSourceTest, PackageClauseAndEnvironment) {
  const std::string source = HeapSnapshotSource("ledger_test");
  EXPECT_THAT(source, HasSubstr("\npackage ledger_test\n"));
  EXPECT_EQ(source.find("PACKAGE"), std::string::npos);
  EXPECT_THAT(source, HasSubstr("\"" + std::string(kHeapDirEnv) + "\""));
  EXPECT_THAT(source, HasSubstr("\"" + std::string(kHeapIntervalEnv) + "\""));
  EXPECT_THAT(source, HasSubstr("\"" + std::string(kHeapSnapshotsFile) + "\""));
  EXPECT_THAT(source, HasSubstr(R"(Pprof.Lookup("heap").WriteTo()"));
  // The profile name and the snapshots.tsv line have the formats evidence.h parses.
  EXPECT_THAT(source, HasSubstr(R"("%04d.pb.gz")"));
  EXPECT_THAT(source, HasSubstr(R"("%d\t%d\t%d\t%d\t%d\t%d\t%d\n")"));
}

TEST(HeapSnapshotSourceTest, ImportsOnlyTheStandardLibraryUnderPrefixedAliases) {
  const std::string source = HeapSnapshotSource("p");
  const std::size_t begin = source.find("import (");
  const std::size_t end = source.find(")", begin);
  ASSERT_NE(begin, std::string::npos);
  const std::string imports = source.substr(begin + 8, end - begin - 8);
  const std::regex line(R"re(\s*(\S+) "([^"]+)")re");
  std::set<std::string> paths;
  for (std::sregex_iterator it(imports.begin(), imports.end(), line), last; it != last; ++it) {
    EXPECT_TRUE((*it)[1].str().starts_with("zzGotestrunHeap")) << (*it)[1].str();
    paths.insert((*it)[2].str());
  }
  EXPECT_EQ(paths, (std::set<std::string>{"fmt", "os", "path/filepath", "runtime", "runtime/pprof", "time"}));
  // One import block, nothing imported elsewhere.
  EXPECT_EQ(source.find("import", end), std::string::npos);
}

TEST(HeapSnapshotSourceTest, EveryDeclaredIdentifierIsPrefixed) {
  const std::string source = HeapSnapshotSource("p");
  // Functions, parameters, types, variables (var, := and for-loop ones).
  const std::regex declarations(
      R"re(func (\w+)\(|\((\w+) \w|, (\w+) [\w.]+\)|var (\w+) |type (\w+) |(\w+)(?:, (\w+))? :=|for (\w+) :=)re");
  std::set<std::string> names;
  for (std::sregex_iterator it(source.begin(), source.end(), declarations), last; it != last; ++it) {
    for (std::size_t g = 1; g < it->size(); ++g) {
      if ((*it)[g].matched) names.insert((*it)[g].str());
    }
  }
  names.erase("init");  // init is never declared in the package block
  names.erase("chan");  // make(chan T): a keyword, not a name
  EXPECT_THAT(names, ::testing::Contains("zzGotestrunHeapLoop"));
  EXPECT_THAT(names, ::testing::Contains("zzGotestrunHeapSnapshot"));
  EXPECT_THAT(names, ::testing::Contains("zzGotestrunHeapErr"));
  EXPECT_GE(names.size(), 10u);
  for (const std::string& name : names) EXPECT_TRUE(name.starts_with("zzGotestrunHeap")) << name;
}

TEST(OverlayJsonTest, Shape) {
  const std::string json = OverlayJson({{"/m/a/zz_gotestrun_heap_test.go", "/o/a.go"}});
  const nlohmann::json parsed = nlohmann::json::parse(json);
  EXPECT_EQ(parsed, nlohmann::json::parse(R"({"Replace": {"/m/a/zz_gotestrun_heap_test.go": "/o/a.go"}})"));
  EXPECT_EQ(nlohmann::json::parse(OverlayJson({})), nlohmann::json::parse(R"({"Replace": {}})"));
}

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "agent-overlay-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(WriteHeapOverlayTest, WritesOneFilePerPackageWithTests) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/overlay";
  StatusOr<HeapOverlay> overlay =
      WriteHeapOverlay({Package("a", {"a_test.go"}, {}), Package("b", {}, {"b_test.go"}), Package("c", {}, {})}, dir);
  ASSERT_TRUE(overlay.ok()) << overlay.status();
  EXPECT_EQ(overlay->overlay_json_path, dir + "/overlay.json");
  EXPECT_THAT(overlay->packages, ElementsAre("example.com/m/a", "example.com/m/b"));

  StatusOr<std::string> json = ReadFile(overlay->overlay_json_path);
  ASSERT_TRUE(json.ok()) << json.status();
  const nlohmann::json replace = nlohmann::json::parse(*json).at("Replace");
  ASSERT_EQ(replace.size(), 2u);
  const std::string a_source = replace.at("/m/a/zz_gotestrun_heap_test.go");
  const std::string b_source = replace.at("/m/b/zz_gotestrun_heap_test.go");
  EXPECT_EQ(a_source, dir + "/example.com_m_a.go");
  StatusOr<std::string> a = ReadFile(a_source);
  StatusOr<std::string> b = ReadFile(b_source);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_THAT(*a, HasSubstr("\npackage a\n"));
  EXPECT_THAT(*b, HasSubstr("\npackage b_test\n"));
}

TEST(WriteHeapOverlayTest, NoPackageWithTestsMeansNoOverlay) {
  TempDir tmp;
  StatusOr<HeapOverlay> overlay = WriteHeapOverlay({Package("c", {}, {})}, tmp.path() + "/overlay");
  ASSERT_TRUE(overlay.ok()) << overlay.status();
  EXPECT_THAT(overlay->overlay_json_path, IsEmpty());
  EXPECT_THAT(overlay->packages, IsEmpty());
}

TEST(WriteHeapOverlayTest, UnwritableFolder) {
  EXPECT_FALSE(WriteHeapOverlay({Package("a", {"a_test.go"}, {})}, "/nonexistent/parent/overlay").ok());
}

}  // namespace
}  // namespace gotestrun::agent
