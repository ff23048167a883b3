// Decoding hand-built profiles: the model, the encodings the reader must accept, and
// the malformations it must refuse.
#include "core/diagnosis/pprof/heap_profile.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unit/core/diagnosis/pprof/profile_builder.h"

namespace gotestrun::pprof {
namespace {

using testing::Gzip;
using testing::ProfileBuilder;
using testing::ProtoWriter;
using Packing = ProfileBuilder::Packing;

// main.main -> main.handle -> (inlined) main.newBuffer, and main.main -> main.cache.
ProfileBuilder SmallProfile(Packing packing = Packing::kPacked, bool unknown_fields = false) {
  ProfileBuilder b;
  if (unknown_fields) b.WithUnknownFields();
  b.GoHeapHeader();
  b.Function(1, "main.main", "app/main.go", 10);
  b.Function(2, "main.handle", "app/handle.go", 20);
  b.Function(3, "main.newBuffer", "app/buffer.go", 30);
  b.Function(4, "main.cache", "app/cache.go", 40);
  b.Location(1, {{1, 12}}, 0x1000);
  b.Location(2, {{3, 31}, {2, 22}}, 0x2000);  // newBuffer inlined into handle
  b.Location(3, {{4, 41}}, 0x3000);
  b.Sample({2, 1}, {5, 5000, 2, 2000}, packing);
  b.Sample({3, 1}, {1, 100, 1, 100}, packing);
  b.Sample({3, 1}, {7, 700, 0, 0}, packing);
  return b;
}

HeapProfile MustDecode(const std::string& proto, const Limits& limits = {}) {
  StatusOr<HeapProfile> p = DecodeHeapProfile(proto, limits);
  EXPECT_TRUE(p.ok()) << p.status();
  if (!p.ok()) std::abort();
  return std::move(p).value();
}

TEST(HeapProfile, DecodesTheModel) {
  HeapProfile p = MustDecode(SmallProfile().Build());

  ASSERT_EQ(p.sample_types().size(), 4u);
  EXPECT_EQ(p.sample_types()[0].type, "alloc_objects");
  EXPECT_EQ(p.sample_types()[0].unit, "count");
  EXPECT_EQ(p.sample_types()[3].type, "inuse_space");
  EXPECT_EQ(p.sample_types()[3].unit, "bytes");
  EXPECT_EQ(p.SampleTypeIndex(kInuseSpace), 3u);
  EXPECT_EQ(p.SampleTypeIndex("cpu"), std::nullopt);
  EXPECT_EQ(p.period_type().type, "space");
  EXPECT_EQ(p.period_type().unit, "bytes");
  EXPECT_EQ(p.period(), 524288);
  EXPECT_EQ(p.default_sample_type(), "inuse_space");
  EXPECT_EQ(p.time_nanos(), 1700000000000000000);

  ASSERT_EQ(p.functions().size(), 4u);
  const Function& handle = p.functions()[1];
  EXPECT_EQ(handle.id, 2u);
  EXPECT_EQ(handle.name, "main.handle");
  EXPECT_EQ(handle.system_name, "main.handle");
  EXPECT_EQ(handle.filename, "app/handle.go");
  EXPECT_EQ(handle.start_line, 20);

  ASSERT_EQ(p.locations().size(), 3u);
  const Location& inlined = p.locations()[1];
  EXPECT_EQ(inlined.id, 2u);
  EXPECT_EQ(inlined.address, 0x2000u);
  ASSERT_EQ(inlined.lines.size(), 2u);
  EXPECT_EQ(p.functions()[inlined.lines[0].function_index].name, "main.newBuffer");
  EXPECT_EQ(inlined.lines[0].line, 31);
  EXPECT_EQ(p.functions()[inlined.lines[1].function_index].name, "main.handle");
  EXPECT_EQ(inlined.lines[1].line, 22);

  ASSERT_EQ(p.sample_count(), 3u);
  Sample s = p.sample(0);
  ASSERT_EQ(s.locations.size(), 2u);
  EXPECT_EQ(p.locations()[s.locations[0]].id, 2u);  // leaf first
  EXPECT_EQ(p.locations()[s.locations[1]].id, 1u);
  EXPECT_EQ(std::vector<int64_t>(s.values.begin(), s.values.end()), (std::vector<int64_t>{5, 5000, 2, 2000}));
}

void ExpectSameProfile(const HeapProfile& a, const HeapProfile& b) {
  ASSERT_EQ(a.sample_count(), b.sample_count());
  for (size_t i = 0; i < a.sample_count(); ++i) {
    Sample x = a.sample(i), y = b.sample(i);
    EXPECT_EQ(std::vector<uint32_t>(x.locations.begin(), x.locations.end()),
              std::vector<uint32_t>(y.locations.begin(), y.locations.end()));
    EXPECT_EQ(std::vector<int64_t>(x.values.begin(), x.values.end()),
              std::vector<int64_t>(y.values.begin(), y.values.end()));
  }
  ASSERT_EQ(a.functions().size(), b.functions().size());
  for (size_t i = 0; i < a.functions().size(); ++i) {
    EXPECT_EQ(a.functions()[i].name, b.functions()[i].name);
    EXPECT_EQ(a.functions()[i].filename, b.functions()[i].filename);
  }
  ASSERT_EQ(a.locations().size(), b.locations().size());
  for (size_t i = 0; i < a.locations().size(); ++i) {
    EXPECT_EQ(a.locations()[i].lines.size(), b.locations()[i].lines.size());
  }
}

TEST(HeapProfile, PackedUnpackedAndMixedRepeatedFieldsDecodeAlike) {
  HeapProfile packed = MustDecode(SmallProfile(Packing::kPacked).Build());
  ExpectSameProfile(packed, MustDecode(SmallProfile(Packing::kUnpacked).Build()));
  ExpectSameProfile(packed, MustDecode(SmallProfile(Packing::kSplit).Build()));
}

TEST(HeapProfile, SkipsUnknownFieldsOfEveryWireTypeAtEveryLevel) {
  HeapProfile plain = MustDecode(SmallProfile().Build());
  HeapProfile noisy = MustDecode(SmallProfile(Packing::kPacked, /*unknown_fields=*/true).Build());
  ExpectSameProfile(plain, noisy);
  EXPECT_EQ(noisy.functions()[3].name, "main.cache");
}

TEST(HeapProfile, ParsesGzipAndConcatenatedMembers) {
  std::string proto = SmallProfile().Build();
  HeapProfile whole = MustDecode(proto);
  StatusOr<HeapProfile> gz = ParseHeapProfile(Gzip(proto));
  ASSERT_TRUE(gz.ok()) << gz.status();
  ExpectSameProfile(whole, *gz);

  // `gzip -dc` reads concatenated members as one stream; so does the reader.
  size_t half = proto.size() / 2;
  StatusOr<HeapProfile> two = ParseHeapProfile(Gzip(proto.substr(0, half)) + Gzip(proto.substr(half)));
  ASSERT_TRUE(two.ok()) << two.status();
  ExpectSameProfile(whole, *two);
}

TEST(HeapProfile, ViewsSurviveAMove) {
  HeapProfile first = MustDecode(SmallProfile().Build());
  std::string_view name = first.functions()[2].name;
  std::span<const Line> lines = first.locations()[1].lines;
  HeapProfile second = std::move(first);
  EXPECT_EQ(name, "main.newBuffer");
  EXPECT_EQ(second.functions()[2].name.data(), name.data());
  EXPECT_EQ(second.locations()[1].lines.data(), lines.data());
  HeapProfile third = MustDecode(ProfileBuilder().Build());
  third = std::move(second);
  EXPECT_EQ(third.functions()[lines[1].function_index].name, "main.handle");
}

TEST(HeapProfile, AcceptsAnEmptyProfile) {
  HeapProfile p = MustDecode(ProfileBuilder().Build());
  EXPECT_EQ(p.sample_count(), 0u);
  EXPECT_TRUE(p.sample_types().empty());
  EXPECT_TRUE(p.functions().empty());
}

TEST(HeapProfile, AcceptsSparseIdsAndLocationsWithoutLines) {
  ProfileBuilder b;
  b.GoHeapHeader();
  b.Function(uint64_t{1} << 60, "main.far", "far.go");
  b.Location(UINT64_MAX, {{uint64_t{1} << 60, 3}});
  b.Location(7, {});
  b.Sample({UINT64_MAX, 7}, {1, 2, 3, 4});
  HeapProfile p = MustDecode(b.Build());
  Sample s = p.sample(0);
  ASSERT_EQ(s.locations.size(), 2u);
  EXPECT_EQ(p.locations()[s.locations[0]].id, UINT64_MAX);
  EXPECT_EQ(p.functions()[p.locations()[s.locations[0]].lines[0].function_index].name, "main.far");
  EXPECT_TRUE(p.locations()[s.locations[1]].lines.empty());
}

// Malformations of structure: each must be an InvalidArgument naming the problem.
struct MalformedCase {
  std::string name;
  std::string proto;
  std::string message_part;
};

std::vector<MalformedCase> MalformedCases() {
  std::vector<MalformedCase> cases;
  auto add = [&](std::string name, std::string proto, std::string part) {
    cases.push_back({std::move(name), std::move(proto), std::move(part)});
  };
  {
    ProfileBuilder b;
    b.GoHeapHeader().Function(1, "f", "f.go").body().Message(5, ProtoWriter().Uint(1, 2).Int(2, 999));
    add("FunctionNameOutOfRange", b.Build(), "string index 999 out of range");
  }
  {
    ProfileBuilder b;
    b.GoHeapHeader().body().Message(5, ProtoWriter().Uint(1, 2).Int(4, -1));
    add("NegativeStringIndex", b.Build(), "string index -1");
  }
  {
    ProfileBuilder b;
    b.body().Message(1, ProtoWriter().Int(1, 50).Int(2, 0));
    add("SampleTypeOutOfRange", b.Build(), "sample_type.type");
  }
  {
    ProfileBuilder b;
    b.GoHeapHeader().Function(1, "f", "f.go").Location(1, {{2, 1}});
    add("LocationRefersToMissingFunction", b.Build(), "missing function id 2");
  }
  {
    ProfileBuilder b;
    b.GoHeapHeader().Function(1, "f", "f.go").Location(1, {{1, 1}}).Sample({1, 9}, {1, 2, 3, 4});
    add("SampleRefersToMissingLocation", b.Build(), "missing location id 9");
  }
  {
    ProfileBuilder b;
    b.GoHeapHeader().Function(1, "f", "f.go").Function(1, "g", "g.go");
    add("DuplicateFunctionId", b.Build(), "duplicate function id 1");
  }
  {
    ProfileBuilder b;
    b.GoHeapHeader().Function(1, "f", "f.go").Location(uint64_t{1} << 40, {{1, 1}}).Location(uint64_t{1} << 40, {});
    add("DuplicateSparseLocationId", b.Build(), "duplicate location id");
  }
  {
    ProfileBuilder b;
    b.GoHeapHeader().Location(0, {});
    add("LocationIdZero", b.Build(), "location has id 0");
  }
  {
    ProfileBuilder b;
    b.GoHeapHeader().Function(1, "f", "f.go").Location(1, {{1, 1}}).Sample({1}, {1, 2, 3});
    add("TooFewValues", b.Build(), "has 3 values for 4 sample types");
  }
  {
    ProfileBuilder b;
    b.GoHeapHeader().Function(1, "f", "f.go").Location(1, {{1, 1}}).Sample({1}, {1, 2, 3, 4, 5});
    add("TooManyValues", b.Build(), "more than 4 values");
  }
  add("FirstStringNotEmpty", ProtoWriter().Bytes(6, "x").Bytes(6, "").str(), "string_table[0]");
  add("NoStringTable", ProtoWriter().Int(12, 1).str(), "string_table[0]");
  add("TruncatedVarint", ProfileBuilder().Build() + "\x60\x80", "truncated varint");
  add("OverlongVarint", ProfileBuilder().Build() + "\x60" + std::string(10, '\xff') + "\x01", "varint");
  add("HugeTopLevelLength", ProfileBuilder().Build() + "\x12" + testing::Varint(uint64_t{1} << 62) + "abc",
      "length exceeds");
  add("HugeStringLength", ProfileBuilder().Build() + "\x32" + testing::Varint(0xffffffffULL), "length exceeds");
  {
    // A location whose line message claims more bytes than the location has.
    std::string line = "\x22" + testing::Varint(1000) + "\x08\x01";
    ProfileBuilder b;
    b.GoHeapHeader().body().Bytes(4, ProtoWriter().Uint(1, 1).str() + line);
    add("HugeNestedLength", b.Build(), "location.line: length exceeds");
  }
  {
    ProfileBuilder b;
    b.GoHeapHeader().Function(1, "f", "f.go").Location(1, {{1, 1}});
    b.body().Bytes(2, "\x0a" + testing::Varint(1u << 30) + "\x01");
    add("HugePackedLength", b.Build(), "length exceeds");
  }
  add("WireType6", ProfileBuilder().Build() + "\x0e", "invalid wire type");
  add("FieldZero", ProfileBuilder().Build() + std::string("\x00\x01", 2), "invalid field number");
  add("StrayEndGroup", ProfileBuilder().Build() + "\x7c", "end-group");
  {
    ProfileBuilder b;
    b.body().Fixed64(5, 1);  // A function must be a message.
    add("FunctionWithWrongWireType", b.Build(), "function has wire type 1");
  }
  {
    ProfileBuilder b;
    b.body().Message(5, ProtoWriter().Fixed32(1, 1));
    add("FunctionIdWithWrongWireType", b.Build(), "function.id has wire type 5");
  }
  {
    ProfileBuilder b;
    b.GoHeapHeader().Function(1, "f", "f.go").Location(1, {{1, 1}});
    b.body().Message(2, ProtoWriter().Fixed64(1, 1));
    add("SampleLocationWithWrongWireType", b.Build(), "unexpected wire type");
  }
  return cases;
}

class MalformedProfile : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(MalformedProfile, IsAnInvalidArgument) {
  StatusOr<HeapProfile> p = DecodeHeapProfile(GetParam().proto);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument) << p.status();
  EXPECT_NE(p.status().message().find(GetParam().message_part), std::string::npos) << p.status();
  // The same bytes through gzip fail the same way.
  StatusOr<HeapProfile> gz = ParseHeapProfile(Gzip(GetParam().proto));
  ASSERT_FALSE(gz.ok());
  EXPECT_EQ(gz.status(), p.status());
}

INSTANTIATE_TEST_SUITE_P(Cases, MalformedProfile, ::testing::ValuesIn(MalformedCases()),
                         [](const auto& test) { return test.param.name; });

// Each limit, exceeded by one, is a ResourceExhausted; at the limit it is fine.
struct LimitCase {
  std::string name;
  size_t Limits::*field;
  size_t at_limit;  // The small profile below uses exactly this much.
};

class ProfileLimit : public ::testing::TestWithParam<LimitCase> {};

TEST_P(ProfileLimit, IsEnforced) {
  ProfileBuilder b;
  b.GoHeapHeader();
  b.Function(1, "main.main", "main.go").Function(2, "main.f", "main.go");
  b.Location(1, {{1, 5}}).Location(2, {{2, 9}, {2, 8}, {1, 7}});
  b.Sample({2, 1}, {1, 2, 3, 4}).Sample({2, 1, 1}, {1, 2, 3, 4});
  std::string proto = b.Build();

  Limits limits;
  limits.*GetParam().field = GetParam().at_limit;
  StatusOr<HeapProfile> at = DecodeHeapProfile(proto, limits);
  EXPECT_TRUE(at.ok()) << at.status();
  StatusOr<HeapProfile> at_gz = ParseHeapProfile(Gzip(proto), limits);
  EXPECT_TRUE(at_gz.ok()) << at_gz.status();

  limits.*GetParam().field = GetParam().at_limit - 1;
  StatusOr<HeapProfile> over = ParseHeapProfile(Gzip(proto), limits);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.status().code(), StatusCode::kResourceExhausted) << over.status();
}

