// Top functions, totals and snapshot diffs over a decoded HeapProfile.
//
// TopFunctions follows pprof's graph construction (internal/graph.newGraph) at its
// default "functions" granularity: a node per function name; each nonzero sample adds
// its value once to the cum of every node on its stack and to the flat of its leaf
// node; an edge between two lines of one location is an inlined call.

#include <algorithm>
#include <functional>
#include <limits>
#include <new>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "core/diagnosis/pprof/heap_profile.h"

namespace gotestrun::pprof {
namespace {

constexpr uint32_t kNoNode = std::numeric_limits<uint32_t>::max();

// Profiles are input: their values may be anything, and signed overflow is not an
// option.
int64_t SaturatingAdd(int64_t a, int64_t b) {
  int64_t sum;
  if (__builtin_add_overflow(a, b, &sum)) {
    return b > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
  }
  return sum;
}

int64_t SaturatingSub(int64_t a, int64_t b) {
  int64_t difference;
  if (__builtin_sub_overflow(a, b, &difference)) {
    return b < 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
  }
  return difference;
}

// |v| without overflow for the minimum.
uint64_t Magnitude(int64_t v) { return v < 0 ? uint64_t{0} - static_cast<uint64_t>(v) : static_cast<uint64_t>(v); }

Status NoSuchSampleType(const HeapProfile& profile, std::string_view type) {
  std::string have;
  for (const ValueType& vt : profile.sample_types()) {
    if (!have.empty()) have += ", ";
    have += vt.type;
  }
  return NotFoundError("profile has no sample type \"" + std::string(type) + "\" (it has: " + have + ")");
}

// Functions grouped by name, as pprof's default granularity groups them. Frames
// without symbols all go to one node with an empty name.
struct Nodes {
  std::vector<uint32_t> of_function;
  std::vector<std::string_view> names;
  uint32_t unknown = kNoNode;

  explicit Nodes(const HeapProfile& profile) {
    std::span<const Function> functions = profile.functions();
    std::unordered_map<std::string_view, uint32_t> by_name;
    by_name.reserve(functions.size() + 1);
    of_function.reserve(functions.size());
    for (const Function& f : functions) {
      auto [it, inserted] = by_name.try_emplace(f.name, static_cast<uint32_t>(names.size()));
      if (inserted) names.push_back(f.name);
      of_function.push_back(it->second);
    }
    auto [it, inserted] = by_name.try_emplace(std::string_view(), static_cast<uint32_t>(names.size()));
    if (inserted) names.push_back(std::string_view());
    unknown = it->second;
  }

