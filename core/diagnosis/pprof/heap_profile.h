// Go heap profiles: reading them and saying where the memory goes.
//
// What this component promises:
//  - ParseHeapProfile reads the output of `pprof.Lookup("heap").WriteTo(w, 0)`: gzip
//    around the protobuf of google/pprof's profile.proto. It is safe on any input:
//    hostile, truncated or corrupt bytes give an error Status, never a crash, an
//    exception or undefined behaviour, and the work and memory it spends are bounded
//    by Limits.
//  - The resulting HeapProfile is resolved and checked: every sample refers to
//    existing locations, every line to an existing function, every string index is in
//    range, and each sample has one value per sample type.
//  - HeapProfile::totals() gives the sum of each sample type, TopFunctions the
//    figures `go tool pprof -top` prints (at its default function granularity), and
//    DiffAllocationSites what grew between two snapshots of the same process.
//  - Pure functions of bytes: no files, clocks or threads.
//
// Error codes: InvalidArgument for input that is not a well-formed profile, DataLoss
// for a corrupt or truncated gzip stream, ResourceExhausted for input over a limit,
// NotFound for a sample type the profile does not have.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace gotestrun::pprof {

// The sample types of a Go heap profile, in the order the runtime writes them.
inline constexpr std::string_view kAllocObjects = "alloc_objects";
inline constexpr std::string_view kAllocSpace = "alloc_space";
inline constexpr std::string_view kInuseObjects = "inuse_objects";
inline constexpr std::string_view kInuseSpace = "inuse_space";

// Caps on what one profile may cost. The defaults are well above what real Go
// processes write (a few hundred thousand stacks is a lot) and bound what a hostile
// file can make the reader hold, whatever it claims, to the decompressed bytes plus
// under 1 GiB of decoded arrays. A real profile costs a few times its decompressed
// size.
struct Limits {
  size_t max_compressed_bytes = size_t{64} << 20;
  size_t max_decompressed_bytes = size_t{256} << 20;
  size_t max_samples = size_t{2} << 20;
  size_t max_sample_types = 16;
  size_t max_locations = size_t{2} << 20;
  size_t max_lines = size_t{8} << 20;  // Over all locations.
  size_t max_functions = size_t{1} << 20;
  size_t max_strings = size_t{2} << 20;
  size_t max_string_bytes = size_t{64} << 10;  // One string; Go symbols are far shorter.
  size_t max_stack_depth = 1024;               // Locations in one sample; Go records up to 128.
  size_t max_lines_per_location = 256;         // Inlining depth at one address.
  size_t max_total_frames = size_t{32} << 20;  // Location references over all samples.
};

struct ValueType {
  std::string_view type;  // e.g. "inuse_space"
  std::string_view unit;  // e.g. "bytes"
};

struct Function {
  uint64_t id = 0;
  std::string_view name;         // e.g. "main.(*Server).handle"
  std::string_view system_name;  // as the linker knows it; often equal to name
  std::string_view filename;
  int64_t start_line = 0;
};

struct Line {
  uint32_t function_index = 0;  // into HeapProfile::functions()
  int64_t line = 0;             // 0 when unknown
};

struct Location {
  uint64_t id = 0;
  uint64_t address = 0;
  // Innermost first: lines[0] is the code at the address; each later entry is the
  // function the previous one was inlined into. Empty when not symbolized.
  std::span<const Line> lines;
};

struct Sample {
  std::span<const uint32_t> locations;  // into HeapProfile::locations(), leaf first
  std::span<const int64_t> values;      // one per sample type, in the same order
};

// A decoded heap profile. The views it hands out (strings, spans) stay valid for as
// long as the profile does, including after it is moved; it is move-only so that no
// copy can outlive what they point into.
class HeapProfile {
 public:
  HeapProfile(HeapProfile&&) noexcept = default;
  HeapProfile& operator=(HeapProfile&&) noexcept = default;
  HeapProfile(const HeapProfile&) = delete;
  HeapProfile& operator=(const HeapProfile&) = delete;
  ~HeapProfile() = default;

  std::span<const ValueType> sample_types() const { return sample_types_; }
  // Position of a sample type in sample_types() and in every Sample::values.
  std::optional<size_t> SampleTypeIndex(std::string_view type) const;

  size_t sample_count() const { return sample_frame_begin_.empty() ? 0 : sample_frame_begin_.size() - 1; }
  Sample sample(size_t i) const;  // i < sample_count()

