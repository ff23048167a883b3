#include "core/policy/quantity.h"

#include <cstdint>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace gotestrun::policy {
namespace {

using ::testing::HasSubstr;

struct ParseCase {
  std::string text;
  Bytes want;
};

TEST(ParseMemoryQuantityTest, AcceptsTheKubernetesGrammar) {
  const ParseCase cases[] = {
      {"512Mi", 512 * kMiB},
      {"1Gi", kGiB},
      {"1.5Gi", 1536 * kMiB},
      {"100M", 100'000'000},
      {"1e9", 1'000'000'000},
      {"1E9", 1'000'000'000},
      {"128974848", 128974848},
      {"129e6", 129'000'000},
      {"123Mi", 128974848},
      {"0", 0},
      {"0Gi", 0},
      {"-0", 0},
      {"+1Ki", 1024},
      {"5.", 5},
      {".5Ki", 512},
      {"0.5Gi", 512 * kMiB},
      {"1k", 1000},
      {"1G", 1'000'000'000},
      {"1T", 1'000'000'000'000},
      {"1P", 1'000'000'000'000'000},
      {"1E", 1'000'000'000'000'000'000},
      {"1Ti", Bytes{1} << 40},
      {"1Pi", Bytes{1} << 50},
      {"7Ei", Bytes{7} << 60},
      {"1e+3", 1000},
      {"12e-1", 2},  // 1.2 bytes rounds up
      {"1500m", 2},  // 1.5 bytes rounds up
      {"1000m", 1},
      {"1n", 1},           // any fraction of a byte is a byte
      {"1e-99999999", 1},  // the exponent is clamped, the rounding still holds
      {"0e99999999", 0},
      {"000123", 123},
      {"1.0000000000000000000000001Ki", 1025},
      {"0.0009765625Ki", 1},
      {"9223372036854775807", 9223372036854775807ULL},
      {"8191Pi", Bytes{8191} << 50},
  };
  for (const ParseCase& c : cases) {
    SCOPED_TRACE(c.text);
    StatusOr<Bytes> got = ParseMemoryQuantity(c.text);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, c.want);
  }
}

struct RejectCase {
  std::string text;
  std::string message;
};

TEST(ParseMemoryQuantityTest, RejectsGarbageWithAClearMessage) {
  const RejectCase cases[] = {
      {"", "empty"},
      {"Mi", "no number"},
      {"+", "no number"},
      {"-", "no number"},
      {".", "no number"},
      {"abc", "no number"},
      {"1Gb", "unknown suffix \"Gb\""},
      {"1 Gi", "unknown suffix \" Gi\""},
      {"1K", "unknown suffix \"K\""},
      {"1KiB", "unknown suffix \"KiB\""},
      {"1mi", "unknown suffix \"mi\""},
      {"1.2.3", "unknown suffix \".3\""},
      {"0x10", "unknown suffix \"x10\""},
      {"1e", "unknown suffix \"e\""},
      {"1e+", "exponent without digits"},
      {"1e1.5", "is not an integer"},
      {"1Gi ", "unknown suffix \"Gi \""},
      {" 1Gi", "no number"},
      {"--1", "no number"},
      {"-1", "negative"},
      {"-512Mi", "negative"},
      {"-0.001", "negative"},
      {"8Ei", "too large"},
      {"9223372036854775808", "too large"},
      {"9223372036854775807.5", "too large"},
      {"1e19", "too large"},
      {"99999999999999999999999", "too large"},
      {"1e99999999", "too large"},
      {"16Ei", "too large"},
      {std::string(200, '1'), "longer than 128 characters"},
  };
  for (const RejectCase& c : cases) {
    SCOPED_TRACE(c.text);
    StatusOr<Bytes> got = ParseMemoryQuantity(c.text);
    ASSERT_FALSE(got.ok()) << *got;
    EXPECT_EQ(got.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(got.status().message(), HasSubstr(c.message));
    EXPECT_THAT(got.status().message(), HasSubstr("memory quantity"));
  }
}

TEST(ParseCpuMillisTest, ReadsCoresAndMillicores) {
  const std::pair<std::string, std::uint64_t> cases[] = {
      {"2", 2000}, {"500m", 500}, {"1.5", 1500}, {"0.1m", 1}, {"250m", 250}, {"1e1", 10000}, {"0", 0},
  };
  for (const auto& [text, want] : cases) {
    SCOPED_TRACE(text);
    StatusOr<std::uint64_t> got = ParseCpuMillis(text);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, want);
  }
  StatusOr<std::uint64_t> bad = ParseCpuMillis("2 cores");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("cpu quantity \"2 cores\""));
  EXPECT_FALSE(ParseCpuMillis("-1").ok());
}

TEST(FormatMemoryQuantityTest, UsesTheLargestExactBinarySuffix) {
  const std::pair<Bytes, std::string> cases[] = {
      {0, "0"},
      {1, "1"},
      {1000, "1000"},
      {1024, "1Ki"},
      {1536, "1536"},
      {640 * kMiB, "640Mi"},
      {1536 * kMiB, "1536Mi"},
      {kGiB, "1Gi"},
      {4 * kGiB, "4Gi"},
      {128974848, "123Mi"},
      {128974849, "128974849"},
      {kMiB + kKiB, "1025Ki"},
      {Bytes{1} << 60, "1Ei"},
      {kMaxQuantityBytes, "9223372036854775807"},
      {kMaxQuantityBytes - 1023, "9007199254740991Ki"},
  };
  for (const auto& [bytes, want] : cases) {
    SCOPED_TRACE(want);
    EXPECT_EQ(FormatMemoryQuantity(bytes), want);
  }
}

TEST(FormatMemoryQuantityTest, RoundTripsThroughTheParser) {
  std::vector<Bytes> values = {0, 1, 999, 1024, 1025, 512 * kMiB, 1536 * kMiB, 123456789, kMaxQuantityBytes};
  for (int shift = 0; shift < 63; ++shift) {
    values.push_back(Bytes{1} << shift);
    values.push_back((Bytes{1} << shift) + 1);
    values.push_back((Bytes{3} << shift) & kMaxQuantityBytes);
  }
  for (Bytes value : values) {
    SCOPED_TRACE(value);
    StatusOr<Bytes> back = ParseMemoryQuantity(FormatMemoryQuantity(value));
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, value);
  }
}

TEST(FormatMemoryApproxTest, ExactWhereItCanBeAndOneDecimalOtherwise) {
  const std::pair<Bytes, std::string> cases[] = {
      {0, "0"},
      {512, "512"},
      {1024, "1Ki"},
      {640 * kMiB, "640Mi"},
      {1200 * kMiB, "1200Mi"},
      {12000 * kMiB, "11.7Gi"},
      {530 * kMiB + 300 * kKiB, "530.3Mi"},
      {kGiB + kGiB / 2 + 1, "1.5Gi"},
      {kGiB - 1, "1024.0Mi"},
      {2 * kMiB - 1, "2.0Mi"},
      {1'000'000'000, "953.7Mi"},
  };
  for (const auto& [bytes, want] : cases) {
    SCOPED_TRACE(want);
    EXPECT_EQ(FormatMemoryApprox(bytes), want);
  }
}

TEST(FormatGoMemLimitTest, UsesTheGoRuntimeSuffixes) {
  const std::pair<Bytes, std::string> cases[] = {
      {0, "0"},           {460 * kMiB, "460MiB"},   {2 * kGiB, "2GiB"},
      {3 * kKiB, "3KiB"}, {Bytes{5} << 40, "5TiB"}, {Bytes{1} << 50, "1024TiB"},
      {1000, "1000B"},
  };
  for (const auto& [bytes, want] : cases) {
    SCOPED_TRACE(want);
    EXPECT_EQ(FormatGoMemLimit(bytes), want);
  }
}

}  // namespace
}  // namespace gotestrun::policy
