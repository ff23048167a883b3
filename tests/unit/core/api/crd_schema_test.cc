// What the GoTestRun CRD promises beyond what the API server checks when it is
// installed: every field is described (kubectl explain shows it), every string and list
// is bounded (so CEL cost estimates stay small as the schema grows), nothing escapes
// the schema, and the printer columns point at fields that exist.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "core/api/yaml_json.h"
#include "base/files.h"

namespace gotestrun::api {
namespace {

const std::string kCrdsDir = GTR_CRDS_DIR;

Json LoadCrd() {
  StatusOr<std::string> text = ReadFile(kCrdsDir + "/gotestrun.dev_gotestruns.yaml");
  EXPECT_TRUE(text.ok()) << text.status();
  if (!text.ok()) return Json();
  StatusOr<Json> crd = YamlToJson(*text);
  EXPECT_TRUE(crd.ok()) << crd.status();
  return crd.ok() ? *crd : Json();
}

// Non-const on purpose: a missing key reads as null instead of tripping an assertion.
Json& Version(Json& crd) { return crd["spec"]["versions"][0]; }
Json& Schema(Json& crd) { return Version(crd)["schema"]["openAPIV3Schema"]; }

// Calls `visit` on every field schema below `schema` with its path, e.g.
// "spec.goTest.flags[]" for the items of flags.
void EachField(const Json& schema, const std::string& path,
               const std::function<void(const std::string&, const Json&)>& visit) {
  if (schema.contains("properties")) {
    for (const auto& [name, field] : schema["properties"].items()) {
      std::string p = path.empty() ? name : path + "." + name;
      visit(p, field);
      EachField(field, p, visit);
    }
  }
  if (schema.contains("items")) {
    visit(path + "[]", schema["items"]);
    EachField(schema["items"], path + "[]", visit);
  }
}

// Kubernetes describes these three itself and forbids saying more about metadata.
bool IsStandardField(const std::string& path) { return path == "apiVersion" || path == "kind" || path == "metadata"; }

TEST(GoTestRunCrd, NamesAndVersion) {
  Json crd = LoadCrd();
  EXPECT_EQ(crd["apiVersion"], "apiextensions.k8s.io/v1");
  EXPECT_EQ(crd["metadata"]["name"], "gotestruns.gotestrun.dev");
  EXPECT_EQ(crd["spec"]["group"], "gotestrun.dev");
  EXPECT_EQ(crd["spec"]["scope"], "Namespaced");
  Json& names = crd["spec"]["names"];
  EXPECT_EQ(names["kind"], "GoTestRun");
  EXPECT_EQ(names["plural"], "gotestruns");
  EXPECT_EQ(names["singular"], "gotestrun");
  EXPECT_EQ(names["shortNames"], Json::array({"gtr"}));
  EXPECT_EQ(names["categories"], Json::array({"gotestrun"}));
  ASSERT_EQ(crd["spec"]["versions"].size(), 1u);
  EXPECT_EQ(Version(crd)["name"], "v1alpha1");
  EXPECT_EQ(Version(crd)["served"], true);
  EXPECT_EQ(Version(crd)["storage"], true);
  EXPECT_EQ(Version(crd)["subresources"], (Json{{"status", Json::object()}}));
}

TEST(GoTestRunCrd, EveryFieldIsDescribed) {
  Json crd = LoadCrd();
  EXPECT_FALSE(Schema(crd).value("description", "").empty());
  EachField(Schema(crd), "", [](const std::string& path, const Json& field) {
    if (IsStandardField(path) || path.ends_with("[]")) return;
    EXPECT_FALSE(field.value("description", "").empty()) << path << " has no description";
  });
}

TEST(GoTestRunCrd, EveryStringAndListIsBounded) {
  Json crd = LoadCrd();
  int strings = 0, lists = 0;
  EachField(Schema(crd), "", [&](const std::string& path, const Json& field) {
    if (IsStandardField(path)) return;
    bool int_or_string = field.value("x-kubernetes-int-or-string", false);
    if (field.value("type", "") == "string" || int_or_string) {
      ++strings;
      bool bounded = field.contains("maxLength") || field.contains("enum") || field.value("format", "") == "date-time";
      EXPECT_TRUE(bounded) << path << ": a string needs maxLength, an enum or a date-time format";
    }
    if (field.value("type", "") == "array") {
      ++lists;
      EXPECT_TRUE(field.contains("maxItems")) << path << ": a list needs maxItems";
    }
  });
  EXPECT_GT(strings, 40);
  EXPECT_GT(lists, 10);
}

TEST(GoTestRunCrd, NothingEscapesTheSchema) {
  Json crd = LoadCrd();
  std::function<void(const Json&, const std::string&)> walk = [&](const Json& j, const std::string& where) {
    if (j.is_object()) {
      EXPECT_FALSE(j.contains("x-kubernetes-preserve-unknown-fields")) << where;
      // A map is allowed only where every value is itself fully typed (status.retryLog).
      if (j.contains("additionalProperties")) {
        EXPECT_TRUE(j["additionalProperties"].is_object() && j["additionalProperties"].contains("type")) << where;
        EXPECT_TRUE(j.contains("maxProperties")) << where << ": a map needs maxProperties";
      }
      for (const auto& [k, v] : j.items()) walk(v, where + "/" + k);
    } else if (j.is_array()) {
      for (size_t i = 0; i < j.size(); ++i) walk(j[i], where + "/" + std::to_string(i));
    }
  };
  walk(Schema(crd), "openAPIV3Schema");
}

// An unquoted True in the YAML would be a boolean, which the API server refuses in a
// string enum; this checks the file says what it means.
TEST(GoTestRunCrd, EnumsAreStrings) {
  Json crd = LoadCrd();
  int enums = 0;
  EachField(Schema(crd), "", [&](const std::string& path, const Json& field) {
    if (!field.contains("enum")) return;
    ++enums;
    for (const Json& v : field["enum"]) EXPECT_TRUE(v.is_string()) << path << ": " << v.dump();
  });
  EXPECT_GE(enums, 7);
}

TEST(GoTestRunCrd, EveryRuleSaysWhatIsWrong) {
  Json crd = LoadCrd();
  int rules = 0;
  std::function<void(const Json&, const std::string&)> walk = [&](const Json& j, const std::string& where) {
    if (!j.is_object()) return;
    if (j.contains("x-kubernetes-validations")) {
      for (const Json& rule : j["x-kubernetes-validations"]) {
        ++rules;
        EXPECT_TRUE(rule.contains("message") || rule.contains("messageExpression")) << where << ": " << rule.dump();
      }
    }
    for (const auto& [k, v] : j.items()) walk(v, where + "/" + k);
  };
  walk(Schema(crd), "openAPIV3Schema");
  EXPECT_GE(rules, 12);
}

TEST(GoTestRunCrd, PrinterColumnsPointAtFields) {
  Json crd = LoadCrd();
  std::vector<std::string> names;
  for (Json& column : Version(crd)["additionalPrinterColumns"]) {
    names.push_back(column["name"].get<std::string>());
    std::string path = column["jsonPath"].get<std::string>();
    ASSERT_EQ(path[0], '.') << path;
    if (path == ".metadata.creationTimestamp") continue;
    Json* schema = &Schema(crd);
    size_t start = 1;
    while (start <= path.size()) {
      size_t end = path.find('.', start);
      std::string part = path.substr(start, end == std::string::npos ? std::string::npos : end - start);
      ASSERT_TRUE(schema->contains("properties") && (*schema)["properties"].contains(part))
          << column["name"] << ": " << path << " has no " << part;
      schema = &(*schema)["properties"][part];
      if (end == std::string::npos) break;
      start = end + 1;
    }
    std::string type = column["type"].get<std::string>();
    EXPECT_EQ(schema->value("type", ""), type) << column["name"] << ": " << path;
  }
  EXPECT_EQ(names, (std::vector<std::string>{"Phase", "Shards", "Attempts", "OOMKills", "Age", "Message"}));
}

TEST(GoTestRunCrd, ExamplesAreGoTestRuns) {
  for (const char* name : {"minimal.yaml", "full.yaml"}) {
    StatusOr<std::string> text = ReadFile(kCrdsDir + "/examples/" + name);
    ASSERT_TRUE(text.ok()) << text.status();
    StatusOr<Json> run = YamlToJson(*text);
    ASSERT_TRUE(run.ok()) << name << ": " << run.status();
    EXPECT_EQ((*run)["apiVersion"], "gotestrun.dev/v1alpha1") << name;
    EXPECT_EQ((*run)["kind"], "GoTestRun") << name;
    // Kubernetes keeps decimals in strings; an unquoted ratio would be a number.
    if ((*run)["spec"].contains("retry")) {
      EXPECT_TRUE((*run)["spec"]["retry"]["memoryBumpRatio"].is_string()) << name;
    }
  }
}

}  // namespace
}  // namespace gotestrun::api
