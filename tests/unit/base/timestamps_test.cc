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

TEST(Timestamps, OffsetsWhereAsked) {
  const auto utc = ParseRfc3339("2026-11-28T21:09:20.767485604Z");
  ASSERT_TRUE(utc.has_value());
  EXPECT_EQ(ParseRfc3339("2026-11-28T23:09:20.767485604+02:00", Rfc3339Zone::kAnyOffset), utc);
  EXPECT_EQ(ParseRfc3339("2026-11-28T19:39:20.767485604-01:30", Rfc3339Zone::kAnyOffset), utc);
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::nanoseconds>(utc->time_since_epoch()).count() % 1000000000,
            767485604);
  for (const char* bad : {"2026-11-28T21:09:20+0200", "2026-11-28T21:09:20.Z", "2026-13-28T21:09:20Z",
                          "2026-11-28T21:09:20Zjunk", "2026-11-28T21:09:20"}) {
    EXPECT_EQ(ParseRfc3339(bad, Rfc3339Zone::kAnyOffset), std::nullopt) << bad;
  }
}

}  // namespace
}  // namespace gotestrun
