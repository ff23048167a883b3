#include "core/diagnosis/pprof/wire.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unit/core/diagnosis/pprof/profile_builder.h"

namespace gotestrun::pprof::wire {
namespace {

using testing::ProtoWriter;
using testing::Varint;

std::span<const uint8_t> Bytes(const std::string& s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

TEST(WireReader, VarintsRoundTrip) {
  const std::vector<uint64_t> values = {
      0, 1, 127, 128, 300, 16383, 16384, (uint64_t{1} << 32) + 5, UINT64_MAX - 1, UINT64_MAX};
  std::string encoded;
  for (uint64_t v : values) encoded += Varint(v);
  Reader r(Bytes(encoded));
  for (uint64_t want : values) {
    uint64_t got = 0;
    ASSERT_TRUE(r.ReadVarint(&got));
    EXPECT_EQ(got, want);
  }
  EXPECT_TRUE(r.done());
}

TEST(WireReader, NegativeInt64IsTenBytes) {
  std::string encoded = Varint(static_cast<uint64_t>(int64_t{-1}));
  EXPECT_EQ(encoded.size(), 10u);
  Reader r(Bytes(encoded));
  uint64_t v;
  ASSERT_TRUE(r.ReadVarint(&v));
  EXPECT_EQ(static_cast<int64_t>(v), -1);
}

TEST(WireReader, RejectsTruncatedAndOverlongVarints) {
  for (const std::string& bad : {std::string("\x80"), std::string("\xff\xff"), std::string(9, '\xff'),
                                 std::string(10, '\xff') + '\x01', std::string(9, '\xff') + '\x02'}) {
    Reader r(Bytes(bad));
    uint64_t v;
    EXPECT_FALSE(r.ReadVarint(&v)) << bad.size();
    EXPECT_NE(r.error(), nullptr);
  }
  // Ten bytes whose last carries only the 64th bit: the largest legal varint.
  std::string max = std::string(9, '\xff') + '\x01';
  Reader r(Bytes(max));
  uint64_t v;
  ASSERT_TRUE(r.ReadVarint(&v));
  EXPECT_EQ(v, UINT64_MAX);
}

TEST(WireReader, RejectsBadTags) {
  for (const std::string& bad : {Varint(0), Varint(1 << 3 | 6), Varint(1 << 3 | 7), Varint(uint64_t{1} << 35)}) {
    Reader r(Bytes(bad));
    uint32_t field;
    WireType type;
    EXPECT_FALSE(r.ReadTag(&field, &type));
  }
}

TEST(WireReader, LengthMustFitInWhatRemains) {
  std::string huge = Varint(2 << 3 | 2) + Varint(uint64_t{1} << 62) + "abc";
  Reader r(Bytes(huge));
  uint32_t field;
  WireType type;
  ASSERT_TRUE(r.ReadTag(&field, &type));
  std::span<const uint8_t> payload;
  EXPECT_FALSE(r.ReadLengthDelimited(&payload));

  std::string exact = Varint(3) + "abc";
  Reader ok(Bytes(exact));
  ASSERT_TRUE(ok.ReadLengthDelimited(&payload));
  EXPECT_EQ(payload.size(), 3u);
  EXPECT_TRUE(ok.done());
}

TEST(WireReader, SkipsEveryWireType) {
  ProtoWriter w;
  w.Unknowns(1).Uint(99, 42);
  Reader r(Bytes(w.str()));
  while (true) {
    uint32_t field;
    WireType type;
    ASSERT_TRUE(r.ReadTag(&field, &type));
    if (field == 99) break;
    ASSERT_TRUE(r.Skip(field, type)) << field;
  }
  uint64_t v;
  ASSERT_TRUE(r.ReadVarint(&v));
  EXPECT_EQ(v, 42u);
  EXPECT_TRUE(r.done());
}

bool SkipFirst(const std::string& bytes) {
  Reader r(Bytes(bytes));
  uint32_t field;
  WireType type;
  return r.ReadTag(&field, &type) && r.Skip(field, type);
}

TEST(WireReader, RejectsBrokenGroups) {
  ProtoWriter mismatched;
  mismatched.Key(5, 3).Uint(1, 1).Key(6, 4);
  EXPECT_FALSE(SkipFirst(mismatched.str()));

  ProtoWriter unterminated;
  unterminated.Key(5, 3).Uint(1, 1);
  EXPECT_FALSE(SkipFirst(unterminated.str()));

  ProtoWriter stray_end;
  stray_end.Key(5, 4);
  EXPECT_FALSE(SkipFirst(stray_end.str()));

  ProtoWriter truncated_fixed;
  truncated_fixed.Key(5, 1).Raw("1234567");
  EXPECT_FALSE(SkipFirst(truncated_fixed.str()));
}

TEST(WireReader, BoundsGroupNesting) {
  auto nested = [](int depth) {
    ProtoWriter w;
    for (int i = 0; i < depth; ++i) w.Key(5, 3);
    for (int i = 0; i < depth; ++i) w.Key(5, 4);
    return w.str();
  };
  EXPECT_TRUE(SkipFirst(nested(kMaxGroupDepth)));
  EXPECT_FALSE(SkipFirst(nested(kMaxGroupDepth + 1)));
  EXPECT_FALSE(SkipFirst(nested(100000)));
}

}  // namespace
}  // namespace gotestrun::pprof::wire
