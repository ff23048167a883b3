// Decoding profile.proto into a HeapProfile.
//
// Two passes over the top-level message: the first decodes everything except samples
// (the string table comes last in Go's output, and locations may follow the samples
// that use them) and only counts the samples; the second decodes the samples with
// every id already resolvable, straight into flat arrays sized from that count.
// Strings stay views into the decompressed bytes until the end, when the referenced
// ones are copied once into the profile's own storage.

#include <algorithm>
#include <cstring>
#include <limits>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>

#include "core/diagnosis/pprof/gzip.h"
#include "core/diagnosis/pprof/heap_profile.h"
#include "core/diagnosis/pprof/wire.h"

namespace gotestrun::pprof {
namespace {

using wire::Reader;
using wire::WireType;
using Bytes = std::span<const uint8_t>;

// Field numbers of google/pprof proto/profile.proto.
namespace profile_field {
constexpr uint32_t kSampleType = 1;
constexpr uint32_t kSample = 2;
constexpr uint32_t kLocation = 4;
constexpr uint32_t kFunction = 5;
constexpr uint32_t kStringTable = 6;
constexpr uint32_t kTimeNanos = 9;
constexpr uint32_t kDurationNanos = 10;
constexpr uint32_t kPeriodType = 11;
constexpr uint32_t kPeriod = 12;
constexpr uint32_t kDefaultSampleType = 14;
}  // namespace profile_field
namespace value_type_field {
constexpr uint32_t kType = 1;
constexpr uint32_t kUnit = 2;
}  // namespace value_type_field
namespace sample_field {
constexpr uint32_t kLocationId = 1;
constexpr uint32_t kValue = 2;
}  // namespace sample_field
namespace location_field {
constexpr uint32_t kId = 1;
constexpr uint32_t kAddress = 3;
constexpr uint32_t kLine = 4;
}  // namespace location_field
namespace line_field {
constexpr uint32_t kFunctionId = 1;
constexpr uint32_t kLine = 2;
}  // namespace line_field
namespace function_field {
constexpr uint32_t kId = 1;
constexpr uint32_t kName = 2;
constexpr uint32_t kSystemName = 3;
constexpr uint32_t kFilename = 4;
constexpr uint32_t kStartLine = 5;
}  // namespace function_field

constexpr uint32_t kMissing = std::numeric_limits<uint32_t>::max();

Bytes AsBytes(std::string_view s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

Status Malformed(std::string what) { return InvalidArgumentError("malformed profile: " + std::move(what)); }

Status WireError(const Reader& r, std::string_view where) {
  return Malformed(std::string(where) + ": " + (r.error() != nullptr ? r.error() : "unreadable"));
}

Status OverLimit(std::string_view what, size_t limit) {
  return ResourceExhaustedError("profile has more than " + std::to_string(limit) + " " + std::string(what));
}

std::string WireTypeMismatch(std::string_view where, WireType got) {
  return std::string(where) + " has wire type " + std::to_string(static_cast<int>(got));
}

// A length-delimited field that must be an embedded message.
Status ReadMessage(Reader& r, WireType type, std::string_view where, Bytes* payload) {
  if (type != WireType::kLengthDelimited) return Malformed(WireTypeMismatch(where, type));
  if (!r.ReadLengthDelimited(payload)) return WireError(r, where);
  return Status::Ok();
}

// A non-repeated integer field (int64, uint64 or bool: all varints).
Status ReadVarintField(Reader& r, WireType type, std::string_view where, uint64_t* value) {
  if (type != WireType::kVarint) return Malformed(WireTypeMismatch(where, type));
  if (!r.ReadVarint(value)) return WireError(r, where);
  return Status::Ok();
}

Status ReadInt64Field(Reader& r, WireType type, std::string_view where, int64_t* value) {
  uint64_t v;
  GTR_RETURN_IF_ERROR(ReadVarintField(r, type, where, &v));
  *value = static_cast<int64_t>(v);  // Two's complement, as protobuf encodes int64.
  return Status::Ok();
}

// Maps the ids a profile uses for locations and functions to positions in our arrays.
// Go numbers them 1..n, so a table indexed by id is the usual case; sparse ids fall
// back to a sorted array, so a hostile id costs no memory.
class IdIndex {
 public:
  template <typename T>
  Status Build(const std::vector<T>& items, std::string_view what) {
    uint64_t max_id = 0;
    for (const T& item : items) max_id = std::max(max_id, item.id);
    dense_ = max_id <= 2 * static_cast<uint64_t>(items.size()) + 1024;
    if (dense_) {
      table_.assign(static_cast<size_t>(max_id) + 1, kMissing);
      for (size_t i = 0; i < items.size(); ++i) {
        uint64_t id = items[i].id;
        if (id == 0) return Malformed(std::string(what) + " has id 0");
        if (table_[id] != kMissing) return Malformed("duplicate " + std::string(what) + " id " + std::to_string(id));
        table_[id] = static_cast<uint32_t>(i);
      }
      return Status::Ok();
    }
    sorted_.reserve(items.size());
    for (size_t i = 0; i < items.size(); ++i) sorted_.emplace_back(items[i].id, static_cast<uint32_t>(i));
    std::sort(sorted_.begin(), sorted_.end());
    for (size_t i = 0; i < sorted_.size(); ++i) {
      if (sorted_[i].first == 0) return Malformed(std::string(what) + " has id 0");
      if (i > 0 && sorted_[i].first == sorted_[i - 1].first) {
        return Malformed("duplicate " + std::string(what) + " id " + std::to_string(sorted_[i].first));
      }
    }
    return Status::Ok();
  }

  uint32_t Find(uint64_t id) const {
    if (dense_) return id < table_.size() ? table_[id] : kMissing;
    auto it = std::lower_bound(sorted_.begin(), sorted_.end(), std::pair<uint64_t, uint32_t>(id, 0));
    return it != sorted_.end() && it->first == id ? it->second : kMissing;
  }

 private:
  bool dense_ = true;
  std::vector<uint32_t> table_;
  std::vector<std::pair<uint64_t, uint32_t>> sorted_;
};

struct RawValueType {
  int64_t type = 0;
  int64_t unit = 0;
};

struct RawFunction {
  uint64_t id = 0;
  int64_t name = 0;
  int64_t system_name = 0;
  int64_t filename = 0;
  int64_t start_line = 0;
};

struct RawLocation {
  uint64_t id = 0;
  uint64_t address = 0;
  size_t first_line = 0;
  size_t line_count = 0;
};

}  // namespace

class HeapProfileDecoder {
 public:
  HeapProfileDecoder(Bytes proto, const Limits& limits) : proto_(proto), limits_(limits) {}

