#include "core/api/yaml_json.h"

#include <sys/resource.h>

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace gotestrun::api {
namespace {

// Each expectation is the JSON text that sigs.k8s.io/yaml v1.6.0 (the conversion in
// kube-apiserver and kubectl v1.36) writes for the same YAML, as nlohmann::json reads
// it. Comparing dumps also compares number kinds: 1 and 1.0 dump differently.
struct Case {
  const char* name;
  const char* yaml;
  const char* json;
};

class MatchesKubernetes : public ::testing::TestWithParam<Case> {};

TEST_P(MatchesKubernetes, SameJson) {
  StatusOr<Json> got = YamlToJson(GetParam().yaml);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->dump(), Json::parse(GetParam().json).dump()) << GetParam().yaml;
}

INSTANTIATE_TEST_SUITE_P(
    YamlToJson, MatchesKubernetes,
    ::testing::Values(
        Case{"QuotedAndBlockScalarsStayStrings",
             "a: \"yes\"\nb: 'true'\nc: \"12\"\nd: \"1.5\"\ne: \"null\"\nf: |\n  two\n  lines\n"
             "g: >\n  folded\n  text\nh: \"\"\n",
             R"({"a":"yes","b":"true","c":"12","d":"1.5","e":"null","f":"two\nlines\n","g":"folded text\n","h":""})"},
        Case{"Yaml11Booleans", "a: yes\nb: no\nc: on\nd: off\ne: y\nf: n\ng: True\nh: FALSE\ni: tRUE\nj: Yes\n",
             R"({"a":true,"b":false,"c":true,"d":false,"e":true,"f":false,"g":true,"h":false,"i":"tRUE","j":true})"},
        Case{"Nulls", "a: ~\nb: null\nc: Null\nd: NULL\ne:\n", R"({"a":null,"b":null,"c":null,"d":null,"e":null})"},
        Case{"Integers",
             "a: 42\nb: -7\nc: +12\nd: 0x1F\ne: 0o17\nf: 0777\ng: 0b101\nh: 1_000\ni: 08\n"
             "j: 9223372036854775807\nk: -9223372036854775808\nl: 9223372036854775808\n"
             "m: 18446744073709551615\no: -9223372036854775809\np: -0x10\nq: 18446744073709551616\n",
             R"({"a":42,"b":-7,"c":12,"d":31,"e":15,"f":511,"g":5,"h":1000,"i":8,"j":9223372036854775807,
                 "k":-9223372036854775808,"l":9223372036854775808,"m":18446744073709551615,
                 "o":-9223372036854776000,"p":-16,"q":18446744073709552000})"},
        Case{"Floats",
             "a: 1.5\nb: .5\nc: -1.5e3\nd: 1e3\ne: 1.0\nf: 1.\ng: 1e21\nh: 1e20\ni: 1.5e-7\nj: 0.000001\n"
             "k: 1e999\nl: 1e-400\nm: ._5\no: -0.0\np: +.5\nq: 1_0.5\nr: .5_0\n",
             R"({"a":1.5,"b":0.5,"c":-1500,"d":1000,"e":1,"f":1,"g":1e+21,"h":100000000000000000000,
                 "i":1.5e-7,"j":0.000001,"k":"1e999","l":0,"m":"._5","o":-0,"p":0.5,"q":10.5,"r":0.5})"},
        Case{"TextThatLooksAlmostTyped",
             "a: 12 GB\nb: 512Mi\nc: 0.5.1\nd: 2001-12-14\ne: 2001-12-14T21:59:43.10Z\nf: 12e\ng: 0b\n"
             "h: \"<<\"\ni: <<\nj: -.5x\nk: 1:30\n",
             R"({"a":"12 GB","b":"512Mi","c":"0.5.1","d":"2001-12-14","e":"2001-12-14T21:59:43.10Z",
                 "f":"12e","g":"0b","h":"<<","i":"<<","j":"-.5x","k":"1:30"})"},
        Case{"KeysBecomeStrings",
             "yes: a\n1: b\n1.5: c\n0.1: d\n1e6: e\n3.14159265358979: f\n-0.0: g\n.inf: h\n0x10: i\n"
             "\"quoted\": j\n100000.0: k\n1e-5: l\n0.0001: m\n2001-12-14: x\n",
             R"({"-0":"g",".inf":"h","0.0001":"m","0.1":"d","1":"b","1.5":"c","100000":"k","16":"i",
                 "1e+06":"e","1e-05":"l","2001-12-14":"x","3.1415927":"f","quoted":"j","true":"a"})"},
        Case{"ExplicitTags",
             "a: !!str 12\nb: !!float 12\nc: !!int \"12\"\nd: !foo bar\ne: !!binary aGVsbG8=\nf: !!null \"\"\n"
             "g: !!timestamp 2001-01-01\nh: ! 12\ni: !!bool \"yes\"\nj: !!str\nk: !!float \"1.5\"\n"
             "l: !!timestamp 2000-02-29 1:2:3.456\nm: !!timestamp 2000-02-29t01:02:03+01:00\n",
             R"({"a":"12","b":12,"c":12,"d":"bar","e":"hello","f":null,"g":"2001-01-01","h":"12","i":true,
                 "j":"","k":1.5,"l":"2000-02-29 1:2:3.456","m":"2000-02-29t01:02:03+01:00"})"},
        Case{"BinaryThatIsNotTextBecomesReplacementCharacters", "!!binary gICA", R"("\ufffd\ufffd\ufffd")"},
        Case{"EscapesAreCodePoints", R"(k: "\x80\xff")", R"({"k":"\u0080\u00ff"})"},
        Case{"MergeKeys",
             "base: &b {a: 1, b: 2}\nx:\n  <<: *b\n  b: 3\nw:\n  b: 3\n  <<: *b\nz:\n  <<: [{a: 1}, {a: 2, c: 3}]\n",
             R"({"base":{"a":1,"b":2},"w":{"a":1,"b":2},"x":{"a":1,"b":3},"z":{"a":1,"c":3}})"},
        Case{"Aliases", "- &a [1, {k: v}]\n- *a\n", R"([[1,{"k":"v"}],[1,{"k":"v"}]])"},
        Case{"TopLevelScalar", "12", "12"}, Case{"TopLevelQuoted", "\"x\"", R"("x")"}, Case{"EmptyIsNull", "", "null"},
        Case{"CommentOnlyIsNull", "# nothing here\n", "null"},
        Case{"AManifest",
             "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  labels: {tier: \"1\"}\n"
             "data:\n  debug: \"true\"\n  limit: '512'\n",
             R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"settings","labels":{"tier":"1"}},
                 "data":{"debug":"true","limit":"512"}})"}),
    [](const ::testing::TestParamInfo<Case>& p) { return std::string(p.param.name); });

