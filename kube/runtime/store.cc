#include "kube/runtime/store.h"

namespace gotestrun::runtime {

ObjectPtr Store::Get(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = objects_.find(key);
  return it == objects_.end() ? nullptr : it->second;
}

std::vector<ObjectPtr> Store::List() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<ObjectPtr> out;
  out.reserve(objects_.size());
  for (const auto& [k, v] : objects_) out.push_back(v);
  return out;
}

std::vector<std::string> Store::Keys() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  out.reserve(objects_.size());
  for (const auto& [k, v] : objects_) out.push_back(k);
  return out;
}

size_t Store::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return objects_.size();
}

std::vector<std::string> Store::Replace(std::vector<kube::Json>&& objects) {
  // The new map is built outside the lock; only the swap happens under it.
  std::unordered_map<std::string, ObjectPtr> next;
  next.reserve(objects.size());
  for (kube::Json& o : objects) {
    std::string key = kube::ObjectKey(o);
    if (key.empty()) continue;
    next[std::move(key)] = std::make_shared<const kube::Json>(std::move(o));
  }
  std::unordered_map<std::string, ObjectPtr> previous;
  {
    std::lock_guard<std::mutex> lock(mu_);
    previous.swap(objects_);
    objects_ = next;
  }
  std::vector<std::string> changed;
  for (const auto& [key, obj] : next) {
    auto it = previous.find(key);
    if (it == previous.end() || kube::ResourceVersionOf(*it->second) != kube::ResourceVersionOf(*obj)) {
      changed.push_back(key);
    }
  }
  for (const auto& [key, obj] : previous) {
    if (!next.contains(key)) changed.push_back(key);
  }
  return changed;
}

std::string Store::Apply(kube::WatchEventType type, kube::Json&& object) {
  std::string key = kube::ObjectKey(object);
  if (key.empty()) return key;
  std::lock_guard<std::mutex> lock(mu_);
  if (type == kube::WatchEventType::kDeleted) {
    objects_.erase(key);
  } else if (type == kube::WatchEventType::kAdded || type == kube::WatchEventType::kModified) {
    objects_[key] = std::make_shared<const kube::Json>(std::move(object));
  }
  return key;
}

}  // namespace gotestrun::runtime
