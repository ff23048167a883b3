// The HTML report opened in a real browser: Debian's chromium, headless. Proves that
// the page's script ran and drew every chart (the DOM after load has the SVG), that
// the diagnosis is shown, and leaves a screenshot beside the test binary to look at.
//
// chromium is a dependency of the tests (scripts/install-deps.sh installs it); when it
// is missing the test fails rather than skips, so CI cannot go green without it.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include "base/files.h"
#include "report/html.h"
#include "report/junit.h"
#include "report/run_folder.h"

extern char** environ;

namespace gotestrun::report {
namespace {

using ::testing::HasSubstr;

const std::string kArtifacts = GTR_REPORT_ARTIFACTS;
const std::string kTestRun = std::string(GTR_REPORT_TESTDATA) + "/run";

std::optional<std::string> FindChromium() {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  for (const char* name : {"chromium", "chromium-browser"}) {
    std::size_t start = 0;
    while (start <= dirs.size()) {
      std::size_t end = dirs.find(':', start);
      if (end == std::string::npos) end = dirs.size();
      std::string candidate = dirs.substr(start, end - start) + "/" + name;
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
      start = end + 1;
    }
  }
  return std::nullopt;
}

struct Finished {
  int status = -1;
  bool timed_out = false;
  std::string out;
  std::string err;
};

// Runs argv with stdout and stderr in files of their own (chromium logs to stderr;
// --dump-dom writes the DOM to stdout), in a process group of its own so that a
// timeout ends chromium's helper processes too.
Finished RunCommand(const std::vector<std::string>& argv, const std::string& name, std::chrono::seconds timeout) {
  Finished ran;
  std::string out_path = kArtifacts + "/" + name + ".stdout", err_path = kArtifacts + "/" + name + ".stderr";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, args[0], &actions, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    ran.err = std::string("spawn ") + argv[0] + ": " + std::strerror(rc);
    return ran;
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) {
      ran.status = status;
      break;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      ran.timed_out = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(-pid, SIGKILL);  // helpers left behind, if any
  auto out = ReadFile(out_path, 64 << 20);
  auto err = ReadFile(err_path, 64 << 20);
  ran.out = out.ok() ? *out : "";
  ran.err = err.ok() ? *err : "";
  return ran;
}

std::vector<std::string> ChromiumArgs(const std::string& chromium, const std::string& profile) {
  return {chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
          "--user-data-dir=" + profile,
          // Nothing in the page may come from the network; make sure nothing can.
          "--host-resolver-rules=MAP * ~NOTFOUND"};
}

// Each element that opens with `open_tag_prefix`, up to its closing tag.
std::vector<std::string> Elements(const std::string& dom, const std::string& open_tag_prefix,
                                  const std::string& close) {
  std::vector<std::string> out;
  for (std::size_t at = dom.find(open_tag_prefix); at != std::string::npos; at = dom.find(open_tag_prefix, at + 1)) {
    std::size_t end = dom.find(close, at);
    out.push_back(dom.substr(at, end == std::string::npos ? std::string::npos : end + close.size() - at));
  }
  return out;
}

std::size_t Count(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1)) ++n;
  return n;
}

std::string AttrOf(const std::string& element, const std::string& name) {
  std::smatch m;
  std::regex re(" " + name + "=\"([^\"]*)\"");
  std::string open = element.substr(0, element.find('>'));
  return std::regex_search(open, m, re) ? m[1].str() : std::string();
}