INSTANTIATE_TEST_SUITE_P(Cases, ProfileLimit,
                         ::testing::Values(LimitCase{"Samples", &Limits::max_samples, 2},
                                           LimitCase{"SampleTypes", &Limits::max_sample_types, 4},
                                           LimitCase{"Locations", &Limits::max_locations, 2},
                                           LimitCase{"Lines", &Limits::max_lines, 4},
                                           LimitCase{"LinesPerLocation", &Limits::max_lines_per_location, 3},
                                           LimitCase{"Functions", &Limits::max_functions, 2},
                                           // "", 4 types, 2 units, space, main.main, main.go, main.f
                                           LimitCase{"Strings", &Limits::max_strings, 11},
                                           LimitCase{"StringBytes", &Limits::max_string_bytes, 13},  // "inuse_objects"
                                           LimitCase{"StackDepth", &Limits::max_stack_depth, 3},
                                           LimitCase{"TotalFrames", &Limits::max_total_frames, 5}),
                         [](const auto& test) { return test.param.name; });

TEST(HeapProfileLimits, CompressedAndDecompressedSizes) {
  std::string proto = SmallProfile().Build();
  std::string gz = Gzip(proto);
  Limits limits;
  limits.max_compressed_bytes = gz.size() - 1;
  StatusOr<HeapProfile> p = ParseHeapProfile(gz, limits);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kResourceExhausted);

  limits = Limits();
  limits.max_decompressed_bytes = proto.size();
  EXPECT_TRUE(ParseHeapProfile(gz, limits).ok());
  EXPECT_TRUE(DecodeHeapProfile(proto, limits).ok());
  limits.max_decompressed_bytes = proto.size() - 1;
  p = ParseHeapProfile(gz, limits);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kResourceExhausted) << p.status();
  p = DecodeHeapProfile(proto, limits);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kResourceExhausted) << p.status();
}

}  // namespace
}  // namespace gotestrun::pprof
