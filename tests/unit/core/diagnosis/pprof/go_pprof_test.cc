// The reader against `go tool pprof` on real Go heap profiles. testdata/regenerate.sh
// writes the profiles (tests/fixtures/heapgen) and pprof's -top output for each; these
// tests parse that output and expect the same figures, so they need no Go to run.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "core/diagnosis/pprof/heap_profile.h"
#include "tests/unit/core/diagnosis/pprof/profile_builder.h"

namespace gotestrun::pprof {
namespace {

using testing::ReadTestdata;

// One row of `go tool pprof -top -unit=B`.
struct PprofRow {
  std::string name;  // with -lines: "function file:line"
  Inlining inlining = Inlining::kNone;
  int64_t flat = 0;
  int64_t cum = 0;
};

struct PprofTop {
  std::string type;
  int64_t total = 0;
  std::vector<PprofRow> rows;
};

// "4196096B" or "0".
int64_t ParseValue(const std::string& s) {
  std::string digits = s;
  if (!digits.empty() && digits.back() == 'B') digits.pop_back();
  size_t used = 0;
  int64_t v = std::stoll(digits, &used);
  if (used != digits.size()) throw std::runtime_error("not a plain value: " + s);
  return v;
}

PprofTop ParsePprofTop(const std::string& text) {
  PprofTop top;
  std::istringstream in(text);
  std::string line;
  bool in_rows = false;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::vector<std::string> words;
    for (std::string w; fields >> w;) words.push_back(w);
    if (words.empty()) continue;
    if (!in_rows) {
      if (words[0] == "Type:") top.type = words[1];
      // "Showing nodes accounting for 4359904B, 100% of 4359904B total"
      if (words[0] == "Showing" && words.size() == 9) top.total = ParseValue(words[7]);
      if (words.size() == 5 && words[0] == "flat" && words[1] == "flat%") in_rows = true;
      continue;
    }
    if (words.size() < 6) throw std::runtime_error("unexpected pprof row: " + line);
    PprofRow row;
    row.flat = ParseValue(words[0]);
    row.cum = ParseValue(words[3]);
    size_t end = words.size();
    if (words.back() == "(inline)") {
      row.inlining = Inlining::kInline;
      --end;
    } else if (words.back() == "(partial-inline)") {
      row.inlining = Inlining::kPartialInline;
      --end;
    }
    for (size_t i = 5; i < end; ++i) row.name += (i > 5 ? " " : "") + words[i];
    top.rows.push_back(row);
  }
  if (!in_rows || top.type.empty()) throw std::runtime_error("not pprof -top output");
  return top;
}

HeapProfile MustParse(const std::string& file) {
  StatusOr<HeapProfile> p = ParseHeapProfile(ReadTestdata(file));
  EXPECT_TRUE(p.ok()) << file << ": " << p.status();
  if (!p.ok()) std::abort();
  return std::move(p).value();
}

const char* InliningName(Inlining i) {
  switch (i) {
    case Inlining::kNone: return "none";
    case Inlining::kInline: return "inline";
    case Inlining::kPartialInline: return "partial-inline";
  }
  return "?";
}

const std::vector<std::string> kProfiles = {"basic", "grow_before", "grow_after", "sampled"};
const std::vector<std::string> kTypes = {"alloc_objects", "alloc_space", "inuse_objects", "inuse_space"};

class MatchesGoPprof : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {};

TEST_P(MatchesGoPprof, TopFunctions) {
  const auto& [profile, type] = GetParam();
  PprofTop want = ParsePprofTop(ReadTestdata(profile + "." + type + ".top.txt"));
  ASSERT_EQ(want.type, type);
  ASSERT_FALSE(want.rows.empty());

  HeapProfile p = MustParse(profile + ".pb.gz");
  StatusOr<TopReport> got = TopFunctions(p, type, SIZE_MAX);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->total, want.total);
  ASSERT_EQ(got->function_count, want.rows.size());
  ASSERT_EQ(got->functions.size(), want.rows.size());
  // Same functions, same figures, same order.
  for (size_t i = 0; i < want.rows.size(); ++i) {
    const FunctionCost& g = got->functions[i];
    const PprofRow& w = want.rows[i];
    EXPECT_EQ(g.name, w.name) << "row " << i;
    EXPECT_EQ(g.flat, w.flat) << w.name;
    EXPECT_EQ(g.cum, w.cum) << w.name;
    EXPECT_STREQ(InliningName(g.inlining), InliningName(w.inlining)) << w.name;
  }