// A PNG of the given size whose pixels are not all alike: decodes the header and
// inflates the image data, and counts the distinct (filtered) scanlines.
void ExpectNonTrivialPng(const std::string& png, std::uint32_t width, std::uint32_t height) {
  ASSERT_GT(png.size(), 8u + 25u);
  ASSERT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  auto be32 = [&](std::size_t at) {
    return (std::uint32_t{static_cast<unsigned char>(png[at])} << 24) |
           (std::uint32_t{static_cast<unsigned char>(png[at + 1])} << 16) |
           (std::uint32_t{static_cast<unsigned char>(png[at + 2])} << 8) |
           std::uint32_t{static_cast<unsigned char>(png[at + 3])};
  };
  ASSERT_EQ(png.substr(12, 4), "IHDR");
  EXPECT_EQ(be32(16), width);
  EXPECT_EQ(be32(20), height);
  const int bit_depth = static_cast<unsigned char>(png[24]), color_type = static_cast<unsigned char>(png[25]);
  ASSERT_EQ(bit_depth, 8);
  ASSERT_TRUE(color_type == 2 || color_type == 6) << color_type;
  const std::size_t bpp = color_type == 6 ? 4 : 3;
  std::string idat;
  for (std::size_t at = 8; at + 12 <= png.size();) {
    std::uint32_t len = be32(at);
    if (png.substr(at + 4, 4) == "IDAT") idat += png.substr(at + 8, len);
    at += 12 + len;
  }
  std::string raw(static_cast<std::size_t>(height) * (1 + width * bpp), '\0');
  uLongf raw_len = raw.size();
  ASSERT_EQ(uncompress(reinterpret_cast<Bytef*>(raw.data()), &raw_len, reinterpret_cast<const Bytef*>(idat.data()),
                       idat.size()),
            Z_OK);
  ASSERT_EQ(raw_len, raw.size());
  std::set<std::string> rows;
  const std::size_t stride = 1 + width * bpp;
  for (std::size_t y = 0; y < height; ++y) rows.insert(raw.substr(y * stride, stride));
  // A blank or single-colour page has a handful of distinct rows; text and charts give hundreds.
  EXPECT_GT(rows.size(), 300u);
}

class ReportInChromium : public ::testing::Test {
 protected:
  void SetUp() override {
    std::optional<std::string> found = FindChromium();
    ASSERT_TRUE(found.has_value())
        << "chromium is not installed: the report's browser test needs it. Run scripts/install-deps.sh "
           "(it installs Debian's chromium package).";
    chromium_ = *found;
    std::filesystem::create_directories(kArtifacts);
    auto run = LoadRunFolder(kTestRun);
    ASSERT_TRUE(run.ok()) << run.status();
    ASSERT_TRUE(run->skipped.empty());
    run_ = std::move(run).value();
    html_path_ = kArtifacts + "/report.html";
    ASSERT_TRUE(WriteFileAtomic(html_path_, RenderHtmlReport(run_)).ok());
    ASSERT_TRUE(WriteFileAtomic(kArtifacts + "/junit.xml", RenderJUnit(run_)).ok());
    profile_ = kArtifacts + "/chromium-profile";
    std::filesystem::remove_all(profile_);
  }

  std::string chromium_;
  LoadedRun run_;
  std::string html_path_;
  std::string profile_;
};

