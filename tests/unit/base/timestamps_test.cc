#include "base/timestamps.h"

#include <gtest/gtest.h>

namespace gotestrun {
namespace {

TEST(Timestamps, FormatsAndParsesBothForms) {
  auto t = std::chrono::system_clock::from_time_t(1795891677) + std::chrono::microseconds(123456);
  EXPECT_EQ(Rfc3339(t), "2026-11-28T18:47:57Z");
  EXPECT_EQ(MicroTime(t), "2026-11-28T18:47:57.123456Z");
  EXPECT_EQ(ParseRfc3339("2026-11-28T18:47:57.123456Z"), t);
  EXPECT_EQ(ParseRfc3339("2026-11-28T18:47:57Z"), std::chrono::system_clock::from_time_t(1795891677));
}

TEST(Timestamps, RejectsWhatIsNotUtcRfc3339) {
  EXPECT_EQ(ParseRfc3339(""), std::nullopt);
  EXPECT_EQ(ParseRfc3339("yesterday"), std::nullopt);
  EXPECT_EQ(ParseRfc3339("2026-11-28T18:47:57+01:00"), std::nullopt);
  EXPECT_EQ(ParseRfc3339("2026-11-28 18:47:57Z"), std::nullopt);
}

}  // namespace
}  // namespace gotestrun
