// The status codec against the CRD: every field the encoder can write is a field of
// the CRD's status schema with that type (the API server would prune anything else,
// and a run would silently forget it), and decoding survives any JSON.
#include "core/api/status.h"

#include <gtest/gtest.h>

#include <string>

#include "base/files.h"
#include "core/api/yaml_json.h"

namespace gotestrun::api {
namespace {

using nlohmann::json;

json StatusSchema() {
  StatusOr<std::string> text = ReadFile(std::string(GTR_CRDS_DIR) + "/gotestrun.dev_gotestruns.yaml");
  EXPECT_TRUE(text.ok()) << text.status();
  if (!text.ok()) return json();
  StatusOr<json> crd = YamlToJson(*text);
  EXPECT_TRUE(crd.ok()) << crd.status();
  if (!crd.ok()) return json();
  return (*crd)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["status"];
}

// A status with every field set, as the encoder writes it.
RunStatus Full() {
  RunStatus s;
  s.phase = "Failed";
  s.observed_generation = 3;
  s.conditions.push_back({"Succeeded", "False", "PackagesFailed", "x/big did not fit", "2026-01-02T03:04:05Z", 3});
  s.start_time = "2026-01-02T03:00:00Z";
  s.completion_time = "2026-01-02T03:04:05Z";
  s.shard_count = 2;
  s.attempt_count = 3;
  s.oom_kills = 1;
  s.packages.push_back({"x/big", "OOMKilled", 1, 2, 300u << 20, 200u << 20});
  AttemptStatus a;
  a.attempt = 2;
  a.pod = "run-s1-a2";
  a.memory = "288Mi";
  a.parallel = 2;
  a.p = 1;
  a.gomemlimit = "230MiB";
  a.outcome = "OOMKilled";
  a.phase = "test-run";
  a.peak_bytes = 288u << 20;
  a.build_peak_bytes = 190u << 20;
  a.killed_package = "x/big";
  a.running_test = "TestFullIndex";
  a.start_time = "2026-01-02T03:01:00Z";
  a.finish_time = "2026-01-02T03:02:00Z";
  a.message = "OOM kill of x/big";
  s.shards.push_back({1, {"x/big"}, {a}});
  s.diagnosis.push_back({"x/big",
                         "test-run",
                         "LargeTest",
                         "TestFullIndex needs 350 MiB",
                         {"peak 288 MiB"},
                         "DoesNotFit: killed alone at 288Mi",
                         "run-s1-a2",
                         "killed alone at 288Mi"});
  s.warnings.push_back({"x/a", "NearLimit", "peak 255Mi of its 256Mi limit (99.6%)", "run-s0-a1"});
  s.retry_log["x/big"].push_back({1, 2, 288u << 20, 2, 1, 230u << 20, 288u << 20, 40u << 20, "killed", "test-run",
                                  "LargeTest", true, "DoesNotFit"});
  s.message = "x/big did not fit";
  return s;
}

// Walks `value` along `schema`; every key must be declared with the value's type.
void ExpectDeclared(const json& value, const json& schema, const std::string& path) {
  ASSERT_TRUE(schema.is_object()) << path << " is not in the CRD";
  const bool int_or_string = schema.value("x-kubernetes-int-or-string", false);
  const std::string type = schema.value("type", "");
  if (value.is_object()) {
    ASSERT_EQ(type, "object") << path;
    for (const auto& [key, v] : value.items()) {
      const std::string p = path + "." + key;
      if (schema.contains("properties") && schema["properties"].contains(key)) {
        ExpectDeclared(v, schema["properties"][key], p);
      } else if (schema.contains("additionalProperties")) {
        ExpectDeclared(v, schema["additionalProperties"], p);
      } else {
        ADD_FAILURE() << p << " is written but not in the CRD";
      }
    }
  } else if (value.is_array()) {
    ASSERT_EQ(type, "array") << path;
    for (const json& e : value) ExpectDeclared(e, schema["items"], path + "[]");
  } else if (value.is_string()) {
    EXPECT_TRUE(type == "string" || int_or_string) << path << " is a string, the CRD says " << type;
    if (schema.contains("enum")) {
      bool listed = false;
      for (const json& e : schema["enum"]) listed = listed || e == value;
      EXPECT_TRUE(listed) << path << ": " << value << " is not one of the CRD's values";
    }
  } else if (value.is_number_integer()) {
    EXPECT_TRUE(type == "integer" || int_or_string) << path << " is an integer, the CRD says " << type;
  } else if (value.is_boolean()) {
    EXPECT_EQ(type, "boolean") << path;
  } else {
    ADD_FAILURE() << path << " has a JSON type the CRD cannot hold: " << value;
  }
}

TEST(StatusCodec, EveryFieldWrittenIsInTheCrdWithItsType) {
  json schema = StatusSchema();
  json encoded = EncodeStatus(Full());
  ExpectDeclared(encoded, schema, "status");
  // Every member of the structs is written: a field added to them without its
  // encoding (or its CRD entry) shows up here.
  EXPECT_EQ(encoded.size(), 14u);
  EXPECT_EQ(encoded["shards"][0]["attempts"][0].size(), 15u);
  EXPECT_EQ(encoded["packages"][0].size(), 6u);
  EXPECT_EQ(encoded["diagnosis"][0].size(), 8u);
  EXPECT_EQ(encoded["warnings"][0].size(), 4u);
  EXPECT_EQ(encoded["retryLog"]["x/big"][0].size(), 13u);
  EXPECT_EQ(encoded["conditions"][0].size(), 6u);
}

TEST(StatusCodec, RoundTripsWhatItWrote) {
  RunStatus full = Full();
  json encoded = EncodeStatus(full);
  EXPECT_EQ(DecodeStatus(encoded), full);
  EXPECT_EQ(EncodeStatus(DecodeStatus(encoded)), encoded);
  EXPECT_EQ(EncodeStatus(RunStatus{}), json::object());
  EXPECT_EQ(DecodeStatus(json::object()), RunStatus{});
}

TEST(StatusCodec, ReadsWhatOthersMayHaveWritten) {
  // A quantity as an integer, one evidence line as a string, missing attempt numbers.
  json j = json::parse(R"({"shards": [{"packages": ["a"], "attempts": [{"memory": 268435456}, {"outcome": "Running"}]}],
                           "diagnosis": [{"package": "a", "evidence": "one line"}]})");
  RunStatus s = DecodeStatus(j);
  ASSERT_EQ(s.shards.size(), 1u);
  EXPECT_EQ(s.shards[0].index, 0);
  ASSERT_EQ(s.shards[0].attempts.size(), 2u);
  EXPECT_EQ(s.shards[0].attempts[0].memory, "268435456");
  EXPECT_EQ(s.shards[0].attempts[1].attempt, 2);
  EXPECT_EQ(s.diagnosis.at(0).evidence, std::vector<std::string>{"one line"});
}

TEST(StatusCodec, NeverTrustsTheShapeOfTheStatus) {
  for (const char* odd : {R"(null)", R"([])", R"("x")", R"({"phase": 7})", R"({"shards": {"a": 1}})",
                          R"({"shards": [null, 1, "x", {"attempts": [null, {"attempt": "one"}]}]})",
                          R"({"retryLog": {"p": [1, {"memory": -5, "peak": 1e300}], "q": "x"}})",
                          R"({"packages": [{"attempts": 99999999999999}], "oomKills": -1.5})",
                          R"({"conditions": [{"type": ["x"], "observedGeneration": 18446744073709551615}]})",
                          R"({"diagnosis": [{"evidence": [1, null, "ok"]}]})"}) {
    json j = json::parse(odd);
    RunStatus s;
    EXPECT_NO_THROW(s = DecodeStatus(j)) << odd;
    EXPECT_NO_THROW(EncodeStatus(s)) << odd;
  }
  RunStatus s =
      DecodeStatus(json::parse(R"({"retryLog": {"p": [{"memory": -5}]}, "packages": [{"attempts": 99999999999999}]})"));
  EXPECT_EQ(s.retry_log.at("p").at(0).memory, 0u);
  EXPECT_EQ(s.packages.at(0).attempts, std::nullopt);
}

TEST(StatusCodec, AConditionKeepsItsTransitionTimeUntilItsStatusChanges) {
  RunStatus s;
  SetCondition(s, "Succeeded", "Unknown", "Planning", "listing", 1, "t1");
  SetCondition(s, "Succeeded", "Unknown", "Running", "5 packages", 1, "t2");
  ASSERT_EQ(s.conditions.size(), 1u);
  EXPECT_EQ(s.conditions[0].last_transition_time, "t1");
  EXPECT_EQ(s.conditions[0].reason, "Running");
  SetCondition(s, "Succeeded", "True", "AllPassed", "ok", 2, "t3");
  EXPECT_EQ(s.conditions[0].last_transition_time, "t3");
  EXPECT_EQ(s.conditions[0].observed_generation, 2);
  SetCondition(s, "MemoryGrowth", "False", "WithinBaseline", "ok", 2, "t3");
  EXPECT_EQ(s.conditions.size(), 2u);
  ASSERT_NE(s.FindCondition("MemoryGrowth"), nullptr);
  EXPECT_EQ(s.FindCondition("Nope"), nullptr);
}

}  // namespace
}  // namespace gotestrun::api
