#include "controllers/gotestrun/objects.h"

#include <memory>

#include "core/api/gotestrun.h"

namespace gotestrun::controllers {

ClusterObjects::ClusterObjects(kube::Client& client, runtime::Informers runs, runtime::Informers pods)
    : client_(client), runs_(std::move(runs)), pods_(std::move(pods)) {}

const runtime::Informers* ClusterObjects::CacheOf(const kube::ResourceType& type) const {
  if (type.group == api::kGroup && type.plural == "gotestruns") return &runs_;
  if (type.group.empty() && type.plural == "pods") return &pods_;
  return nullptr;
}

StatusOr<runtime::ObjectPtr> ClusterObjects::Get(const kube::ResourceType& type, const std::string& ns,
                                                 const std::string& name) {
  if (const runtime::Informers* cache = CacheOf(type)) {
    runtime::ObjectPtr obj = cache->Get(ns + "/" + name);
    if (obj == nullptr) return NotFoundError(type.Name() + " " + ns + "/" + name + " not found");
    return obj;
  }
  StatusOr<Json> obj = client_.Get(type, ns, name);
  if (!obj.ok()) return obj.status();
  return std::make_shared<const Json>(*std::move(obj));
}

StatusOr<std::vector<runtime::ObjectPtr>> ClusterObjects::List(const kube::ResourceType& type, const std::string& ns) {
  std::vector<runtime::ObjectPtr> out;
  if (const runtime::Informers* cache = CacheOf(type)) {
    for (runtime::ObjectPtr& obj : cache->List()) {
      if (kube::MetaString(*obj, "namespace") == ns) out.push_back(std::move(obj));
    }
    return out;
  }
  StatusOr<kube::ObjectList> list = client_.ListAll(type, ns);
  if (!list.ok()) return list.status();
  for (Json& obj : list->items) out.push_back(std::make_shared<const Json>(std::move(obj)));
  return out;
}

StatusOr<Json> ClusterObjects::Create(const kube::ResourceType& type, const std::string& ns, const Json& object) {
  return client_.Create(type, ns, object);
}

StatusOr<Json> ClusterObjects::Update(const kube::ResourceType& type, const Json& object) {
  return client_.Update(type, object);
}

Status ClusterObjects::Delete(const kube::ResourceType& type, const std::string& ns, const std::string& name) {
  return client_.Delete(type, ns, name);
}

StatusOr<Json> ClusterObjects::UpdateStatus(const kube::ResourceType& type, const Json& object) {
  return client_.UpdateStatus(type, object);
}

}  // namespace gotestrun::controllers
