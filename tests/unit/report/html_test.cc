#include "report/html.h"

#include <fstream>
#include <regex>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "report/escape.h"
#include "tests/unit/report/test_runs.h"

namespace gotestrun::report {
namespace {

using ::testing::HasSubstr;
using testing::HostileRun;
using testing::kHostileMessage;
using testing::kHostilePackage;
using testing::kHostileTest;
using ::testing::Not;
using testing::TestRunDir;

const std::string kMod = "gotestrun.dev/fixtures/memory/";
constexpr std::string_view kDataOpen = "<script type=\"application/json\" id=\"gtr-data\">";

std::size_t Count(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + needle.size()))
    ++n;
  return n;
}

// The JSON the page's script draws from.
nlohmann::json EmbeddedData(const std::string& html) {
  std::size_t open = html.find(kDataOpen);
  if (open == std::string::npos) return nullptr;
  std::size_t begin = open + kDataOpen.size();
  std::size_t end = html.find("</script>", begin);
  return nlohmann::json::parse(html.substr(begin, end - begin));
}

std::string Rendered() {
  auto run = LoadRunFolder(TestRunDir());
  EXPECT_TRUE(run.ok()) << run.status();
  return run.ok() ? RenderHtmlReport(*run) : std::string();
}

TEST(RenderHtmlReport, OneSelfContainedPage) {
  std::string html = Rendered();
  EXPECT_TRUE(html.starts_with("<!DOCTYPE html>"));
  EXPECT_TRUE(html.ends_with("</html>\n"));
  EXPECT_EQ(Count(html, "<style>"), 1u);
  EXPECT_EQ(Count(html, "<script"), 2u);  // the data and the drawing script, both inline
  EXPECT_THAT(html, HasSubstr("<noscript>"));
  // Nothing is loaded from elsewhere: no sources, links to other documents, imports or fonts.
  EXPECT_THAT(html, Not(HasSubstr(" src=")));
  EXPECT_THAT(html, Not(HasSubstr("<link")));
  EXPECT_THAT(html, Not(HasSubstr("@import")));
  EXPECT_THAT(html, Not(HasSubstr("url(")));
  EXPECT_THAT(html, Not(HasSubstr("@font-face")));
  EXPECT_THAT(html, Not(HasSubstr("href=\"http")));
  EXPECT_THAT(html, Not(HasSubstr("fetch(")));
  EXPECT_THAT(html, Not(HasSubstr("XMLHttpRequest")));
  // The only URL is the SVG namespace, an identifier that is never fetched.
  std::regex url("https?://[^\"' ]*");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), url); it != std::sregex_iterator(); ++it) {
    EXPECT_EQ(it->str(), "http://www.w3.org/2000/svg");
  }
  EXPECT_EQ(SanitizeText(html), html);  // valid UTF-8 throughout
}

TEST(RenderHtmlReport, ShowsTheRunTheDiagnosisAndTheCharts) {
  std::string html = Rendered();
  EXPECT_THAT(html, HasSubstr("<h1>ledger</h1>"));
  EXPECT_THAT(html, HasSubstr(">Failed</span>"));
  EXPECT_THAT(html, HasSubstr("2 of 5 package(s) failed"));
  EXPECT_THAT(html, HasSubstr("<span class=\"cause-name\">LeakAcrossTests</span>"));
  EXPECT_THAT(html, HasSubstr("live heap after each test"));
  EXPECT_THAT(html, HasSubstr("leak.remember"));
  EXPECT_THAT(html, HasSubstr("0004.pb.gz"));
  EXPECT_EQ(Count(html, "data-chart=\"timeline\""), 1u);
  EXPECT_EQ(Count(html, "data-chart=\"peaks\""), 1u);
  EXPECT_EQ(Count(html, "data-chart=\"memory\""), 5u);
  for (const char* id : {"s0a1", "s0a2", "s0a3", "s1a1", "s1a2"}) {
    EXPECT_THAT(html, HasSubstr(std::string("data-attempt=\"") + id + "\"")) << id;
    EXPECT_THAT(html, HasSubstr(std::string("id=\"") + id + "\"")) << id;
  }
  EXPECT_THAT(html, HasSubstr("No result.json"));  // s0/a3's container kill
}

