#include "cli/yaml_text.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/api/yaml_json.h"

namespace gotestrun::cli {
namespace {

using nlohmann::json;

void ExpectRoundTrip(const json& j) {
  std::string text = ToYaml(j);
  StatusOr<json> back = api::YamlToJson(text);
  ASSERT_TRUE(back.ok()) << back.status() << "\n" << text;
  EXPECT_EQ(*back, j) << text;
}

TEST(ToYaml, ReadsBackAsTheSameJson) {
  ExpectRoundTrip(json::parse(R"({"a": 1, "b": "x", "c": [1, 2], "d": {"e": [], "f": {}}, "g": null, "h": true})"));
  ExpectRoundTrip(json::parse(R"([{"a": [{"b": [[1, "2"], []]}]}, [], {}, "s", -3])"));
  // Strings YAML would read as something else stay strings.
  ExpectRoundTrip(
      json::array({"yes",       "no",       "on",       "Off",  "y",     "N",       "true",  "null",        "~",
                   "",          "1e3",      "0x1f",     "012",  "1_000", "1.5",     ".5",    "-1",          "+1",
                   ".inf",      "256Mi",    "-mod=mod", "a: b", "a #b",  "#c",      "- x",   "[x]",         "{x}",
                   "*x",        "&x",       "!x",       "|",    ">",     "'q'",     "\"q\"", "multi\nline", "tab\there",
                   "trailing ", " leading", "%x",       "@x",   "`x",    "ünïcode", "\x01"}));
  ExpectRoundTrip(json::parse(R"({"yes": 1, "1": 2, "a b": 3, "": 4, "null": 5})"));
  ExpectRoundTrip(json::parse(R"({"peak": 18446744073709551615, "neg": -9223372036854775807, "f": 1.5, "z": 0})"));
  ExpectRoundTrip(json::object());
  ExpectRoundTrip(json::array());
  ExpectRoundTrip(json("top"));
}

TEST(ToYaml, IsBlockYamlPeopleCanRead) {
  json j = json::parse(R"({"metadata": {"name": "demo"}, "spec": {"packages": ["./leak", "./clean/..."],
                            "resources": {"memory": "256Mi"}}, "message": "all 5 package(s) passed"})");
  EXPECT_EQ(ToYaml(j),
            "message: \"all 5 package(s) passed\"\n"
            "metadata:\n"
            "  name: demo\n"
            "spec:\n"
            "  packages:\n"
            "  - ./leak\n"
            "  - ./clean/...\n"
            "  resources:\n"
            "    memory: 256Mi\n");
  EXPECT_EQ(ToYaml(json::parse(R"({"shards": [{"index": 0, "attempts": [{"attempt": 1}]}]})")),
            "shards:\n"
            "- attempts:\n"
            "  - attempt: 1\n"
            "  index: 0\n");
}

}  // namespace
}  // namespace gotestrun::cli