// Where Kubernetes' conversion fails, so does this one, saying what and where.
struct Refusal {
  const char* name;
  const char* yaml;
  const char* message;  // a part of the error message
};

class RefusesLikeKubernetes : public ::testing::TestWithParam<Refusal> {};

TEST_P(RefusesLikeKubernetes, InvalidArgument) {
  StatusOr<Json> got = YamlToJson(GetParam().yaml);
  ASSERT_FALSE(got.ok()) << GetParam().yaml << " gave " << got->dump();
  EXPECT_EQ(got.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(got.status().message().find(GetParam().message), std::string::npos) << got.status();
}

INSTANTIATE_TEST_SUITE_P(
    YamlToJson, RefusesLikeKubernetes,
    ::testing::Values(Refusal{"Infinity", "a: -.inf", "line 1, column 4, at a: JSON has no form for .inf or .nan"},
                      Refusal{"NaN", "a: .nan", "JSON has no form"},
                      Refusal{"NullKey", "~: 1", "a null key has no JSON form"},
                      Refusal{"UnsignedKey", "18446744073709551615: 1", "out of the range Kubernetes converts"},
                      Refusal{"IntTagOnText", "!!int abc", "cannot read !!str `abc` as !!int"},
                      Refusal{"TimestampTagOnText", "!!timestamp nope", "as !!timestamp"},
                      Refusal{"TimestampTagOnNoSuchDay", "!!timestamp 2001-02-29", "as !!timestamp"},
                      Refusal{"FloatTagOnUnsigned", "!!float 18446744073709551615", "cannot read !!int"},
                      Refusal{"BoolTagOnNumber", "!!bool 1", "cannot read !!int `1` as !!bool"},
                      Refusal{"SequenceKey", "? [1]\n: a\n", "cannot be a key"},
                      Refusal{"MergeOfScalar", "<<: 1", "a merge key (<<) takes a mapping"},
                      Refusal{"MergeOfListOfScalars", "<<: [1]", "a merge key (<<) takes a mapping"},
                      Refusal{"BadBase64", "!!binary '%%%'", "not base64"},
                      Refusal{"SyntaxError", "a: [1, 2\nb: 3\n", "YAML line"},
                      Refusal{"InvalidEscape", "x: \"\\ud800\"", "YAML line 1"}),
    [](const ::testing::TestParamInfo<Refusal>& p) { return std::string(p.param.name); });

TEST(YamlToJson, ErrorsSayWhereInTheDocument) {
  StatusOr<Json> got = YamlToJson("spec:\n  goTest:\n    flags:\n    - -race\n    - !!int x\n");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().message(), "line 5, column 7, at spec.goTest.flags[1]: cannot read !!str `x` as !!int");

  got = YamlToJson("metadata:\n  annotations:\n    example.com/a: .nan\n");
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.status().message().find(R"(at metadata.annotations["example.com/a"])"), std::string::npos)
      << got.status();
}

