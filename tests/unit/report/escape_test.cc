#include "report/escape.h"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace gotestrun::report {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kReplacement = "\xEF\xBF\xBD";

TEST(SanitizeText, KeepsValidUtf8AndWhitespace) {
  const std::string text = "tab\tnl\ncr\r caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x90\xB9 \xE2\x80\xA8";
  EXPECT_EQ(SanitizeText(text), text);
}

TEST(SanitizeText, ReplacesWhatIsNotUtf8) {
  EXPECT_EQ(SanitizeText("a\xFF"
                         "b"),
            std::string("a") + kReplacement + "b");
  EXPECT_EQ(SanitizeText("\x80"), kReplacement);                                  // stray continuation byte
  EXPECT_EQ(SanitizeText("\xC0\xAF"), std::string(kReplacement) + kReplacement);  // overlong "/"
  EXPECT_EQ(SanitizeText("\xED\xA0\x80"), std::string(kReplacement) + kReplacement + kReplacement);  // surrogate
  EXPECT_EQ(SanitizeText("\xF4\x90\x80\x80").find(kReplacement), 0u);                                // past U+10FFFF
  EXPECT_EQ(SanitizeText("cut \xE2\x82"), std::string("cut ") + kReplacement + kReplacement);
}

TEST(SanitizeText, ReplacesControlCharacters) {
  EXPECT_EQ(SanitizeText(std::string("a\0b", 3)), std::string("a") + kReplacement + "b");
  EXPECT_EQ(SanitizeText("\x1b[31m"), std::string(kReplacement) + "[31m");
  EXPECT_EQ(SanitizeText("\xEF\xBF\xBE"), kReplacement);  // U+FFFE, not an XML character
}

TEST(HtmlEscape, EscapesMarkupAndQuotes) {
  EXPECT_EQ(HtmlEscape("<script>alert(\"x\")</script> & 'y'"),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;");
  EXPECT_EQ(HtmlEscape("caf\xC3\xA9"), "caf\xC3\xA9");
  EXPECT_EQ(HtmlEscape("\xFF<"), std::string(kReplacement) + "&lt;");
}

TEST(XmlEscape, TextAndAttributes) {
  EXPECT_EQ(XmlEscape("a<b>&\"c'\n\td"), "a&lt;b&gt;&amp;&quot;c&apos;\n\td");
  EXPECT_EQ(XmlEscape("line1\nline2\tx\ry", true), "line1&#10;line2&#9;x&#13;y");
  EXPECT_EQ(XmlEscape("\x01"), kReplacement);
}

TEST(JsonForScript, CannotEndOrChangeTheScriptElement) {
  nlohmann::json value = {{"name", "</script><script>alert(1)</script>"},
                          {"comment", "<!-- x -->"},
                          {"amp", "a & b"},
                          {"lines",
                           "a\xE2\x80\xA8"
                           "b\xE2\x80\xA9"
                           "c"},
                          {"</script>", 1}};
  std::string out = JsonForScript(value);
  EXPECT_THAT(out, Not(HasSubstr("<")));
  EXPECT_THAT(out, Not(HasSubstr(">")));
  EXPECT_THAT(out, Not(HasSubstr("&")));
  EXPECT_THAT(out, Not(HasSubstr("\xE2\x80\xA8")));
  EXPECT_THAT(out, Not(HasSubstr("\xE2\x80\xA9")));
  EXPECT_THAT(out, HasSubstr("\\u003c/script\\u003e"));
  EXPECT_THAT(out, HasSubstr("\\u2028"));
  for (char c : out) EXPECT_LT(static_cast<unsigned char>(c), 0x80) << out;
  EXPECT_EQ(nlohmann::json::parse(out), value);
}

TEST(JsonForScript, InvalidUtf8IsReplacedNotThrown) {
  nlohmann::json value = {{"bad",
                           "a\xFF"
                           "b"}};
  std::string out;
  ASSERT_NO_THROW(out = JsonForScript(value));
  EXPECT_EQ(nlohmann::json::parse(out)["bad"], std::string("a") + kReplacement + "b");
}

}  // namespace
}  // namespace gotestrun::report
