#include "cli/yaml_text.h"

#include <cctype>

#include "core/api/yaml_json.h"

namespace gotestrun::cli {
namespace {

using nlohmann::json;

// Plain only for a conservative set of characters (no spaces, colons, comment or flow
// indicators), and only when the YAML reader takes it back as the same string, so
// that "256Mi" stays plain while "1e3", "yes", "0x1f" and "null" are quoted.
bool PlainSafe(const std::string& s) {
  if (s.empty() || s.size() > 256) return false;
  unsigned char first = static_cast<unsigned char>(s[0]);
  if (!std::isalnum(first) && first != '.' && first != '/') return false;
  for (unsigned char c : s) {
    if (!std::isalnum(c) && c != '.' && c != '/' && c != '_' && c != '-' && c != '+' && c != '=' && c != '@')
      return false;
  }
  StatusOr<json> back = api::YamlToJson(s);
  return back.ok() && back->is_string() && back->get<std::string>() == s;
}

std::string Scalar(const json& v) {
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    return PlainSafe(s) ? s : json(s).dump(-1, ' ', false, json::error_handler_t::replace);
  }
  return v.dump();
}

bool Inline(const json& v) { return !v.is_structured() || v.empty(); }

void Write(const json& v, int indent, std::string& out);

void WriteObject(const json& v, int indent, std::string& out, bool first_inline) {
  bool first = true;
  for (const auto& [key, value] : v.items()) {
    if (!(first && first_inline)) out.append(indent, ' ');
    first = false;
    out += Scalar(json(key)) + ":";
    if (Inline(value)) {
      out += " " + (value.is_structured() ? std::string(value.is_object() ? "{}" : "[]") : Scalar(value)) + "\n";
    } else {
      out += "\n";
      // Lists under a key sit at the key's indentation, as kubectl writes them.
      Write(value, value.is_array() ? indent : indent + 2, out);
    }
  }
}

void WriteArray(const json& v, int indent, std::string& out) {
  for (const json& item : v) {
    out.append(indent, ' ');
    out += "- ";
    if (Inline(item)) {
      out += (item.is_structured() ? std::string(item.is_object() ? "{}" : "[]") : Scalar(item)) + "\n";
    } else if (item.is_object()) {
      WriteObject(item, indent + 2, out, true);
    } else {
      out += "\n";
      Write(item, indent + 2, out);
    }
  }
}

void Write(const json& v, int indent, std::string& out) {
  if (v.is_object()) {
    WriteObject(v, indent, out, false);
  } else {
    WriteArray(v, indent, out);
  }
}

}  // namespace

std::string ToYaml(const json& value) {
  if (Inline(value)) {
    return (value.is_structured() ? std::string(value.is_object() ? "{}" : "[]") : Scalar(value)) + "\n";
  }
  std::string out;
  Write(value, 0, out);
  return out;
}

}  // namespace gotestrun::cli