  StatusOr<HeapProfile> Decode() {
    GTR_RETURN_IF_ERROR(ScanTopLevel());
    GTR_RETURN_IF_ERROR(ResolveReferences());
    GTR_RETURN_IF_ERROR(DecodeSamples());
    CopyStrings();
    SumSampleTypes();
    return std::move(profile_);
  }

 private:
  // Pass 1: everything but the samples, which are only counted.
  Status ScanTopLevel() {
    Reader r(proto_);
    while (!r.done()) {
      uint32_t field;
      WireType type;
      if (!r.ReadTag(&field, &type)) return WireError(r, "profile");
      Bytes payload;
      switch (field) {
        case profile_field::kSampleType: {
          GTR_RETURN_IF_ERROR(ReadMessage(r, type, "sample_type", &payload));
          if (raw_sample_types_.size() == limits_.max_sample_types) {
            return OverLimit("sample types", limits_.max_sample_types);
          }
          RawValueType vt;
          GTR_RETURN_IF_ERROR(DecodeValueType(payload, "sample_type", &vt));
          raw_sample_types_.push_back(vt);
          break;
        }
        case profile_field::kSample:
          GTR_RETURN_IF_ERROR(ReadMessage(r, type, "sample", &payload));
          if (sample_count_ == limits_.max_samples) return OverLimit("samples", limits_.max_samples);
          ++sample_count_;
          sample_bytes_ += payload.size();
          break;
        case profile_field::kLocation:
          GTR_RETURN_IF_ERROR(ReadMessage(r, type, "location", &payload));
          GTR_RETURN_IF_ERROR(DecodeLocation(payload));
          break;
        case profile_field::kFunction:
          GTR_RETURN_IF_ERROR(ReadMessage(r, type, "function", &payload));
          GTR_RETURN_IF_ERROR(DecodeFunction(payload));
          break;
        case profile_field::kStringTable:
          if (type != WireType::kLengthDelimited) return Malformed(WireTypeMismatch("string_table", type));
          if (!r.ReadLengthDelimited(&payload)) return WireError(r, "string_table");
          if (strings_.size() == limits_.max_strings) return OverLimit("strings", limits_.max_strings);
          if (payload.size() > limits_.max_string_bytes) {
            return ResourceExhaustedError("profile has a string of " + std::to_string(payload.size()) +
                                          " bytes, over the limit of " + std::to_string(limits_.max_string_bytes));
          }
          strings_.push_back(payload);
          break;
        case profile_field::kTimeNanos:
          GTR_RETURN_IF_ERROR(ReadInt64Field(r, type, "time_nanos", &profile_.time_nanos_));
          break;
        case profile_field::kDurationNanos:
          GTR_RETURN_IF_ERROR(ReadInt64Field(r, type, "duration_nanos", &profile_.duration_nanos_));
          break;
        case profile_field::kPeriodType:
          GTR_RETURN_IF_ERROR(ReadMessage(r, type, "period_type", &payload));
          GTR_RETURN_IF_ERROR(DecodeValueType(payload, "period_type", &raw_period_type_));
          break;
        case profile_field::kPeriod: GTR_RETURN_IF_ERROR(ReadInt64Field(r, type, "period", &profile_.period_)); break;
        case profile_field::kDefaultSampleType:
          GTR_RETURN_IF_ERROR(ReadInt64Field(r, type, "default_sample_type", &raw_default_sample_type_));
          break;
        default:  // Mappings, labels' strings, comments, drop/keep frames: not needed.
          if (!r.Skip(field, type)) return WireError(r, "profile field " + std::to_string(field));
      }
    }
    return Status::Ok();
  }

