#include "core/api/schema.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <regex>
#include <vector>

namespace gotestrun::api {
namespace {

using Json = nlohmann::json;

Status Bad(const std::string& path, const std::string& problem) { return InvalidArgumentError(path + ": " + problem); }

// Patterns compiled once: the CRD's are few and ParseSpec runs on every reconcile.
const std::regex& Compiled(const std::string& pattern) {
  static std::mutex mu;
  static std::map<std::string, std::regex, std::less<>> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(pattern);
  if (it == cache.end()) it = cache.emplace(pattern, std::regex(pattern, std::regex::ECMAScript)).first;
  return it->second;
}

// Characters, as the API server counts a string's length (runes, not bytes).
size_t Runes(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

std::string Shown(const std::string& s) {
  if (s.size() <= 64) return "\"" + s + "\"";
  return "\"" + s.substr(0, 61) + "...\"";
}

bool IsType(const Json& value, const std::string& type) {
  if (type == "object") return value.is_object();
  if (type == "array") return value.is_array();
  if (type == "string") return value.is_string();
  if (type == "boolean") return value.is_boolean();
  if (type == "integer") return value.is_number_integer();
  if (type == "number") return value.is_number();
  return true;
}

Status CheckString(const Json& schema, const std::string& s, const std::string& path) {
  size_t runes = Runes(s);
  if (schema.contains("minLength") && runes < schema["minLength"].get<size_t>()) {
    return Bad(path, schema["minLength"].get<size_t>() == 1
                         ? "must not be empty"
                         : "must be at least " + schema["minLength"].dump() + " characters");
  }
  if (schema.contains("maxLength") && runes > schema["maxLength"].get<size_t>()) {
    return Bad(path, "must be at most " + schema["maxLength"].dump() + " characters, not " + std::to_string(runes));
  }
  if (schema.contains("pattern") && !std::regex_search(s, Compiled(schema["pattern"].get<std::string>()))) {
    return Bad(path, Shown(s) + " does not match " + schema["pattern"].get<std::string>());
  }
  if (schema.contains("enum")) {
    bool listed = false;
    for (const Json& e : schema["enum"]) listed = listed || e == s;
    if (!listed) return Bad(path, Shown(s) + " is not one of " + schema["enum"].dump());
  }
  return Status::Ok();
}

}  // namespace

Status CheckSchema(const Json& schema, const Json& value, const std::string& path) {
  if (!schema.is_object()) return Status::Ok();
  if (value.is_null()) {
    if (schema.value("nullable", false)) return Status::Ok();
    return Bad(path, "must not be null");
  }
  if (schema.value("x-kubernetes-int-or-string", false)) {
    if (!value.is_string() && !value.is_number_integer()) return Bad(path, "must be an integer or a string");
  } else if (schema.contains("type") && !IsType(value, schema["type"].get<std::string>())) {
    std::string type = schema["type"].get<std::string>();
    return Bad(path, std::string("must be ") +
                         (type == "integer" || type == "array" || type == "object" ? "an " : "a ") +
                         (type == "boolean" ? "boolean (true or false)" : type));
  }

  if (value.is_string()) GTR_RETURN_IF_ERROR(CheckString(schema, value.get_ref<const std::string&>(), path));
  if (value.is_number()) {
    if (schema.contains("minimum") && value.get<double>() < schema["minimum"].get<double>()) {
      return Bad(path, "must be at least " + schema["minimum"].dump());
    }
    if (schema.contains("maximum") && value.get<double>() > schema["maximum"].get<double>()) {
      return Bad(path, "must be at most " + schema["maximum"].dump());
    }
    if (schema.value("format", "") == "int32" && value.is_number_integer() &&
        (value.get<double>() < -2147483648.0 || value.get<double>() > 2147483647.0)) {
      return Bad(path, "must fit in 32 bits");
    }
  }
  if (value.is_array()) {
    if (schema.contains("minItems") && value.size() < schema["minItems"].get<size_t>()) {
      return Bad(path, "must have at least " + schema["minItems"].dump() + " items");
    }
    if (schema.contains("maxItems") && value.size() > schema["maxItems"].get<size_t>()) {
      return Bad(path, "must have at most " + schema["maxItems"].dump() + " items");
    }
    // Lists that are sets, or maps keyed by some of their items' fields, hold each
    // value (key) once; the API server refuses a repeat as a duplicate.
    const std::string list_type = schema.value("x-kubernetes-list-type", "");
    if (list_type == "set" || list_type == "map") {
      std::vector<Json> seen;
      for (size_t i = 0; i < value.size(); ++i) {
        Json key = value[i];
        if (list_type == "map" && schema.contains("x-kubernetes-list-map-keys") && value[i].is_object()) {
          key = Json::object();
          for (const Json& k : schema["x-kubernetes-list-map-keys"]) {
            const std::string& name = k.get_ref<const std::string&>();
            key[name] = value[i].contains(name) ? value[i][name] : Json();
          }
        }
        if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
          return Bad(path + "[" + std::to_string(i) + "]", "duplicate value " + key.dump());
        }
        seen.push_back(std::move(key));
      }
    }
    if (schema.contains("items")) {
      for (size_t i = 0; i < value.size(); ++i) {
        GTR_RETURN_IF_ERROR(CheckSchema(schema["items"], value[i], path + "[" + std::to_string(i) + "]"));
      }
    }
  }
  if (value.is_object()) {
    if (schema.contains("required")) {
      for (const Json& name : schema["required"]) {
        if (!value.contains(name.get<std::string>())) return Bad(path + "." + name.get<std::string>(), "required");
      }
    }
    const bool open = schema.value("x-kubernetes-preserve-unknown-fields", false);
    const Json* properties = schema.contains("properties") ? &schema["properties"] : nullptr;
    const Json* additional = schema.contains("additionalProperties") && schema["additionalProperties"].is_object()
                                 ? &schema["additionalProperties"]
                                 : nullptr;
    for (const auto& [key, item] : value.items()) {
      std::string at = path + "." + key;
      if (properties != nullptr && properties->contains(key)) {
        GTR_RETURN_IF_ERROR(CheckSchema((*properties)[key], item, at));
      } else if (additional != nullptr) {
        GTR_RETURN_IF_ERROR(CheckSchema(*additional, item, at));
      } else if (!open && (properties != nullptr || schema.value("type", "") == "object")) {
        return InvalidArgumentError("unknown field " + (at.size() > 200 ? at.substr(0, 197) + "..." : at));
      }
    }
  }
  return Status::Ok();
}

}  // namespace gotestrun::api
