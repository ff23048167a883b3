// Totals, TopFunctions and DiffAllocationSites on hand-built profiles whose
// answers can be worked out by hand.
#include <gtest/gtest.h>

#include <limits>
#include <map>
#include <string>
#include <vector>

#include "core/diagnosis/pprof/heap_profile.h"
#include "tests/unit/core/diagnosis/pprof/profile_builder.h"

namespace gotestrun::pprof {
namespace {

using testing::ProfileBuilder;

HeapProfile MustDecode(const ProfileBuilder& b) {
  StatusOr<HeapProfile> p = DecodeHeapProfile(b.Build());
  EXPECT_TRUE(p.ok()) << p.status();
  if (!p.ok()) std::abort();
  return std::move(p).value();
}

TopReport MustTop(const HeapProfile& p, std::string_view type, size_t n = SIZE_MAX) {
  StatusOr<TopReport> top = TopFunctions(p, type, n);
  EXPECT_TRUE(top.ok()) << top.status();
  if (!top.ok()) std::abort();
  return std::move(top).value();
}

std::map<std::string, FunctionCost> ByName(const TopReport& top) {
  std::map<std::string, FunctionCost> out;
  for (const FunctionCost& f : top.functions) out[f.name] = f;
  return out;
}

// Only inuse_space varies in these profiles; the other types mirror it.
std::vector<int64_t> Inuse(int64_t bytes) { return {1, bytes, 1, bytes}; }

TEST(TopFunctions, FlatGoesToTheLeafAndCumCountsRecursionOnce) {
  ProfileBuilder b;
  b.GoHeapHeader();
  b.Function(1, "main.main", "main.go").Function(2, "main.walk", "walk.go").Function(3, "main.visit", "visit.go");
  b.Location(1, {{1, 10}});
  b.Location(2, {{2, 20}});  // walk calls visit
  b.Location(3, {{3, 30}});  // visit calls walk
  b.Location(4, {{3, 31}});  // visit allocates
  // main -> walk -> visit -> walk -> visit(alloc)
  b.Sample({4, 2, 3, 2, 1}, Inuse(100));
  b.Sample({2, 1}, Inuse(0));  // zero: ignored for flat and cum
  b.Sample({1}, Inuse(7));     // main allocates itself
  HeapProfile p = MustDecode(b);

  TopReport top = MustTop(p, kInuseSpace);
  EXPECT_EQ(top.sample_type, "inuse_space");
  EXPECT_EQ(top.unit, "bytes");
  EXPECT_EQ(top.total, 107);
  EXPECT_EQ(top.function_count, 3u);
  ASSERT_EQ(top.functions.size(), 3u);
  EXPECT_EQ(top.functions[0].name, "main.visit");
  EXPECT_EQ(top.functions[0].flat, 100);
  EXPECT_EQ(top.functions[0].cum, 100);
  EXPECT_EQ(top.functions[0].hottest.filename, "visit.go");
  EXPECT_EQ(top.functions[0].hottest.line, 31);
  EXPECT_EQ(top.functions[1].name, "main.main");
  EXPECT_EQ(top.functions[1].flat, 7);
  EXPECT_EQ(top.functions[1].cum, 107);
  EXPECT_EQ(top.functions[2].name, "main.walk");
  EXPECT_EQ(top.functions[2].flat, 0);
  EXPECT_EQ(top.functions[2].cum, 100);
  // No flat: the hottest line is the call through which the cum flows.
  EXPECT_EQ(top.functions[2].hottest.line, 20);
  for (const FunctionCost& f : top.functions) EXPECT_EQ(f.inlining, Inlining::kNone) << f.name;
}

TEST(TopFunctions, CutsToNAndOrdersTiesByName) {
  ProfileBuilder b;
  b.GoHeapHeader();
  b.Function(1, "b.f", "b.go").Function(2, "a.f", "a.go").Function(3, "c.f", "c.go");
  b.Location(1, {{1, 1}}).Location(2, {{2, 1}}).Location(3, {{3, 1}});
  b.Sample({1}, Inuse(50)).Sample({2}, Inuse(50)).Sample({3}, Inuse(80));
  HeapProfile p = MustDecode(b);
  TopReport top = MustTop(p, kInuseSpace, 2);
  EXPECT_EQ(top.function_count, 3u);
  ASSERT_EQ(top.functions.size(), 2u);
  EXPECT_EQ(top.functions[0].name, "c.f");
  EXPECT_EQ(top.functions[1].name, "a.f");
  EXPECT_TRUE(MustTop(p, kInuseSpace, 0).functions.empty());
}

TEST(TopFunctions, MarksInlinedAndPartlyInlinedFunctions) {
  ProfileBuilder b;
  b.GoHeapHeader();
  b.Function(1, "main.main", "main.go").Function(2, "main.handle", "h.go").Function(3, "main.newBuf", "b.go");
  b.Location(1, {{1, 10}});
  b.Location(2, {{3, 5}, {2, 20}});  // newBuf inlined into handle
  b.Location(3, {{2, 21}});
  b.Location(4, {{3, 6}});  // newBuf called for real (not inlined)
  b.Sample({2, 1}, Inuse(10));
  HeapProfile only_inlined = MustDecode(b);
  auto top = ByName(MustTop(only_inlined, kInuseSpace));
  EXPECT_EQ(top["main.newBuf"].inlining, Inlining::kInline);
  EXPECT_EQ(top["main.handle"].inlining, Inlining::kNone);
  EXPECT_EQ(top["main.main"].inlining, Inlining::kNone);

  b.Sample({4, 1}, Inuse(5));  // main calls newBuf directly
  HeapProfile both = MustDecode(b);
  top = ByName(MustTop(both, kInuseSpace));
  EXPECT_EQ(top["main.newBuf"].inlining, Inlining::kPartialInline);
  EXPECT_EQ(top["main.newBuf"].flat, 15);
  EXPECT_EQ(top["main.newBuf"].hottest.line, 5);
  EXPECT_EQ(top["main.handle"].cum, 10);
  EXPECT_EQ(top["main.handle"].flat, 0);

  // An edge taken both inlined and not is not an inlined edge (pprof's Edge.Inline).
  ProfileBuilder c;
  c.GoHeapHeader();
  c.Function(1, "main.main", "main.go").Function(2, "main.small", "s.go");
  c.Location(1, {{2, 3}, {1, 10}});  // small inlined into main
  c.Location(2, {{2, 4}});
  c.Location(3, {{1, 11}});  // main calls small
  c.Sample({1}, Inuse(1)).Sample({2, 3}, Inuse(1));
  top = ByName(MustTop(MustDecode(c), kInuseSpace));
  EXPECT_EQ(top["main.small"].inlining, Inlining::kNone);

  // Inlined frames of a location in no counted sample do not count.
  ProfileBuilder d;
  d.GoHeapHeader();
  d.Function(1, "main.main", "main.go").Function(2, "main.small", "s.go");
  d.Location(1, {{2, 3}, {1, 10}}).Location(2, {{2, 4}}).Location(3, {{1, 11}});
  d.Sample({1}, Inuse(0)).Sample({2, 3}, Inuse(1));
  top = ByName(MustTop(MustDecode(d), kInuseSpace));
  EXPECT_EQ(top["main.small"].inlining, Inlining::kNone);
}

TEST(TopFunctions, AggregatesByNameAndLumpsFramesWithoutSymbols) {
  ProfileBuilder b;
  b.GoHeapHeader();
  // Two function records with one name (as after merging binaries) are one entry.
  b.Function(1, "main.f", "old.go").Function(2, "main.f", "new.go");
  b.Location(1, {{1, 3}}).Location(2, {{2, 4}}).Location(3, {}).Location(4, {});
  b.Sample({1}, Inuse(10)).Sample({2}, Inuse(30)).Sample({3, 1}, Inuse(5)).Sample({4}, Inuse(6));
  TopReport top = MustTop(MustDecode(b), kInuseSpace);
  auto by_name = ByName(top);
  ASSERT_EQ(by_name.size(), 2u);
  EXPECT_EQ(by_name["main.f"].flat, 40);
  EXPECT_EQ(by_name["main.f"].cum, 45);
  EXPECT_EQ(by_name["main.f"].hottest.filename, "new.go");
  EXPECT_EQ(by_name["main.f"].hottest.line, 4);
  EXPECT_EQ(by_name[""].flat, 11);
  EXPECT_EQ(by_name[""].cum, 11);
}

TEST(TopFunctions, EachSampleTypeAndAnUnknownOne) {
  ProfileBuilder b;
  b.GoHeapHeader();
  b.Function(1, "main.f", "f.go").Location(1, {{1, 1}});
  b.Sample({1}, {3, 300, 1, 100});
  HeapProfile p = MustDecode(b);
  EXPECT_EQ(MustTop(p, kAllocObjects).functions[0].flat, 3);
  EXPECT_EQ(MustTop(p, kAllocSpace).functions[0].flat, 300);
  EXPECT_EQ(MustTop(p, kInuseObjects).functions[0].flat, 1);
  EXPECT_EQ(MustTop(p, kInuseSpace).functions[0].flat, 100);
  EXPECT_EQ(MustTop(p, kInuseObjects).unit, "count");

  StatusOr<TopReport> cpu = TopFunctions(p, "cpu", 10);
  ASSERT_FALSE(cpu.ok());
  EXPECT_EQ(cpu.status().code(), StatusCode::kNotFound);
  EXPECT_NE(cpu.status().message().find("inuse_space"), std::string::npos) << cpu.status();
}

TEST(TopFunctions, SaturatesInsteadOfOverflowing) {
  const int64_t max = std::numeric_limits<int64_t>::max();
  const int64_t min = std::numeric_limits<int64_t>::min();
  ProfileBuilder b;
  b.GoHeapHeader();
  b.Function(1, "main.f", "f.go").Function(2, "main.g", "g.go");
  b.Location(1, {{1, 1}}).Location(2, {{2, 1}});
  b.Sample({1}, {max, max, max, max}).Sample({1}, {max, max, max, max});
  b.Sample({2}, {min, min, min, min}).Sample({2}, {min, min, min, min});
  HeapProfile p = MustDecode(b);
  auto top = ByName(MustTop(p, kInuseSpace));
  EXPECT_EQ(top["main.f"].flat, max);
  EXPECT_EQ(top["main.g"].flat, min);
  ASSERT_EQ(p.totals().size(), 4u);
  EXPECT_EQ(p.totals()[3], min);                                   // max, max (saturated), -1, then min (saturated)
  EXPECT_EQ(MustTop(p, kInuseSpace).functions[0].name, "main.g");  // |min| > max

  ProfileBuilder before, after;
  for (ProfileBuilder* x : {&before, &after}) x->GoHeapHeader().Function(1, "main.f", "f.go").Location(1, {{1, 1}});
  before.Sample({1}, {0, 0, 0, min});
  after.Sample({1}, {0, 0, 0, max});
  StatusOr<HeapDiff> diff = DiffAllocationSites(MustDecode(before), MustDecode(after));
  ASSERT_TRUE(diff.ok()) << diff.status();
  ASSERT_EQ(diff->grown.size(), 1u);
  EXPECT_EQ(diff->grown[0].growth, max);
}

TEST(Totals, SumEachSampleType) {
  ProfileBuilder b;
  b.GoHeapHeader();
  b.Function(1, "main.f", "f.go").Location(1, {{1, 1}});
  b.Sample({1}, {1, 10, 1, 10}).Sample({1}, {2, 20, 0, 0}).Sample({}, {3, 30, 3, 30});
  HeapProfile p = MustDecode(b);
  EXPECT_EQ(std::vector<int64_t>(p.totals().begin(), p.totals().end()), (std::vector<int64_t>{6, 60, 4, 40}));
  EXPECT_TRUE(MustDecode(ProfileBuilder()).totals().empty());
}

// Two snapshots of one process; ids differ between them, as they do between runs.
TEST(DiffAllocationSites, FindsWhatGrewSortedByGrowth) {
  ProfileBuilder before;
  before.GoHeapHeader();
  before.Function(1, "main.main", "main.go").Function(2, "main.cache", "cache.go").Function(3, "main.tmp", "tmp.go");
  before.Location(1, {{1, 10}}).Location(2, {{2, 5}}).Location(3, {{3, 7}}).Location(4, {{2, 6}});
  before.Sample({2, 1}, Inuse(1000)).Sample({3, 1}, Inuse(500)).Sample({4, 1}, Inuse(10));

  ProfileBuilder after;
  after.GoHeapHeader();
  after.Function(7, "main.tmp", "tmp.go").Function(8, "main.cache", "cache.go").Function(9, "main.main", "main.go");
  after.Function(10, "main.leak", "leak.go");
  after.Location(40, {{9, 10}}).Location(41, {{8, 5}}).Location(42, {{7, 7}}).Location(43, {{10, 3}});
  after.Location(44, {{8, 6}});
  after.Sample({41, 40}, Inuse(3000)).Sample({42, 40}, Inuse(100)).Sample({43, 40}, Inuse(1500));
  after.Sample({44, 40}, Inuse(30)).Sample({41, 40}, Inuse(500));

  HeapProfile p0 = MustDecode(before), p1 = MustDecode(after);
  StatusOr<HeapDiff> diff = DiffAllocationSites(p0, p1);
  ASSERT_TRUE(diff.ok()) << diff.status();
  EXPECT_EQ(diff->sample_type, "inuse_space");
  EXPECT_EQ(diff->total_before, 1510);
  EXPECT_EQ(diff->total_after, 5130);
  ASSERT_EQ(diff->grown.size(), 3u);
  EXPECT_EQ(diff->grown[0].function, "main.cache");
  EXPECT_EQ(diff->grown[0].filename, "cache.go");
  EXPECT_EQ(diff->grown[0].line, 5);
  EXPECT_EQ(diff->grown[0].before, 1000);
  EXPECT_EQ(diff->grown[0].after, 3500);
  EXPECT_EQ(diff->grown[0].growth, 2500);
  EXPECT_EQ(diff->grown[1].function, "main.leak");
  EXPECT_EQ(diff->grown[1].before, 0);
  EXPECT_EQ(diff->grown[1].growth, 1500);
  EXPECT_EQ(diff->grown[2].function, "main.cache");
  EXPECT_EQ(diff->grown[2].line, 6);
  EXPECT_EQ(diff->grown[2].growth, 20);

  DiffOptions by_function;
  by_function.by_line = false;
  by_function.max_sites = 1;
  diff = DiffAllocationSites(p0, p1, by_function);
  ASSERT_TRUE(diff.ok()) << diff.status();
  ASSERT_EQ(diff->grown.size(), 1u);
  EXPECT_EQ(diff->grown[0].function, "main.cache");
  EXPECT_EQ(diff->grown[0].line, 0);
  EXPECT_EQ(diff->grown[0].growth, 2520);

  DiffOptions objects;
  objects.sample_type = kAllocObjects;
  diff = DiffAllocationSites(p0, p1, objects);
  ASSERT_TRUE(diff.ok());
  EXPECT_EQ(diff->total_after, 5);

  // Nothing grows between a snapshot and itself.
  diff = DiffAllocationSites(p1, p1);
  ASSERT_TRUE(diff.ok());
  EXPECT_TRUE(diff->grown.empty());

  DiffOptions cpu;
  cpu.sample_type = "cpu";
  diff = DiffAllocationSites(p0, p1, cpu);
  ASSERT_FALSE(diff.ok());
  EXPECT_EQ(diff.status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace gotestrun::pprof