  Status DecodeValueType(Bytes bytes, std::string_view where, RawValueType* out) {
    Reader r(bytes);
    while (!r.done()) {
      uint32_t field;
      WireType type;
      if (!r.ReadTag(&field, &type)) return WireError(r, where);
      if (field == value_type_field::kType) {
        GTR_RETURN_IF_ERROR(ReadInt64Field(r, type, where, &out->type));
      } else if (field == value_type_field::kUnit) {
        GTR_RETURN_IF_ERROR(ReadInt64Field(r, type, where, &out->unit));
      } else if (!r.Skip(field, type)) {
        return WireError(r, where);
      }
    }
    return Status::Ok();
  }

  Status DecodeFunction(Bytes bytes) {
    if (raw_functions_.size() == limits_.max_functions) return OverLimit("functions", limits_.max_functions);
    RawFunction fn;
    Reader r(bytes);
    while (!r.done()) {
      uint32_t field;
      WireType type;
      if (!r.ReadTag(&field, &type)) return WireError(r, "function");
      switch (field) {
        case function_field::kId: GTR_RETURN_IF_ERROR(ReadVarintField(r, type, "function.id", &fn.id)); break;
        case function_field::kName: GTR_RETURN_IF_ERROR(ReadInt64Field(r, type, "function.name", &fn.name)); break;
        case function_field::kSystemName:
          GTR_RETURN_IF_ERROR(ReadInt64Field(r, type, "function.system_name", &fn.system_name));
          break;
        case function_field::kFilename:
          GTR_RETURN_IF_ERROR(ReadInt64Field(r, type, "function.filename", &fn.filename));
          break;
        case function_field::kStartLine:
          GTR_RETURN_IF_ERROR(ReadInt64Field(r, type, "function.start_line", &fn.start_line));
          break;
        default:
          if (!r.Skip(field, type)) return WireError(r, "function");
      }
    }
    raw_functions_.push_back(fn);
    return Status::Ok();
  }