  // The sum of each sample type over all samples, in the order of sample_types();
  // saturating rather than overflowing, since the values come from outside.
  std::span<const int64_t> totals() const { return totals_; }

  std::span<const Location> locations() const { return locations_; }
  std::span<const Function> functions() const { return functions_; }

  // The sampling period: for a heap profile, "space"/"bytes" and the average number
  // of bytes between recorded allocations (runtime.MemProfileRate).
  ValueType period_type() const { return period_type_; }
  int64_t period() const { return period_; }
  std::string_view default_sample_type() const { return default_sample_type_; }
  int64_t time_nanos() const { return time_nanos_; }
  int64_t duration_nanos() const { return duration_nanos_; }

 private:
  friend class HeapProfileDecoder;
  HeapProfile() = default;

  std::unique_ptr<char[]> strings_;  // Every string the views above refer to.
  std::vector<ValueType> sample_types_;
  std::vector<Function> functions_;
  std::vector<Line> lines_;
  std::vector<Location> locations_;
  std::vector<uint32_t> frames_;              // Sample locations, all samples back to back.
  std::vector<uint32_t> sample_frame_begin_;  // Sample i's are frames_[begin[i], begin[i+1]).
  std::vector<int64_t> values_;               // Sample i's are values_[i * types, (i + 1) * types).
  std::vector<int64_t> totals_;
  ValueType period_type_;
  int64_t period_ = 0;
  std::string_view default_sample_type_;
  int64_t time_nanos_ = 0;
  int64_t duration_nanos_ = 0;
};

// Reads a gzip-compressed profile, as the Go runtime writes it.
StatusOr<HeapProfile> ParseHeapProfile(std::string_view gzip_bytes, const Limits& limits = {});
// Reads an already decompressed profile (the bare protobuf).
StatusOr<HeapProfile> DecodeHeapProfile(std::string_view protobuf_bytes, const Limits& limits = {});

// Where a function's cost is concentrated: a line of the function itself.
struct SourceLine {
  std::string filename;
  int64_t line = 0;
};

// How pprof marks a function reached through inlining ("(inline)" and
// "(partial-inline)" in -top): calls into it were all inlined, some were, or none were
// (as pprof reports it with -edgefraction=0, which trims no call edges).
enum class Inlining { kNone, kInline, kPartialInline };

struct FunctionCost {
  std::string name;  // empty for frames without symbols, all counted together
  int64_t flat = 0;  // the sum of samples whose leaf frame is this function
  int64_t cum = 0;   // ... with this function anywhere on the stack, each counted once
  // The line with the most flat value (the allocation site that costs most), or, when
  // the function allocates nothing itself, the line through which most cum flows.
  SourceLine hottest;
  Inlining inlining = Inlining::kNone;
};

struct TopReport {
  std::string sample_type;
  std::string unit;
  // Over all samples. (pprof sums magnitudes; heap profile values are never negative.)
  int64_t total = 0;
  size_t function_count = 0;            // functions with a nonzero flat or cum, before the cut to N
  std::vector<FunctionCost> functions;  // by flat descending, then name, as pprof orders them
};

// The top n functions by one sample type (e.g. kInuseSpace), aggregated by function
// name as `go tool pprof -top -sample_index=TYPE` does; n = SIZE_MAX for all.
// Samples whose value is zero are ignored, as pprof ignores them.
StatusOr<TopReport> TopFunctions(const HeapProfile& profile, std::string_view sample_type, size_t n);

// An allocation site is the leaf frame of a sample: the innermost function and line
// where the memory was allocated.
struct SiteGrowth {
  std::string function;
  std::string filename;
  int64_t line = 0;  // 0 when sites are compared by function
  int64_t before = 0;
  int64_t after = 0;
  int64_t growth = 0;  // after - before, saturating
};

struct HeapDiff {
  std::string sample_type;
  int64_t total_before = 0;
  int64_t total_after = 0;
  std::vector<SiteGrowth> grown;  // growth > 0 only, largest first, then by name and line
};

struct DiffOptions {
  std::string_view sample_type = kInuseSpace;
  // Compare sites by function and line, or by function alone (merging its lines).
  bool by_line = true;
  size_t max_sites = SIZE_MAX;
};

// Which allocation sites grew between an earlier and a later snapshot of the same
// process. Sites are matched by name, file and line, not by ids or addresses, so two
// profiles of different runs of the same binary compare too.
StatusOr<HeapDiff> DiffAllocationSites(const HeapProfile& earlier, const HeapProfile& later,
                                       const DiffOptions& options = {});

}  // namespace gotestrun::pprof