// Stricter than Kubernetes, which keeps one of the values without a word.
TEST(YamlToJson, RefusesAKeyWrittenTwice) {
  StatusOr<Json> got = YamlToJson("spec:\n  image: a\n  image: b\n");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(got.status().message().find("key \"image\" is written twice in one mapping (first on line 2)"),
            std::string::npos)
      << got.status();

  // The same JSON key from two spellings.
  EXPECT_FALSE(YamlToJson("1: a\n\"1\": b\n").ok());
  // A merged entry may be overridden: that is what merging is for.
  EXPECT_TRUE(YamlToJson("b: &b {x: 1}\nc:\n  <<: *b\n  x: 2\n").ok());
}

TEST(YamlToJson, RefusesTextThatIsNotUtf8) {
  StatusOr<Json> got = YamlToJson("a: \xff\xfe\n");
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.status().message().find("not valid UTF-8 (byte 3)"), std::string::npos) << got.status();
  // Overlong forms and surrogates are not UTF-8 either.
  EXPECT_FALSE(YamlToJson("a: \xc0\xaf\n").ok());
  EXPECT_FALSE(YamlToJson("a: \xed\xa0\x80\n").ok());
  // Multibyte text is fine.
  StatusOr<Json> ok = YamlToJson("a: \"h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x9a\x80\"\n");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ((*ok)["a"], "h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x9a\x80");
}

TEST(YamlToJson, RefusesMoreThanOneDocument) {
  StatusOr<Json> got = YamlToJson("a: 1\n---\nb: 2\n");
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.status().message().find("holds 2 documents"), std::string::npos) << got.status();
  // A leading marker does not make a second document.
  got = YamlToJson("---\na: 1\n");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, (Json{{"a", 1}}));
}

TEST(YamlToJson, AnAliasThatContainsItselfIsRefused) {
  StatusOr<Json> got = YamlToJson("a: &x [*x]\n");
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.status().message().find("an alias refers to a node that contains it"), std::string::npos)
      << got.status();
  EXPECT_NE(got.status().message().find("at a[0]"), std::string::npos) << got.status();
}

// Two self-references per level double the work at every level down to the depth
// limit: refused at the first one, in microseconds, not after 2^512 steps are cut
// short by the budget.
TEST(YamlToJson, ACycleIsRefusedAtOnceNotExpanded) {
  for (const char* cycle : {"b: &b x\nc: &c [b, *b, *b, *c, *c]\n", "d: {e: &e {f: *e, g: *e}}\n"}) {
    StatusOr<Json> got = YamlToJson(cycle);
    ASSERT_FALSE(got.ok()) << cycle;
    EXPECT_NE(got.status().message().find("an alias refers to a node that contains it"), std::string::npos)
        << got.status();
  }
  StatusOr<Json> got = Json(nullptr);
  // A node used twice side by side is no cycle.
  got = YamlToJson("a: &a {k: v}\nb: [*a, *a, {n: *a}]\n");
  ASSERT_TRUE(got.ok()) << got.status();
}

TEST(YamlToJson, AliasesThatExpandBeyondTheLimitAreRefused) {
  // Each level repeats the one before nine times: 9^9 values at the top.
  std::string bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n";
  for (char c = 'b'; c <= 'i'; ++c) {
    std::string prev(1, static_cast<char>(c - 1));
    bomb += std::string(1, c) + ": &" + c + " [*" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev +
            ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + "]\n";
  }
  StatusOr<Json> got = YamlToJson(bomb);
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.status().message().find("expands to more than 1048576 values"), std::string::npos) << got.status();
}

// Few values, many bytes: an alias to a 1 KiB string used 10^5 times is 100 MiB of
// text from a 1.4 KB document. Refused before it is built.
TEST(YamlToJson, AliasesRepeatingLongTextAreRefusedByTheirSize) {
  std::string bomb = "a: &a \"" + std::string(1024, 'x') + "\"\n";
  for (char c = 'b'; c <= 'f'; ++c) {
    std::string prev(1, static_cast<char>(c - 1));
    bomb += std::string(1, c) + ": &" + c + " [";
    for (int i = 0; i < 10; ++i) bomb += (i ? ", *" : "*") + prev;
    bomb += "]\n";
  }
  ASSERT_LT(bomb.size(), 1500u);
  rusage before{};
  getrusage(RUSAGE_SELF, &before);
  StatusOr<Json> got = YamlToJson(bomb);
  rusage after{};
  getrusage(RUSAGE_SELF, &after);
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.status().message().find("expands to more than 64 MiB"), std::string::npos) << got.status();
  // AddressSanitizer keeps up to 256 MiB of freed memory in quarantine, which the peak
  // counts; the expansion this guards against (577 MB before the byte limit) is still
  // far above either bound.