  Status DecodeLocation(Bytes bytes) {
    if (raw_locations_.size() == limits_.max_locations) return OverLimit("locations", limits_.max_locations);
    RawLocation loc;
    loc.first_line = line_function_ids_.size();
    Reader r(bytes);
    while (!r.done()) {
      uint32_t field;
      WireType type;
      if (!r.ReadTag(&field, &type)) return WireError(r, "location");
      switch (field) {
        case location_field::kId: GTR_RETURN_IF_ERROR(ReadVarintField(r, type, "location.id", &loc.id)); break;
        case location_field::kAddress:
          GTR_RETURN_IF_ERROR(ReadVarintField(r, type, "location.address", &loc.address));
          break;
        case location_field::kLine: {
          Bytes line;
          GTR_RETURN_IF_ERROR(ReadMessage(r, type, "location.line", &line));
          if (loc.line_count == limits_.max_lines_per_location) {
            return OverLimit("lines in one location", limits_.max_lines_per_location);
          }
          if (lines_.size() == limits_.max_lines) return OverLimit("lines", limits_.max_lines);
          GTR_RETURN_IF_ERROR(DecodeLine(line));
          ++loc.line_count;
          break;
        }
        default:  // mapping_id, is_folded
          if (!r.Skip(field, type)) return WireError(r, "location");
      }
    }
    raw_locations_.push_back(loc);
    return Status::Ok();
  }

  Status DecodeLine(Bytes bytes) {
    uint64_t function_id = 0;
    int64_t line = 0;
    Reader r(bytes);
    while (!r.done()) {
      uint32_t field;
      WireType type;
      if (!r.ReadTag(&field, &type)) return WireError(r, "line");
      if (field == line_field::kFunctionId) {
        GTR_RETURN_IF_ERROR(ReadVarintField(r, type, "line.function_id", &function_id));
      } else if (field == line_field::kLine) {
        GTR_RETURN_IF_ERROR(ReadInt64Field(r, type, "line.line", &line));
      } else if (!r.Skip(field, type)) {  // column
        return WireError(r, "line");
      }
    }
    line_function_ids_.push_back(function_id);
    lines_.push_back(Line{kMissing, line});
    return Status::Ok();
  }

  Status CheckString(int64_t index, std::string_view where) const {
    if (index < 0 || static_cast<uint64_t>(index) >= strings_.size()) {
      return Malformed(std::string(where) + ": string index " + std::to_string(index) + " out of range (table has " +
                       std::to_string(strings_.size()) + ")");
    }
    return Status::Ok();
  }

