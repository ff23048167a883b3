#include "kube/client/resource.h"

namespace gotestrun::kube {

std::string ResourceType::GroupVersionPath() const {
  return group.empty() ? "/api/" + version : "/apis/" + group + "/" + version;
}

std::string ResourceType::CollectionPath(std::string_view ns) const {
  if (!namespaced || ns.empty()) return GroupVersionPath() + "/" + plural;
  return GroupVersionPath() + "/namespaces/" + std::string(ns) + "/" + plural;
}

std::string ResourceType::ObjectPath(std::string_view ns, std::string_view name) const {
  return CollectionPath(namespaced ? ns : std::string_view()) + "/" + std::string(name);
}

std::string ResourceType::Name() const { return group.empty() ? plural : plural + "." + group; }

std::string QueryEscape(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

namespace {
void AddParam(std::string& q, std::string_view key, std::string_view value) {
  if (value.empty()) return;
  q += q.empty() ? '?' : '&';
  q += key;
  q += '=';
  q += QueryEscape(value);
}
}  // namespace

std::string ListQuery(const ListOptions& o) {
  std::string q;
  AddParam(q, "labelSelector", o.label_selector);
  AddParam(q, "fieldSelector", o.field_selector);
  if (o.limit > 0) AddParam(q, "limit", std::to_string(o.limit));
  AddParam(q, "continue", o.continue_token);
  AddParam(q, "resourceVersion", o.resource_version);
  AddParam(q, "resourceVersionMatch", o.resource_version_match);
  return q;
}

std::string WatchQuery(const WatchOptions& o) {
  std::string q = "?watch=true";
  AddParam(q, "resourceVersion", o.resource_version);
  AddParam(q, "labelSelector", o.label_selector);
  AddParam(q, "fieldSelector", o.field_selector);
  if (o.allow_bookmarks) AddParam(q, "allowWatchBookmarks", "true");
  if (o.timeout_seconds > 0) AddParam(q, "timeoutSeconds", std::to_string(o.timeout_seconds));
  return q;
}

std::string MetaString(const Json& object, const char* field) {
  if (!object.is_object()) return {};
  auto meta = object.find("metadata");
  if (meta == object.end() || !meta->is_object()) return {};
  auto it = meta->find(field);
  return it != meta->end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string ObjectKey(const Json& object) {
  std::string name = MetaString(object, "name");
  if (name.empty()) return {};
  std::string ns = MetaString(object, "namespace");
  return ns.empty() ? name : ns + "/" + name;
}

std::string ResourceVersionOf(const Json& object) { return MetaString(object, "resourceVersion"); }

}  // namespace gotestrun::kube
