// Which kind of object a request is about, and how its URL is built. Objects
// themselves stay JSON (nlohmann::json): the operator reads a handful of fields from
// each, and a typed model of every Kubernetes kind would be most of the code for none
// of the benefit.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace gotestrun::kube {

using Json = nlohmann::json;

struct ResourceType {
  std::string group;    // "" for the core group
  std::string version;  // "v1"
  std::string plural;   // "configmaps"
  bool namespaced = true;

  // "/api/v1" or "/apis/<group>/<version>"
  std::string GroupVersionPath() const;
  // The collection: ".../namespaces/<ns>/<plural>", or ".../<plural>" when `ns` is
  // empty (all namespaces) or the resource is cluster-scoped.
  std::string CollectionPath(std::string_view ns) const;
  std::string ObjectPath(std::string_view ns, std::string_view name) const;
  // "configmaps" or "gotestruns.gotestrun.dev", for messages.
  std::string Name() const;

  static ResourceType ConfigMaps() { return {"", "v1", "configmaps", true}; }
  static ResourceType Pods() { return {"", "v1", "pods", true}; }
  static ResourceType Nodes() { return {"", "v1", "nodes", false}; }
  static ResourceType Namespaces() { return {"", "v1", "namespaces", false}; }
  static ResourceType Events() { return {"", "v1", "events", true}; }
  static ResourceType Leases() { return {"coordination.k8s.io", "v1", "leases", true}; }
  static ResourceType CustomResourceDefinitions() {
    return {"apiextensions.k8s.io", "v1", "customresourcedefinitions", false};
  }
};

enum class Subresource { kNone, kStatus };

struct ListOptions {
  std::string label_selector;
  std::string field_selector;
  int64_t limit = 0;  // 0: no paging
  std::string continue_token;
  std::string resource_version;        // "" (most recent, quorum read) or "0" (any, from cache)
  std::string resource_version_match;  // "", "NotOlderThan" or "Exact"
};

struct ObjectList {
  std::vector<Json> items;
  std::string resource_version;
  std::string continue_token;
};

struct Preconditions {
  std::optional<std::string> uid;
  std::optional<std::string> resource_version;
};

struct DeleteOptions {
  Preconditions preconditions;
  std::optional<std::string> propagation_policy;  // Foreground, Background, Orphan
  std::optional<int64_t> grace_period_seconds;
};

struct WatchOptions {
  std::string resource_version;  // where to resume: events after this one
  std::string label_selector;
  std::string field_selector;
  bool allow_bookmarks = true;
  // The server ends the watch after this long (with jitter of its own); the watcher
  // then resumes from the last resourceVersion it saw.
  int timeout_seconds = 290;
};

enum class WatchEventType { kAdded, kModified, kDeleted, kBookmark, kError };

struct WatchEvent {
  WatchEventType type;
  Json object;
};

// Escapes a query value (selectors contain '=', ',' and '!').
std::string QueryEscape(std::string_view value);
std::string ListQuery(const ListOptions& options);
std::string WatchQuery(const WatchOptions& options);

// "<namespace>/<name>" or "<name>" for cluster-scoped objects; the key of caches and queues.
std::string ObjectKey(const Json& object);
std::string ResourceVersionOf(const Json& object);
// metadata.<field> when it is a string; "" for anything else, however malformed.
std::string MetaString(const Json& object, const char* field);

}  // namespace gotestrun::kube