  // Every id and string index checked, lines pointed at functions.
  Status ResolveReferences() {
    // profile.proto: "string_table[0] must always be """.
    if (strings_.empty() || !strings_[0].empty()) return Malformed("string_table[0] must be the empty string");
    for (const RawValueType& vt : raw_sample_types_) {
      GTR_RETURN_IF_ERROR(CheckString(vt.type, "sample_type.type"));
      GTR_RETURN_IF_ERROR(CheckString(vt.unit, "sample_type.unit"));
    }
    GTR_RETURN_IF_ERROR(CheckString(raw_period_type_.type, "period_type.type"));
    GTR_RETURN_IF_ERROR(CheckString(raw_period_type_.unit, "period_type.unit"));
    GTR_RETURN_IF_ERROR(CheckString(raw_default_sample_type_, "default_sample_type"));
    for (const RawFunction& fn : raw_functions_) {
      std::string where = "function " + std::to_string(fn.id);
      GTR_RETURN_IF_ERROR(CheckString(fn.name, where + " name"));
      GTR_RETURN_IF_ERROR(CheckString(fn.system_name, where + " system_name"));
      GTR_RETURN_IF_ERROR(CheckString(fn.filename, where + " filename"));
    }
    GTR_RETURN_IF_ERROR(function_index_.Build(raw_functions_, "function"));
    GTR_RETURN_IF_ERROR(location_index_.Build(raw_locations_, "location"));
    for (const RawLocation& loc : raw_locations_) {
      for (size_t i = loc.first_line; i < loc.first_line + loc.line_count; ++i) {
        uint32_t fn = function_index_.Find(line_function_ids_[i]);
        if (fn == kMissing) {
          return Malformed("location " + std::to_string(loc.id) + " refers to missing function id " +
                           std::to_string(line_function_ids_[i]));
        }
        lines_[i].function_index = fn;
      }
    }
    line_function_ids_ = {};
    return Status::Ok();
  }

  // Pass 2: the samples.
  Status DecodeSamples() {
    const size_t types = raw_sample_types_.size();
    // Every location id and value takes at least one byte, which bounds both arrays
    // by what is actually there, whatever the counts suggest.
    profile_.frames_.reserve(std::min(sample_bytes_, max_total_frames_));
    profile_.values_.reserve(std::min(sample_count_ * types, sample_bytes_));
    profile_.sample_frame_begin_.reserve(sample_count_ + 1);
    profile_.sample_frame_begin_.push_back(0);
    Reader r(proto_);
    while (!r.done()) {
      uint32_t field;
      WireType type;
      if (!r.ReadTag(&field, &type)) return WireError(r, "profile");  // Unreachable: pass 1 read it.
      if (field != profile_field::kSample) {
        if (!r.Skip(field, type)) return WireError(r, "profile");
        continue;
      }
      Bytes payload;
      if (!r.ReadLengthDelimited(&payload)) return WireError(r, "sample");
      GTR_RETURN_IF_ERROR(DecodeSample(payload, types));
    }
    return Status::Ok();
  }

  Status DecodeSample(Bytes bytes, size_t types) {
    std::vector<uint32_t>& frames = profile_.frames_;
    std::vector<int64_t>& values = profile_.values_;
    const size_t frames_begin = frames.size();
    const size_t values_begin = values.size();
    const size_t max_frames = std::min(frames_begin + limits_.max_stack_depth, max_total_frames_);
    const size_t sample_number = profile_.sample_frame_begin_.size() - 1;

    // These run once per frame: they return bool and leave the Status for the rare
    // refusal in `refusal`.
    Status refusal;
    auto add_location = [&](uint64_t id) {
      uint32_t index = location_index_.Find(id);
      if (index == kMissing) {
        refusal = Malformed("sample " + std::to_string(sample_number) + " refers to missing location id " +
                            std::to_string(id));
        return false;
      }
      if (frames.size() == max_frames) {
        refusal = frames.size() - frames_begin == limits_.max_stack_depth
                      ? OverLimit("locations in one sample", limits_.max_stack_depth)
                      : OverLimit("location references in samples", max_total_frames_);
        return false;
      }
      frames.push_back(index);
      return true;
    };
    auto add_value = [&](uint64_t v) {
      if (values.size() - values_begin == types) {
        refusal = ValueCountMismatch(sample_number, types + 1, types);
        return false;
      }
      values.push_back(static_cast<int64_t>(v));  // Two's complement, as protobuf encodes int64.
      return true;
    };

    Reader r(bytes);
    while (!r.done()) {
      uint32_t field;
      WireType type;
      if (!r.ReadTag(&field, &type)) return WireError(r, "sample");
      const char* error = nullptr;
      if (field == sample_field::kLocationId) {
        error = ForEachVarint(r, type, add_location);
      } else if (field == sample_field::kValue) {
        error = ForEachVarint(r, type, add_value);
      } else if (!r.Skip(field, type)) {  // labels
        return WireError(r, "sample");
      }
      if (error == kRefused) return refusal;
      if (error != nullptr) return Malformed("sample " + std::to_string(sample_number) + ": " + error);
    }
    if (values.size() - values_begin != types) {
      return ValueCountMismatch(sample_number, values.size() - values_begin, types);
    }
    profile_.sample_frame_begin_.push_back(static_cast<uint32_t>(frames.size()));
    return Status::Ok();
  }