  uint32_t of(const Line& line) const { return of_function[line.function_index]; }
};

struct PairHash {
  size_t operator()(const std::pair<uint32_t, int64_t>& p) const {
    return std::hash<uint64_t>()((static_cast<uint64_t>(p.first) << 32) ^ static_cast<uint64_t>(p.second));
  }
};

// For each node, the line with the most flat value, or the most cum if it has no flat.
std::vector<SourceLine> HottestLines(const HeapProfile& profile, const Nodes& nodes,
                                     const std::vector<int64_t>& loc_flat, const std::vector<int64_t>& loc_cum) {
  struct Cost {
    int64_t flat = 0;
    int64_t cum = 0;
  };
  // Keyed by (function index, line): several addresses often share one line.
  std::unordered_map<std::pair<uint32_t, int64_t>, Cost, PairHash> by_line;
  std::span<const Location> locations = profile.locations();
  for (size_t l = 0; l < locations.size(); ++l) {
    if (loc_flat[l] == 0 && loc_cum[l] == 0) continue;
    std::span<const Line> lines = locations[l].lines;
    for (size_t k = 0; k < lines.size(); ++k) {
      Cost& c = by_line[{lines[k].function_index, lines[k].line}];
      if (k == 0) c.flat = SaturatingAdd(c.flat, loc_flat[l]);
      c.cum = SaturatingAdd(c.cum, loc_cum[l]);
    }
  }
  struct Best {
    uint32_t function = kNoNode;
    int64_t line = 0;
    Cost cost;
  };
  auto better = [](const Best& a, uint32_t function, int64_t line, const Cost& c, const std::span<const Function> fns) {
    if (a.function == kNoNode) return true;
    uint64_t af = Magnitude(a.cost.flat), cf = Magnitude(c.flat);
    if (af != cf) return cf > af;
    uint64_t ac = Magnitude(a.cost.cum), cc = Magnitude(c.cum);
    if (ac != cc) return cc > ac;
    if (fns[function].filename != fns[a.function].filename) return fns[function].filename < fns[a.function].filename;
    return line < a.line;
  };
  std::vector<Best> best(nodes.names.size());
  std::span<const Function> functions = profile.functions();
  for (const auto& [key, cost] : by_line) {
    Best& b = best[nodes.of_function[key.first]];
    if (better(b, key.first, key.second, cost, functions)) b = Best{key.first, key.second, cost};
  }
  std::vector<SourceLine> hottest(nodes.names.size());
  for (size_t n = 0; n < best.size(); ++n) {
    if (best[n].function != kNoNode) hottest[n] = {std::string(functions[best[n].function].filename), best[n].line};
  }
  return hottest;
}

StatusOr<TopReport> ComputeTop(const HeapProfile& profile, std::string_view sample_type, size_t n) {
  std::optional<size_t> type_index = profile.SampleTypeIndex(sample_type);
  if (!type_index) return NoSuchSampleType(profile, sample_type);
  const Nodes nodes(profile);
  const size_t node_count = nodes.names.size();
  std::span<const Location> locations = profile.locations();

  // Per-node and per-location tallies, each kept together for the sake of the cache:
  // the loop below touches them once per frame of every sample.
  struct NodeTally {
    int64_t flat = 0;
    int64_t cum = 0;
    size_t seen = SIZE_MAX;  // the last sample counted in cum
    bool inline_callee = false;
    bool called_not_inline = false;
  };
  struct LocationTally {
    size_t seen = SIZE_MAX;
    int64_t cum = 0;
    uint32_t node = kNoNode;  // its node when it has at most one line
  };
  std::vector<NodeTally> node_tally(node_count);
  // Nodes that an inlined call can reach; only edges into them need remembering.
  for (const Location& loc : locations) {
    for (size_t k = 0; k + 1 < loc.lines.size(); ++k) {
      if (nodes.of(loc.lines[k]) != nodes.of(loc.lines[k + 1])) node_tally[nodes.of(loc.lines[k])].inline_callee = true;
    }
  }
  std::vector<LocationTally> loc_tally(locations.size());
  std::vector<int64_t> loc_flat(locations.size(), 0);
  for (size_t l = 0; l < locations.size(); ++l) {
    if (locations[l].lines.empty()) loc_tally[l].node = nodes.unknown;
    if (locations[l].lines.size() == 1) loc_tally[l].node = nodes.of(locations[l].lines[0]);
  }
  std::unordered_set<uint64_t> not_inline_edges;  // (caller << 32 | callee), callee an inline callee
  int64_t total = 0;

  auto visit = [&](uint32_t node, uint32_t& parent, bool inline_edge, int64_t v, size_t s) {
    NodeTally& t = node_tally[node];
    if (t.seen != s) {
      t.seen = s;
      t.cum = SaturatingAdd(t.cum, v);
    }
    if (parent != kNoNode && parent != node && !inline_edge) {
      t.called_not_inline = true;
      if (t.inline_callee) not_inline_edges.insert(uint64_t{parent} << 32 | node);
    }
    parent = node;
  };

  const size_t sample_count = profile.sample_count();
  for (size_t s = 0; s < sample_count; ++s) {
    const Sample sample = profile.sample(s);
    const int64_t v = sample.values[*type_index];
    total = SaturatingAdd(total, v);
    if (v == 0 || sample.locations.empty()) continue;
    uint32_t parent = kNoNode;
    // Root to leaf, and within a location from the outermost line inwards.
    for (size_t i = sample.locations.size(); i-- > 0;) {
      const uint32_t loc = sample.locations[i];
      LocationTally& lt = loc_tally[loc];
      if (lt.seen != s) {
        lt.seen = s;
        lt.cum = SaturatingAdd(lt.cum, v);
      }
      if (lt.node != kNoNode) {
        visit(lt.node, parent, false, v, s);
        continue;
      }
      std::span<const Line> lines = locations[loc].lines;
      for (size_t k = lines.size(); k-- > 0;) visit(nodes.of(lines[k]), parent, k + 1 != lines.size(), v, s);
    }
    node_tally[parent].flat = SaturatingAdd(node_tally[parent].flat, v);
    loc_flat[sample.locations[0]] = SaturatingAdd(loc_flat[sample.locations[0]], v);
  }

  // An edge is inlined when every call along it was (pprof's Edge.Inline).
  std::vector<uint8_t> called_inline(node_count, 0);
  for (size_t l = 0; l < locations.size(); ++l) {
    if (loc_tally[l].seen == SIZE_MAX) continue;  // In no sample that counts.
    std::span<const Line> lines = locations[l].lines;
    for (size_t k = 0; k + 1 < lines.size(); ++k) {
      uint32_t callee = nodes.of(lines[k]), caller = nodes.of(lines[k + 1]);
      if (callee != caller && !not_inline_edges.contains(uint64_t{caller} << 32 | callee)) called_inline[callee] = 1;
    }
  }
  std::vector<int64_t> loc_cum(locations.size());
  for (size_t l = 0; l < locations.size(); ++l) loc_cum[l] = loc_tally[l].cum;

  std::vector<SourceLine> hottest = HottestLines(profile, nodes, loc_flat, loc_cum);
  TopReport report;
  report.sample_type = std::string(sample_type);
  report.unit = std::string(profile.sample_types()[*type_index].unit);
  report.total = total;
  std::vector<uint32_t> shown;
  for (uint32_t node = 0; node < node_count; ++node) {
    if (node_tally[node].flat != 0 || node_tally[node].cum != 0) shown.push_back(node);
  }
  report.function_count = shown.size();
  auto order = [&](uint32_t a, uint32_t b) {
    uint64_t fa = Magnitude(node_tally[a].flat), fb = Magnitude(node_tally[b].flat);
    if (fa != fb) return fa > fb;
    if (nodes.names[a] != nodes.names[b]) return nodes.names[a] < nodes.names[b];
    return Magnitude(node_tally[a].cum) > Magnitude(node_tally[b].cum);
  };
  const size_t keep = std::min(n, shown.size());
  std::partial_sort(shown.begin(), shown.begin() + static_cast<std::ptrdiff_t>(keep), shown.end(), order);
  report.functions.reserve(keep);
  for (size_t i = 0; i < keep; ++i) {
    const uint32_t node = shown[i];
    FunctionCost cost;
    cost.name = std::string(nodes.names[node]);
    cost.flat = node_tally[node].flat;
    cost.cum = node_tally[node].cum;
    cost.hottest = std::move(hottest[node]);
    if (called_inline[node]) {
      cost.inlining = node_tally[node].called_not_inline ? Inlining::kPartialInline : Inlining::kInline;
    }
    report.functions.push_back(std::move(cost));
  }
  return report;
}

struct SiteKey {
  std::string_view function;
  std::string_view filename;
  int64_t line = 0;
  bool operator==(const SiteKey&) const = default;
};

struct SiteKeyHash {
  size_t operator()(const SiteKey& k) const {
    size_t h = std::hash<std::string_view>()(k.function);
    h = h * 31 + std::hash<std::string_view>()(k.filename);
    return h * 31 + std::hash<int64_t>()(k.line);
  }
};

// The value of each allocation site (leaf frame) of one profile.
std::unordered_map<SiteKey, int64_t, SiteKeyHash> ValueBySite(const HeapProfile& profile, size_t type, bool by_line,
                                                              int64_t* total) {
  std::span<const Location> locations = profile.locations();
  std::vector<int64_t> by_location(locations.size(), 0);
  *total = 0;
  for (size_t s = 0; s < profile.sample_count(); ++s) {
    const Sample sample = profile.sample(s);
    const int64_t v = sample.values[type];
    *total = SaturatingAdd(*total, v);
    if (v != 0 && !sample.locations.empty()) {
      by_location[sample.locations[0]] = SaturatingAdd(by_location[sample.locations[0]], v);
    }
  }
  std::unordered_map<SiteKey, int64_t, SiteKeyHash> sites;
  for (size_t l = 0; l < locations.size(); ++l) {
    if (by_location[l] == 0) continue;
    SiteKey key;
    if (!locations[l].lines.empty()) {
      const Line& leaf = locations[l].lines[0];
      const Function& f = profile.functions()[leaf.function_index];
      key = {f.name, f.filename, by_line ? leaf.line : 0};
    }
    int64_t& value = sites[key];
    value = SaturatingAdd(value, by_location[l]);
  }
  return sites;
}

StatusOr<HeapDiff> ComputeDiff(const HeapProfile& earlier, const HeapProfile& later, const DiffOptions& options) {
  std::optional<size_t> before_type = earlier.SampleTypeIndex(options.sample_type);
  if (!before_type) return NoSuchSampleType(earlier, options.sample_type).Annotate("earlier snapshot");
  std::optional<size_t> after_type = later.SampleTypeIndex(options.sample_type);
  if (!after_type) return NoSuchSampleType(later, options.sample_type).Annotate("later snapshot");

  HeapDiff diff;
  diff.sample_type = std::string(options.sample_type);
  auto before = ValueBySite(earlier, *before_type, options.by_line, &diff.total_before);
  auto after = ValueBySite(later, *after_type, options.by_line, &diff.total_after);
  auto add = [&](const SiteKey& key, int64_t b, int64_t a) {
    int64_t growth = SaturatingSub(a, b);
    if (growth <= 0) return;
    diff.grown.push_back(SiteGrowth{std::string(key.function), std::string(key.filename), key.line, b, a, growth});
  };
  for (const auto& [key, a] : after) {
    auto it = before.find(key);
    add(key, it == before.end() ? 0 : it->second, a);
  }
  // Sites gone from the later snapshot can only have grown if they were negative.
  for (const auto& [key, b] : before) {
    if (!after.contains(key)) add(key, b, 0);
  }
  std::sort(diff.grown.begin(), diff.grown.end(), [](const SiteGrowth& x, const SiteGrowth& y) {
    if (x.growth != y.growth) return x.growth > y.growth;
    if (x.function != y.function) return x.function < y.function;
    if (x.filename != y.filename) return x.filename < y.filename;
    return x.line < y.line;
  });
  if (diff.grown.size() > options.max_sites) diff.grown.resize(options.max_sites);
  return diff;
}

// Allocation failures are the only exceptions the code above can meet.
template <typename T, typename F>
StatusOr<T> Guarded(F&& f) {
  try {
    return f();
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of memory analysing the profile");
  } catch (const std::exception& e) {
    return InternalError(std::string("analysing the profile: ") + e.what());
  }
}

}  // namespace

StatusOr<TopReport> TopFunctions(const HeapProfile& profile, std::string_view sample_type, size_t n) {
  return Guarded<TopReport>([&] { return ComputeTop(profile, sample_type, n); });
}

StatusOr<HeapDiff> DiffAllocationSites(const HeapProfile& earlier, const HeapProfile& later,
                                       const DiffOptions& options) {
  return Guarded<HeapDiff>([&] { return ComputeDiff(earlier, later, options); });
}

}  // namespace gotestrun::pprof