TEST_F(ReportInChromium, TheScriptDrawsEveryChart) {
  std::vector<std::string> argv = ChromiumArgs(chromium_, profile_);
  argv.push_back("--dump-dom");
  argv.push_back("file://" + html_path_);
  Finished ran = RunCommand(argv, "dump-dom", std::chrono::seconds(120));
  ASSERT_FALSE(ran.timed_out) << ran.err;
  ASSERT_TRUE(WIFEXITED(ran.status) && WEXITSTATUS(ran.status) == 0) << "status " << ran.status << "\n" << ran.err;
  const std::string& dom = ran.out;
  ASSERT_THAT(dom, HasSubstr("</html>")) << ran.err;
  EXPECT_THAT(dom, HasSubstr("data-report-drawn=\"true\""));

  // Every chart's figure was drawn, with no error.
  std::vector<std::string> figures = Elements(dom, "<figure class=\"chart\"", "</figure>");
  ASSERT_EQ(figures.size(), 7u);  // the timeline, the peaks and five attempts
  for (const std::string& f : figures) {
    EXPECT_EQ(AttrOf(f, "data-drawn"), "true") << f.substr(0, 300);
    EXPECT_THAT(f, HasSubstr("<svg")) << f.substr(0, 300);
  }

  // Memory over time: a usage line and a limit for each attempt, the kill marked on the
  // four that were OOM-killed, one lane per test binary that left an exec record.
  std::vector<std::string> memory = Elements(dom, "<figure class=\"chart\" data-chart=\"memory\"", "</figure>");
  ASSERT_EQ(memory.size(), 5u);
  std::map<std::string, std::string> by_attempt;
  for (const std::string& f : memory) by_attempt[AttrOf(f, "data-attempt")] = f;
  const std::map<std::string, std::pair<int, int>> expected = {// kills, binaries
                                                               {"s0a1", {1, 2}},
                                                               {"s0a2", {1, 1}},
                                                               {"s0a3", {1, 0}},
                                                               {"s1a1", {1, 3}},
                                                               {"s1a2", {0, 1}}};
  for (const auto& [id, want] : expected) {
    SCOPED_TRACE(id);
    ASSERT_EQ(by_attempt.count(id), 1u);
    const std::string& f = by_attempt[id];
    EXPECT_GT(std::stoi(AttrOf(f, "data-samples")), 10);
    EXPECT_EQ(Count(f, "class=\"usage\""), 1u);
    EXPECT_EQ(Count(f, "class=\"usage-area\""), 1u);
    EXPECT_EQ(Count(f, "class=\"limit\""), 1u);
    EXPECT_EQ(AttrOf(f, "data-kills"), std::to_string(want.first));
    EXPECT_EQ(Count(f, "class=\"oom-mark\""), static_cast<std::size_t>(want.first));
    EXPECT_EQ(Count(f, "class=\"binary\""), static_cast<std::size_t>(want.second));
    EXPECT_GE(Count(f, "<path"), 4u);  // grid, axis, area, usage, limit
  }

  // The timeline: one bar per attempt; the peaks: one bar per package per attempt.
  std::string timeline = Elements(dom, "<figure class=\"chart\" data-chart=\"timeline\"", "</figure>").at(0);
  EXPECT_EQ(AttrOf(timeline, "data-attempts"), "5");
  EXPECT_EQ(Count(timeline, "class=\"attempt\""), 5u);
  std::string peaks = Elements(dom, "<figure class=\"chart\" data-chart=\"peaks\"", "</figure>").at(0);
  EXPECT_EQ(AttrOf(peaks, "data-bars"), "8");
  EXPECT_EQ(Count(peaks, "class=\"bar\""), 8u);
  EXPECT_EQ(Count(peaks, "class=\"limit-tick\""), 8u);

  // The diagnosis is on the page.
  EXPECT_THAT(dom, HasSubstr("<span class=\"cause-name\">LeakAcrossTests</span>"));
  EXPECT_THAT(dom, HasSubstr(run_.diagnoses.at(0).evidence.at(0)));
  EXPECT_THAT(dom, HasSubstr("gotestrun.dev/fixtures/memory/leak.remember"));
}

TEST_F(ReportInChromium, Screenshot) {
  const std::string png_path = kArtifacts + "/report.png";
  std::filesystem::remove(png_path);
  std::vector<std::string> argv = ChromiumArgs(chromium_, profile_);
  argv.push_back("--screenshot=" + png_path);
  argv.push_back("--window-size=1280,2000");
  argv.push_back("--hide-scrollbars");
  argv.push_back("file://" + html_path_);
  Finished ran = RunCommand(argv, "screenshot", std::chrono::seconds(120));
  ASSERT_FALSE(ran.timed_out) << ran.err;
  ASSERT_TRUE(WIFEXITED(ran.status) && WEXITSTATUS(ran.status) == 0) << "status " << ran.status << "\n" << ran.err;
  auto png = ReadFile(png_path, 64 << 20);
  ASSERT_TRUE(png.ok()) << png.status() << "\n" << ran.err;
  ExpectNonTrivialPng(*png, 1280, 2000);
  std::cout << "report: " << html_path_ << "\nscreenshot: " << png_path << "\njunit: " << kArtifacts << "/junit.xml\n";
}

}  // namespace
}  // namespace gotestrun::report