TEST(RenderHtmlReport, EmbedsTheChartData) {
  nlohmann::json data = EmbeddedData(Rendered());
  ASSERT_TRUE(data.is_object());
  EXPECT_EQ(data["modulePrefix"], kMod);
  ASSERT_EQ(data["attempts"].size(), 5u);
  for (const nlohmann::json& a : data["attempts"]) {
    EXPECT_GT(a["samples"].size(), 10u) << a["id"];
    ASSERT_EQ(a["limits"].size(), 1u) << a["id"];
    EXPECT_EQ(a["kill"].is_null(), a["id"] == "s1a2") << a["id"];
  }
  const nlohmann::json& s0a1 = data["attempts"][0];
  EXPECT_EQ(s0a1["id"], "s0a1");
  EXPECT_EQ(s0a1["limits"][0][1], 192u << 20);
  EXPECT_EQ(s0a1["kill"]["package"], kMod + "leak");
  EXPECT_EQ(s0a1["kill"]["test"], "TestPayments");
  EXPECT_EQ(s0a1["binaries"].size(), 2u);
  // The peaks: one row per package, one bar per attempt that ran it.
  ASSERT_EQ(data["peaks"].size(), 5u);
  std::size_t bars = 0;
  for (const nlohmann::json& p : data["peaks"]) bars += p["runs"].size();
  EXPECT_EQ(bars, 8u);
  ASSERT_EQ(data["timeline"].size(), 2u);
  EXPECT_EQ(data["timeline"][0]["attempts"].size(), 3u);
  // Both shards started at 10:00:05; s0/a2 7 s later.
  EXPECT_EQ(data["timeline"][0]["attempts"][0]["start"], 0);
  EXPECT_EQ(data["timeline"][1]["attempts"][0]["start"], 0);
  EXPECT_EQ(data["timeline"][0]["attempts"][1]["start"], 7000);
}

TEST(RenderHtmlReport, SamplesAreMergedForLongAttemptsKeepingThePeak) {
  LoadedRun run = HostileRun();
  auto& samples = run.shards[0].attempts[0].evidence.memory.samples;
  samples.clear();
  for (int i = 0; i < 20000; ++i) samples.push_back({1000 + 200 * i, static_cast<std::uint64_t>(i % 977) << 10, {}});
  samples[12345].usage_bytes = 1ull << 33;
  nlohmann::json data = EmbeddedData(RenderHtmlReport(run));
  const nlohmann::json& points = data["attempts"][0]["samples"];
  EXPECT_LE(points.size(), 1600u);
  EXPECT_GT(points.size(), 400u);
  std::uint64_t peak = 0;
  for (const nlohmann::json& p : points) peak = std::max(peak, p[1].get<std::uint64_t>());
  EXPECT_EQ(peak, 1ull << 33);
}

TEST(RenderHtmlReport, EscapesEverythingFromTheRun) {
  std::string html = RenderHtmlReport(HostileRun());
  // Nothing from the run opens or closes an element.
  EXPECT_THAT(html, Not(HasSubstr("<img")));
  EXPECT_THAT(html, Not(HasSubstr("<svg onload")));
  EXPECT_THAT(html, Not(HasSubstr("<script>alert")));
  EXPECT_THAT(html, Not(HasSubstr("<b>bold")));
  EXPECT_THAT(html, Not(HasSubstr("<x>")));
  EXPECT_THAT(html, Not(HasSubstr("<!--")));
  EXPECT_EQ(Count(html, "<script"), 2u);
  EXPECT_EQ(Count(html, "</script>"), 2u);
  EXPECT_THAT(html, HasSubstr("&lt;img src=x onerror=alert(1)&gt;"));
  EXPECT_THAT(html, HasSubstr(HtmlEscape("evil.example/</script><script>alert(1)</script>/")));
  EXPECT_THAT(html, HasSubstr(HtmlEscape("p\"'&")));
  EXPECT_THAT(html, HasSubstr(HtmlEscape(kHostileTest)));
  EXPECT_THAT(html, HasSubstr("main.(*T).&lt;/script&gt;"));
  // Invalid UTF-8 and control characters are replaced; the page is valid UTF-8.
  EXPECT_EQ(SanitizeText(html), html);
  EXPECT_THAT(html, Not(HasSubstr("\x1b")));
  EXPECT_THAT(html, Not(HasSubstr("\x01")));
}

