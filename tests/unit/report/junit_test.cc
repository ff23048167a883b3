#include "report/junit.h"

#include <filesystem>
#include <map>
#include <regex>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/report/test_runs.h"
#include "tests/unit/report/xml_reader.h"

namespace gotestrun::report {
namespace {

using ::testing::HasSubstr;
using testing::HostileRun;
using testing::kHostilePackage;
using ::testing::Not;
using testing::TestRunDir;
using testing::XmlElement;
using testing::XmlReader;

const std::string kMod = "gotestrun.dev/fixtures/memory/";

std::unique_ptr<XmlElement> Parse(const std::string& xml) {
  std::string error;
  auto root = XmlReader::Parse(xml, &error);
  EXPECT_NE(root, nullptr) << error << "\n" << xml;
  return root;
}

int Int(const XmlElement& e, const std::string& attr) { return std::stoi(e.Attr(attr)); }

// Checks the counts of every testsuite against its testcases, and of the root against
// the testsuites, as JUnit consumers read them.
void ExpectConsistentCounts(const XmlElement& root) {
  ASSERT_EQ(root.name, "testsuites");
  int tests = 0, failures = 0, errors = 0, skipped = 0;
  for (const XmlElement* suite : root.Children("testsuite")) {
    SCOPED_TRACE(suite->Attr("name"));
    int f = 0, e = 0, s = 0;
    auto cases = suite->Children("testcase");
    for (const XmlElement* c : cases) {
      EXPECT_FALSE(c->Attr("name").empty());
      EXPECT_EQ(c->Attr("classname"), suite->Attr("name"));
      EXPECT_FALSE(c->Attr("time").empty());
      f += !c->Children("failure").empty();
      e += !c->Children("error").empty();
      s += !c->Children("skipped").empty();
      for (const auto& child : c->children) {
        EXPECT_TRUE(child->name == "failure" || child->name == "error" || child->name == "skipped") << child->name;
      }
    }
    EXPECT_EQ(Int(*suite, "tests"), static_cast<int>(cases.size()));
    EXPECT_EQ(Int(*suite, "failures"), f);
    EXPECT_EQ(Int(*suite, "errors"), e);
    EXPECT_EQ(Int(*suite, "skipped"), s);
    // junit-10.xsd's order: properties, testcases, system-out.
    std::string order;
    for (const auto& child : suite->children)
      order += child->name == "properties" ? "p" : child->name == "testcase" ? "t" : "o";
    EXPECT_TRUE(std::regex_match(order, std::regex("p?t*o?"))) << order;
    tests += Int(*suite, "tests");
    failures += f;
    errors += e;
    skipped += s;
  }
  EXPECT_EQ(Int(root, "tests"), tests);
  EXPECT_EQ(Int(root, "failures"), failures);
  EXPECT_EQ(Int(root, "errors"), errors);
  EXPECT_EQ(Int(root, "skipped"), skipped);
}

std::map<std::string, const XmlElement*> Suites(const XmlElement& root) {
  std::map<std::string, const XmlElement*> out;
  for (const XmlElement* s : root.Children("testsuite")) out[s->Attr("name")] = s;
  return out;
}

const XmlElement* Case(const XmlElement& suite, const std::string& name) {
  for (const XmlElement* c : suite.Children("testcase")) {
    if (c->Attr("name") == name) return c;
  }
  return nullptr;
}

TEST(RenderJUnit, TheTestRunReadsBack) {
  auto run = LoadRunFolder(TestRunDir());
  ASSERT_TRUE(run.ok()) << run.status();
  std::string xml = RenderJUnit(*run);
  auto root = Parse(xml);
  ASSERT_NE(root, nullptr);
  ExpectConsistentCounts(*root);
  EXPECT_EQ(root->Attr("name"), "ledger");
  EXPECT_EQ(Int(*root, "tests"), 32);
  EXPECT_EQ(Int(*root, "failures"), 2);
  EXPECT_EQ(Int(*root, "errors"), 0);
  EXPECT_EQ(Int(*root, "skipped"), 1);

  auto suites = Suites(*root);
  ASSERT_EQ(suites.size(), 5u);
  // One suite per package, from the last attempt that ran it.
  const XmlElement* spike = suites.at(kMod + "parallelspike");
  EXPECT_EQ(Int(*spike, "tests"), 17);
  EXPECT_EQ(Int(*spike, "failures"), 0);
  EXPECT_EQ(spike->Attr("time"), "2.491");
  EXPECT_EQ(spike->Attr("timestamp"), "2026-11-28T10:00:12");
  ASSERT_NE(Case(*spike, "TestBatch/07"), nullptr);
  EXPECT_EQ(Case(*spike, "TestBatch/07")->Attr("time"), "0.300");

  const XmlElement* b = suites.at(kMod + "clean/b");
  const XmlElement* failed = Case(*b, "TestSlugUnicode");
  ASSERT_NE(failed, nullptr);
  ASSERT_NE(failed->Child("failure"), nullptr);
  EXPECT_EQ(failed->Child("failure")->Attr("type"), "TestFailed");
  EXPECT_THAT(failed->Child("failure")->text, HasSubstr("Slug(\"Cr\xC3\xA8me <br\xC3\xBBl\xC3\xA9"
                                                        "e>\")"));
  ASSERT_NE(Case(*b, "TestSlugLong"), nullptr);
  ASSERT_NE(Case(*b, "TestSlugLong")->Child("skipped"), nullptr);
  EXPECT_EQ(Case(*b, "TestSlugLong")->Child("skipped")->Attr("message"), "b_test.go:30: needs -long");
  ASSERT_NE(b->Child("system-out"), nullptr);
  EXPECT_THAT(b->Child("system-out")->text, HasSubstr("FAIL\t" + kMod + "clean/b"));
}

// Attempt folders that status.yaml does not list (row 10: failures="4" for a run that
// exited 0, "all passed"): the JUnit file says what the status says.
TEST(RenderJUnit, OnlyTheAttemptsTheStatusListsCount) {
  auto original = LoadRunFolder(TestRunDir());
  ASSERT_TRUE(original.ok()) << original.status();
  testing::TempDir tmp;
  std::string dir = testing::CopyTestRun(tmp);
  // parallelspike's OOM-killed attempt again as a later s1/a3, and a shard the status
  // never had, both with evidence of kills.
  std::filesystem::copy(dir + "/s1/a1", dir + "/s1/a3", std::filesystem::copy_options::recursive);
  std::filesystem::create_directories(dir + "/s7");
  std::filesystem::copy(dir + "/s0/a1", dir + "/s7/a1", std::filesystem::copy_options::recursive);
  auto run = LoadRunFolder(dir);
  ASSERT_TRUE(run.ok()) << run.status();
  auto root = Parse(RenderJUnit(*run)), expected = Parse(RenderJUnit(*original));
  ASSERT_NE(root, nullptr);
  ASSERT_NE(expected, nullptr);
  ExpectConsistentCounts(*root);
  for (const char* count : {"tests", "failures", "errors", "skipped"}) {
    EXPECT_EQ(Int(*root, count), Int(*expected, count)) << count;
  }
  EXPECT_EQ(Int(*Suites(*root).at(kMod + "parallelspike"), "failures"), 0);
  EXPECT_EQ(RenderJUnit(*run), RenderJUnit(*original));
}

TEST(RenderJUnit, AnOomKilledPackageThatNeverPassedFails) {
  auto run = LoadRunFolder(TestRunDir());
  ASSERT_TRUE(run.ok()) << run.status();
  auto root = Parse(RenderJUnit(*run));
  ASSERT_NE(root, nullptr);
  const XmlElement* leak = Suites(*root).at(kMod + "leak");
  EXPECT_EQ(Int(*leak, "tests"), 7);  // the 6 tests that passed before the kill, and the one it cut short
  EXPECT_EQ(Int(*leak, "failures"), 1);
  const XmlElement* killed = Case(*leak, "TestReports");
  ASSERT_NE(killed, nullptr);
  const XmlElement* failure = killed->Child("failure");
  ASSERT_NE(failure, nullptr);
  EXPECT_EQ(failure->Attr("type"), "OOMKilled");
  EXPECT_EQ(failure->Attr("message"), run->diagnoses[0].summary);
  EXPECT_THAT(failure->text, HasSubstr("cause: LeakAcrossTests"));
  EXPECT_THAT(failure->text, HasSubstr("live heap after each test"));
  EXPECT_THAT(failure->text, HasSubstr(kMod + "leak.remember"));
  // The properties say where and how.
  std::map<std::string, std::string> props;
  for (const XmlElement* p : leak->Child("properties")->Children("property")) props[p->Attr("name")] = p->Attr("value");
  EXPECT_EQ(props["gotestrun.outcome"], "OOMKilled");
  EXPECT_EQ(props["gotestrun.attempt"], "s0/a3");
  EXPECT_EQ(props["gotestrun.memory"], "320Mi");
  EXPECT_EQ(props["gotestrun.cause"], "LeakAcrossTests");
  // parallelspike was killed in s1/a1 but passed in s1/a2: no failure.
  EXPECT_EQ(Int(*Suites(*root).at(kMod + "parallelspike"), "failures"), 0);
}

TEST(RenderJUnit, AKillWithoutARunningTestGetsItsOwnTestcase) {
  LoadedRun run = HostileRun();
  // No events at all: the container died before go test said anything.
  run.shards[0].attempts[0].evidence.has_events = false;
  run.shards[0].attempts[0].evidence.events = {};
  auto root = Parse(RenderJUnit(run));
  ASSERT_NE(root, nullptr);
  ExpectConsistentCounts(*root);
  const XmlElement* suite = root->Child("testsuite");
  ASSERT_NE(suite, nullptr);
  const XmlElement* c = Case(*suite, "[OOM killed]");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->Child("failure")->Attr("type"), "OOMKilled");
}

TEST(RenderJUnit, AFailedPackageWithoutEvidenceStillFails) {
  LoadedRun run;
  run.name = "r";
  run.packages.push_back({"example.com/a", "TestsFailed", 1, 0, {}});
  run.packages.push_back({"example.com/b", "Succeeded", 1, 0, {}});
  run.packages.push_back({"example.com/c", "OOMKilled", 2, 0, {}});
  auto root = Parse(RenderJUnit(run));
  ASSERT_NE(root, nullptr);
  ExpectConsistentCounts(*root);
  auto suites = Suites(*root);
  EXPECT_EQ(Int(*suites.at("example.com/a"), "failures"), 1);
  EXPECT_EQ(Case(*suites.at("example.com/a"), "[TestsFailed]")->Child("failure")->Attr("type"), "TestsFailed");
  EXPECT_EQ(Int(*suites.at("example.com/b"), "tests"), 0);
  EXPECT_EQ(Int(*suites.at("example.com/c"), "failures"), 1);
}

TEST(RenderJUnit, HostileNamesAndOutputStayWellFormed) {
  LoadedRun run = HostileRun();
  std::string xml = RenderJUnit(run);
  EXPECT_THAT(xml, Not(HasSubstr("<script>")));
  EXPECT_THAT(xml, Not(HasSubstr("\x1b")));
  auto root = Parse(xml);  // fails on a forbidden character, bad UTF-8 or broken markup
  ASSERT_NE(root, nullptr);
  ExpectConsistentCounts(*root);
  const XmlElement* suite = root->Child("testsuite");
  ASSERT_NE(suite, nullptr);
  EXPECT_EQ(suite->Attr("name"), kHostilePackage);
  EXPECT_EQ(Int(*suite, "tests"), 2);
  EXPECT_EQ(Int(*suite, "failures"), 1);
  const XmlElement* killed = Case(*suite, testing::kHostileTest);
  ASSERT_NE(killed, nullptr);
  EXPECT_EQ(killed->Child("failure")->Attr("type"), "OOMKilled");
  EXPECT_THAT(killed->Child("failure")->Attr("message"), HasSubstr("killed </script><!-- <script>alert(3)</script>"));
}

TEST(RenderJUnit, SameRunSameBytes) {
  auto run = LoadRunFolder(TestRunDir());
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(RenderJUnit(*run), RenderJUnit(*run));
}

}  // namespace
}  // namespace gotestrun::report