  static Status ValueCountMismatch(size_t sample, size_t got, size_t types) {
    return Malformed("sample " + std::to_string(sample) + " has " + (got > types ? "more than " : "") +
                     std::to_string(got > types ? types : got) + " values for " + std::to_string(types) +
                     " sample types");
  }

  static constexpr const char* kRefused = "refused";

  // Calls accept(v) for each value of a repeated varint field, packed or not (Go
  // packs only runs of more than two). Returns nullptr, kRefused when accept returned
  // false, or why the wire could not be read.
  template <typename Accept>
  static const char* ForEachVarint(Reader& r, WireType type, Accept& accept) {
    uint64_t v;
    if (type == WireType::kVarint) {
      if (!r.ReadVarint(&v)) return r.error();
      return accept(v) ? nullptr : kRefused;
    }
    if (type != WireType::kLengthDelimited) return "repeated field with an unexpected wire type";
    Bytes packed;
    if (!r.ReadLengthDelimited(&packed)) return r.error();
    Reader p(packed);
    while (!p.done()) {
      if (!p.ReadVarint(&v)) return p.error();
      if (!accept(v)) return kRefused;
    }
    return nullptr;
  }

  // Copies the strings the profile refers to into one block it owns, and builds the
  // public records that view them.
  void CopyStrings() {
    std::vector<int64_t> used;
    used.reserve(raw_functions_.size() * 3 + raw_sample_types_.size() * 2 + 3);
    for (const RawValueType& vt : raw_sample_types_) used.insert(used.end(), {vt.type, vt.unit});
    used.insert(used.end(), {raw_period_type_.type, raw_period_type_.unit, raw_default_sample_type_});
    for (const RawFunction& fn : raw_functions_) used.insert(used.end(), {fn.name, fn.system_name, fn.filename});

    std::vector<size_t> offset(strings_.size(), SIZE_MAX);
    size_t total = 0;
    for (int64_t index : used) {
      size_t& slot = offset[static_cast<size_t>(index)];
      if (slot != SIZE_MAX) continue;
      slot = total;
      total += strings_[static_cast<size_t>(index)].size();
    }
    profile_.strings_ = std::make_unique_for_overwrite<char[]>(std::max<size_t>(total, 1));
    char* base = profile_.strings_.get();
    for (size_t i = 0; i < strings_.size(); ++i) {
      if (offset[i] != SIZE_MAX && !strings_[i].empty()) {
        std::memcpy(base + offset[i], strings_[i].data(), strings_[i].size());
      }
    }
    auto view = [&](int64_t index) {
      size_t i = static_cast<size_t>(index);
      return std::string_view(base + offset[i], strings_[i].size());
    };

    profile_.sample_types_.reserve(raw_sample_types_.size());
    for (const RawValueType& vt : raw_sample_types_) profile_.sample_types_.push_back({view(vt.type), view(vt.unit)});
    profile_.period_type_ = {view(raw_period_type_.type), view(raw_period_type_.unit)};
    profile_.default_sample_type_ = view(raw_default_sample_type_);
    profile_.functions_.reserve(raw_functions_.size());
    for (const RawFunction& fn : raw_functions_) {
      profile_.functions_.push_back(
          Function{fn.id, view(fn.name), view(fn.system_name), view(fn.filename), fn.start_line});
    }
    profile_.lines_ = std::move(lines_);
    const Line* lines = profile_.lines_.data();
    profile_.locations_.reserve(raw_locations_.size());
    for (const RawLocation& loc : raw_locations_) {
      profile_.locations_.push_back(
          Location{loc.id, loc.address, std::span<const Line>(lines + loc.first_line, loc.line_count)});
    }
  }

