// JSON written as block YAML, for the files of a local run folder (run.yaml,
// status.yaml) that people read and that api::YamlToJson reads back.
//
// Promise: YamlToJson(ToYaml(j)) == j for every JSON value whose numbers are integers
// or finite floats. A string is written plain only when it reads back as the same
// string; otherwise it is double-quoted with JSON's escapes (valid YAML escapes).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace gotestrun::cli {

// Ends in "\n" (an empty object is "{}\n").
std::string ToYaml(const nlohmann::json& value);

}  // namespace gotestrun::cli