  // The top N is the first N of the whole list.
  StatusOr<TopReport> top3 = TopFunctions(p, type, 3);
  ASSERT_TRUE(top3.ok());
  ASSERT_EQ(top3->functions.size(), std::min<size_t>(3, want.rows.size()));
  for (size_t i = 0; i < top3->functions.size(); ++i) EXPECT_EQ(top3->functions[i].name, want.rows[i].name);

  // pprof's total is the sum over samples, which the profile keeps per type.
  EXPECT_EQ(p.totals()[*p.SampleTypeIndex(type)], want.total);
}

INSTANTIATE_TEST_SUITE_P(Profiles, MatchesGoPprof,
                         ::testing::Combine(::testing::ValuesIn(kProfiles), ::testing::ValuesIn(kTypes)),
                         [](const auto& test) { return std::get<0>(test.param) + "_" + std::get<1>(test.param); });

// Rows of `pprof -top -lines`, keyed by function, then "file:line".
struct LineCost {
  std::string function;
  std::string filename;
  int64_t line = 0;
  int64_t flat = 0;
  int64_t cum = 0;
};

std::vector<LineCost> ParsePprofLines(const std::string& file) {
  std::vector<LineCost> out;
  for (const PprofRow& row : ParsePprofTop(ReadTestdata(file)).rows) {
    size_t space = row.name.rfind(' ');
    size_t colon = row.name.rfind(':');
    if (space == std::string::npos || colon == std::string::npos || colon < space) {
      throw std::runtime_error("unexpected -lines row: " + row.name);
    }
    out.push_back(LineCost{row.name.substr(0, space), row.name.substr(space + 1, colon - space - 1),
                           std::stoll(row.name.substr(colon + 1)), row.flat, row.cum});
  }
  return out;
}

class HottestLineMatchesGoPprof : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {};