  void SumSampleTypes() {
    const size_t types = profile_.sample_types_.size();
    std::vector<int64_t>& totals = profile_.totals_;
    totals.assign(types, 0);
    for (size_t i = 0; i < profile_.values_.size(); ++i) {
      int64_t& t = totals[i % types];
      if (__builtin_add_overflow(t, profile_.values_[i], &t)) {
        t = profile_.values_[i] > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
      }
    }
  }

  Bytes proto_;
  const Limits& limits_;
  HeapProfile profile_;

  std::vector<Bytes> strings_;
  std::vector<RawValueType> raw_sample_types_;
  RawValueType raw_period_type_;
  int64_t raw_default_sample_type_ = 0;
  std::vector<RawFunction> raw_functions_;
  std::vector<RawLocation> raw_locations_;
  std::vector<Line> lines_;
  std::vector<uint64_t> line_function_ids_;
  IdIndex function_index_;
  IdIndex location_index_;
  size_t sample_count_ = 0;
  size_t sample_bytes_ = 0;
  // Sample boundaries are stored as 32-bit offsets.
  const size_t max_total_frames_ = std::min<size_t>(limits_.max_total_frames, std::numeric_limits<uint32_t>::max());
};

namespace {

// The one place exceptions from the standard library (allocation failures) become a
// Status.
template <typename F>
StatusOr<HeapProfile> Guarded(F&& f) {
  try {
    return f();
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of memory reading the profile");
  } catch (const std::length_error&) {
    return ResourceExhaustedError("profile too large to hold");
  } catch (const std::exception& e) {
    return InternalError(std::string("reading the profile: ") + e.what());
  }
}

}  // namespace

StatusOr<HeapProfile> DecodeHeapProfile(std::string_view protobuf_bytes, const Limits& limits) {
  if (protobuf_bytes.size() > limits.max_decompressed_bytes) {
    return ResourceExhaustedError("profile of " + std::to_string(protobuf_bytes.size()) +
                                  " bytes exceeds the limit of " + std::to_string(limits.max_decompressed_bytes));
  }
  return Guarded([&] { return HeapProfileDecoder(AsBytes(protobuf_bytes), limits).Decode(); });
}

StatusOr<HeapProfile> ParseHeapProfile(std::string_view gzip_bytes, const Limits& limits) {
  if (gzip_bytes.size() > limits.max_compressed_bytes) {
    return ResourceExhaustedError("compressed profile of " + std::to_string(gzip_bytes.size()) +
                                  " bytes exceeds the limit of " + std::to_string(limits.max_compressed_bytes));
  }
  return Guarded([&]() -> StatusOr<HeapProfile> {
    StatusOr<InflatedBytes> inflated = InflateGzip(AsBytes(gzip_bytes), limits.max_decompressed_bytes);
    if (!inflated.ok()) return inflated.status();
    return HeapProfileDecoder(inflated->bytes(), limits).Decode();
  });
}

std::optional<size_t> HeapProfile::SampleTypeIndex(std::string_view type) const {
  for (size_t i = 0; i < sample_types_.size(); ++i) {
    if (sample_types_[i].type == type) return i;
  }
  return std::nullopt;
}

Sample HeapProfile::sample(size_t i) const {
  const size_t types = sample_types_.size();
  const uint32_t begin = sample_frame_begin_[i];
  const uint32_t end = sample_frame_begin_[i + 1];
  return Sample{std::span<const uint32_t>(frames_.data() + begin, end - begin),
                std::span<const int64_t>(values_.data() + i * types, types)};
}

}  // namespace gotestrun::pprof