TEST(RenderHtmlReport, EscapesTheJsonInTheScript) {
  std::string html = RenderHtmlReport(HostileRun());
  std::size_t begin = html.find(kDataOpen) + kDataOpen.size();
  std::size_t end = html.find("</script>", begin);
  std::string script = html.substr(begin, end - begin);
  EXPECT_THAT(script, Not(HasSubstr("<")));
  EXPECT_THAT(script, Not(HasSubstr(">")));
  EXPECT_THAT(script, Not(HasSubstr("\xE2\x80\xA8")));
  EXPECT_THAT(script, Not(HasSubstr("\xE2\x80\xA9")));
  // JSON.parse gives back the names, the invalid bytes replaced.
  nlohmann::json data = nlohmann::json::parse(script);
  EXPECT_EQ(data["attempts"][0]["kill"]["package"], kHostilePackage);
  EXPECT_EQ(data["attempts"][0]["kill"]["test"], kHostileTest);
  EXPECT_EQ(data["attempts"][0]["binaries"][0]["package"], kHostilePackage);
  EXPECT_EQ(data["peaks"][0]["package"], kHostilePackage);
}

TEST(RenderHtmlReport, SameRunSameBytes) {
  auto run = LoadRunFolder(TestRunDir());
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(RenderHtmlReport(*run), RenderHtmlReport(*run));
}

TEST(RenderHtmlReport, AnEmptyRunStillRenders) {
  LoadedRun run;
  run.dir = "/tmp/x";
  run.name = "empty";
  std::string html = RenderHtmlReport(run);
  EXPECT_THAT(html, HasSubstr("<h1>empty</h1>"));
  EXPECT_THAT(html, HasSubstr("No status.yaml"));
  nlohmann::json data = EmbeddedData(html);
  EXPECT_TRUE(data["attempts"].empty());
  EXPECT_TRUE(data["peaks"].empty());
  EXPECT_TRUE(data["timeline"].empty());
}

}  // namespace
}  // namespace gotestrun::report

namespace gotestrun::report {
namespace {

// status.warnings, as `gotestrun run` writes them, read back from the rendered page.
TEST(RenderHtmlReport, ShowsThePackagesAtRiskFromTheStatus) {
  testing::TempDir tmp;
  const std::string dir = testing::CopyTestRun(tmp);
  {
    std::ofstream status(dir + "/status.yaml", std::ios::app);
    status << "warnings:\n"
              "- package: gotestrun.dev/fixtures/memory/clean/a\n"
              "  kind: NearLimit\n"
              "  message: passed at 96% of its 320Mi limit (peak 307Mi) <close>\n"
              "  attempt: s0/a1\n"
              "- package: gotestrun.dev/fixtures/memory/leak\n"
              "  kind: LeakAcrossTests\n"
              "  message: the live heap grew ~40 MiB per test over 7 tests\n";
  }
  auto run = LoadRunFolder(dir);
  ASSERT_TRUE(run.ok()) << run.status();
  ASSERT_EQ(run->warnings.size(), 2u);
  const std::string html = RenderHtmlReport(*run);
  const std::size_t section = html.find("<section id=\"warnings\">");
  ASSERT_NE(section, std::string::npos);
  const std::string part = html.substr(section, html.find("</section>", section) - section);
  EXPECT_THAT(part, HasSubstr("At risk (passed)"));
  EXPECT_THAT(part, HasSubstr(">NearLimit<"));
  EXPECT_THAT(part, HasSubstr("passed at 96% of its 320Mi limit (peak 307Mi) &lt;close&gt;"));
  EXPECT_THAT(part, HasSubstr(">s0/a1<"));
  EXPECT_THAT(part, HasSubstr(">LeakAcrossTests<"));
  EXPECT_THAT(part, HasSubstr("~40 MiB per test over 7 tests"));
  EXPECT_THAT(html, HasSubstr("<a href=\"#warnings\">At risk</a>"));

  // A run without warnings has no such section.
  auto plain = LoadRunFolder(testing::TestRunDir());
  ASSERT_TRUE(plain.ok());
  EXPECT_THAT(RenderHtmlReport(*plain), Not(HasSubstr("id=\"warnings\"")));
}

}  // namespace
}  // namespace gotestrun::report
