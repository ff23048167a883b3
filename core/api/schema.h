// An OpenAPI v3 structural schema, as a CustomResourceDefinition holds it, applied to a
// JSON value the way the API server applies it before any CEL rule: types (with
// x-kubernetes-int-or-string), required properties, unknown fields (refused, as strict
// field validation does), string lengths and patterns, enums, item counts, numeric
// bounds. CEL rules (x-kubernetes-validations) are not evaluated here.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace gotestrun::api {

// InvalidArgument naming the first field that breaks `schema` by its path from `path`
// (e.g. "spec.goTest.parallell: unknown field"). Patterns are matched as ECMAScript
// regular expressions, which the CRD's RE2 patterns are written to be.
Status CheckSchema(const nlohmann::json& schema, const nlohmann::json& value, const std::string& path);

}  // namespace gotestrun::api