// A function's hottest line is the line pprof -lines gives the most flat, or, for a
// function without flat, the most cum.
TEST_P(HottestLineMatchesGoPprof, ForEveryFunction) {
  const auto& [profile, type] = GetParam();
  std::vector<LineCost> lines = ParsePprofLines(profile + "." + type + ".lines.txt");
  HeapProfile p = MustParse(profile + ".pb.gz");
  StatusOr<TopReport> top = TopFunctions(p, type, SIZE_MAX);
  ASSERT_TRUE(top.ok()) << top.status();
  for (const FunctionCost& f : top->functions) {
    const LineCost* best = nullptr;
    const LineCost* ours = nullptr;
    for (const LineCost& l : lines) {
      if (l.function != f.name) continue;
      if (l.filename == f.hottest.filename && l.line == f.hottest.line) ours = &l;
      if (best == nullptr || (f.flat != 0 ? l.flat > best->flat : l.cum > best->cum)) best = &l;
    }
    ASSERT_NE(best, nullptr) << f.name;
    ASSERT_NE(ours, nullptr) << f.name << " " << f.hottest.filename << ":" << f.hottest.line;
    if (f.flat != 0) {
      EXPECT_EQ(ours->flat, best->flat) << f.name;
    } else {
      EXPECT_EQ(ours->cum, best->cum) << f.name;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Profiles, HottestLineMatchesGoPprof,
                         ::testing::Combine(::testing::ValuesIn(kProfiles),
                                            ::testing::Values("alloc_space", "inuse_space")),
                         [](const auto& test) { return std::get<0>(test.param) + "_" + std::get<1>(test.param); });

// What the fixture program did, checked without pprof.
TEST(GoHeapProfile, BasicHasTheKnownAllocations) {
  HeapProfile p = MustParse("basic.pb.gz");
  ASSERT_EQ(p.sample_types().size(), 4u);
  EXPECT_EQ(p.sample_types()[3].type, "inuse_space");
  EXPECT_EQ(p.sample_types()[3].unit, "bytes");
  EXPECT_EQ(p.period_type().type, "space");
  EXPECT_EQ(p.period(), 1);  // runtime.MemProfileRate = 1: every allocation recorded.
  EXPECT_GT(p.time_nanos(), 0);

  StatusOr<TopReport> top = TopFunctions(p, kInuseSpace, 1);
  ASSERT_TRUE(top.ok());
  ASSERT_EQ(top->functions.size(), 1u);
  const FunctionCost& large = top->functions[0];
  EXPECT_EQ(large.name, "main.allocLargeSlices");  // 64 blocks of 64 KiB, kept
  EXPECT_GE(large.flat, 64 * 65536);
  EXPECT_LT(large.flat, 64 * 65536 + 4096);  // plus the slice holding them
  EXPECT_EQ(large.hottest.filename, "gotestrun.dev/tests/fixtures/heapgen/main.go");

  std::map<std::string, FunctionCost> by_name;
  StatusOr<TopReport> all = TopFunctions(p, kAllocSpace, SIZE_MAX);
  ASSERT_TRUE(all.ok());
  for (const FunctionCost& f : all->functions) by_name[f.name] = f;
  EXPECT_EQ(by_name["main.churn"].flat, 1000 * 1024);  // garbage: allocated...
  StatusOr<TopReport> inuse = TopFunctions(p, kInuseSpace, SIZE_MAX);
  ASSERT_TRUE(inuse.ok());
  for (const FunctionCost& f : inuse->functions) EXPECT_NE(f.name, "main.churn");  // ...and not kept
  EXPECT_EQ(by_name["main.newBuffer"].inlining, Inlining::kInline);
  EXPECT_EQ(by_name["main.newBuffer"].flat, 10 * 3072);  // 3000 bytes round up to a 3072-byte size class
  EXPECT_EQ(by_name["main.recurse"].cum, by_name["main.recurse"].flat);  // recursion counted once
}

// The diff of two snapshots, against pprof's per-line flat figures for each.
TEST(GoHeapProfile, DiffFindsTheGrowingCache) {
  HeapProfile before = MustParse("grow_before.pb.gz");
  HeapProfile after = MustParse("grow_after.pb.gz");
  StatusOr<HeapDiff> diff = DiffAllocationSites(before, after);
  ASSERT_TRUE(diff.ok()) << diff.status();

  std::map<std::tuple<std::string, std::string, int64_t>, std::pair<int64_t, int64_t>> want;
  for (const LineCost& l : ParsePprofLines("grow_before.inuse_space.lines.txt")) {
    if (l.flat != 0) want[{l.function, l.filename, l.line}].first = l.flat;
  }
  for (const LineCost& l : ParsePprofLines("grow_after.inuse_space.lines.txt")) {
    if (l.flat != 0) want[{l.function, l.filename, l.line}].second = l.flat;
  }
  size_t grown = 0;
  for (const auto& [site, values] : want) grown += values.second > values.first ? 1 : 0;
  ASSERT_EQ(diff->grown.size(), grown);
  for (const SiteGrowth& g : diff->grown) {
    auto it = want.find({g.function, g.filename, g.line});
    ASSERT_NE(it, want.end()) << g.function << " " << g.filename << ":" << g.line;
    EXPECT_EQ(g.before, it->second.first) << g.function;
    EXPECT_EQ(g.after, it->second.second) << g.function;
    EXPECT_EQ(g.growth, g.after - g.before);
  }
  for (size_t i = 1; i < diff->grown.size(); ++i) EXPECT_GE(diff->grown[i - 1].growth, diff->grown[i].growth);

  // leakyCache kept 400 more blocks of 8 KiB; growBuffers is new; allocLargeSlices shrank.
  ASSERT_GE(diff->grown.size(), 2u);
  EXPECT_EQ(diff->grown[0].function, "main.leakyCache");
  EXPECT_GE(diff->grown[0].growth, 400 * 8192);
  EXPECT_EQ(diff->grown[1].function, "main.growBuffers");
  EXPECT_EQ(diff->grown[1].before, 0);
  for (const SiteGrowth& g : diff->grown) EXPECT_NE(g.function, "main.allocLargeSlices");
  StatusOr<HeapDiff> by_function = DiffAllocationSites(before, after, DiffOptions{kInuseSpace, false, 1});
  ASSERT_TRUE(by_function.ok());
  ASSERT_EQ(by_function->grown.size(), 1u);
  EXPECT_EQ(by_function->grown[0].function, "main.leakyCache");
}

}  // namespace
}  // namespace gotestrun::pprof