#if defined(__SANITIZE_ADDRESS__)
  constexpr long kBoundKiB = (100 + 256) << 10;
#else
  constexpr long kBoundKiB = 100 << 10;
#endif
  EXPECT_LT(after.ru_maxrss - before.ru_maxrss, kBoundKiB)
      << "peak RSS grew by " << (after.ru_maxrss - before.ru_maxrss) << " KiB";
}

// yaml-cpp 0.7 loops forever on a ',' where a document should start, making empty
// documents until memory runs out (found by tests/fuzz/manifest_fuzz).
TEST(YamlToJson, ACommaWhereADocumentStartsIsAnErrorNotAHang) {
  for (const char* yaml : {",\"", ",", "- a\n,", "---\n,", "a: 1\n---\n,"}) {
    StatusOr<std::vector<Json>> docs = YamlDocumentsToJson(yaml);
    ASSERT_FALSE(docs.ok()) << yaml;
    EXPECT_NE(docs.status().message().find("unexpected ',' outside a flow collection"), std::string::npos)
        << docs.status();
  }
  EXPECT_TRUE(YamlToJson("a,\"").ok());
  EXPECT_TRUE(YamlToJson("[a, b]").ok());
}

TEST(YamlToJson, ByteLimitCanBeTightened) {
  YamlLimits tight{.max_bytes = 150};
  EXPECT_TRUE(YamlToJson("a: &a xxxxxxxxxx\nb: *a", tight).ok());
  StatusOr<Json> big = YamlToJson("a: &a " + std::string(40, 'x') + "\nb: [*a, *a]", tight);
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.status().message().find("at b[1]: the document expands to more than 150 bytes"), std::string::npos)
      << big.status();
}

TEST(YamlToJson, LimitsCanBeTightened) {
  YamlLimits tight{.max_depth = 2, .max_values = 5};
  EXPECT_TRUE(YamlToJson("a: {b: 1}", tight).ok());
  StatusOr<Json> deep = YamlToJson("a: {b: [1]}", tight);
  ASSERT_FALSE(deep.ok());
  EXPECT_NE(deep.status().message().find("nested deeper than 2 levels"), std::string::npos) << deep.status();
  StatusOr<Json> many = YamlToJson("[1, 2, 3, 4, 5]", tight);
  ASSERT_FALSE(many.ok());
  EXPECT_NE(many.status().message().find("more than 5 values"), std::string::npos) << many.status();
}

TEST(YamlDocumentsToJson, EveryDocumentInOrderWithoutEmptyOnes) {
  StatusOr<std::vector<Json>> docs = YamlDocumentsToJson("---\na: 1\n---\n---\n~\n---\nb: 2\n...\n");
  ASSERT_TRUE(docs.ok()) << docs.status();
  ASSERT_EQ(docs->size(), 2u);
  EXPECT_EQ((*docs)[0], (Json{{"a", 1}}));
  EXPECT_EQ((*docs)[1], (Json{{"b", 2}}));

  docs = YamlDocumentsToJson("");
  ASSERT_TRUE(docs.ok()) << docs.status();
  EXPECT_TRUE(docs->empty());
}

TEST(YamlDocumentsToJson, AnErrorInAnyDocumentFailsTheStream) {
  StatusOr<std::vector<Json>> docs = YamlDocumentsToJson("a: 1\n---\nb: .inf\n");
  ASSERT_FALSE(docs.ok());
  EXPECT_EQ(docs.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(docs.status().message().find("at b"), std::string::npos) << docs.status();
}

// What the API server is sent must survive being written out: nlohmann::json refuses to
// dump a string that is not UTF-8, and the converter never produces one.
TEST(YamlToJson, ResultsAlwaysDump) {
  for (const char* yaml : {"!!binary gICA", "a: !!binary 7aCA", "!!binary /w==", "k: \"\\x80\\xff\""}) {
    StatusOr<Json> got = YamlToJson(yaml);
    ASSERT_TRUE(got.ok()) << yaml << ": " << got.status();
    EXPECT_NO_THROW((void)got->dump()) << yaml;
  }
}

}  // namespace
}  // namespace gotestrun::api
