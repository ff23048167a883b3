// The informer's local copy of the objects of one kind, by key ("ns/name").
//
// Readers get shared, immutable snapshots of objects (no copy, and no lock held while
// they read). A relist replaces the whole content at once, so no reader ever sees a
// mix of the old set and the new.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "kube/client/resource.h"

namespace gotestrun::runtime {

using ObjectPtr = std::shared_ptr<const kube::Json>;

class Store {
 public:
  ObjectPtr Get(const std::string& key) const;
  std::vector<ObjectPtr> List() const;
  std::vector<std::string> Keys() const;
  size_t size() const;

  // Replaces the content; returns the keys whose object was added, changed (by
  // resourceVersion) or removed, so a change can be announced for each.
  std::vector<std::string> Replace(std::vector<kube::Json>&& objects);
  // Added/Modified store the object, Deleted removes it; returns its key.
  std::string Apply(kube::WatchEventType type, kube::Json&& object);

 private:
  mutable std::mutex mu_;
  std::unordered_map<std::string, ObjectPtr> objects_;
};

}  // namespace gotestrun::runtime
