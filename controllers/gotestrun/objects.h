// What the GoTestRun reconciler needs of the API, and no more: read objects, write
// them, write a status. As controller-runtime's Reader / Writer / StatusClient, so the
// reconciler runs against a store in memory in its unit tests and against the
// informers' caches and the API server in the operator (ClusterObjects below).
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "kube/client/client.h"
#include "kube/client/resource.h"
#include "kube/runtime/informer.h"
#include "kube/runtime/store.h"

namespace gotestrun::controllers {

using Json = nlohmann::json;

class ObjectReader {
 public:
  virtual ~ObjectReader() = default;
  // NotFound when there is no such object.
  virtual StatusOr<runtime::ObjectPtr> Get(const kube::ResourceType& type, const std::string& ns,
                                           const std::string& name) = 0;
  // Every object of the type in `ns`.
  virtual StatusOr<std::vector<runtime::ObjectPtr>> List(const kube::ResourceType& type, const std::string& ns) = 0;
};

class ObjectWriter {
 public:
  virtual ~ObjectWriter() = default;
  // AlreadyExists when the name is taken; metadata.generateName is honoured.
  virtual StatusOr<Json> Create(const kube::ResourceType& type, const std::string& ns, const Json& object) = 0;
  // Aborted when metadata.resourceVersion is stale.
  virtual StatusOr<Json> Update(const kube::ResourceType& type, const Json& object) = 0;
  virtual Status Delete(const kube::ResourceType& type, const std::string& ns, const std::string& name) = 0;
};

class StatusWriter {
 public:
  virtual ~StatusWriter() = default;
  // Writes the object's .status only (the status subresource).
  virtual StatusOr<Json> UpdateStatus(const kube::ResourceType& type, const Json& object) = 0;
};

// The operator's: GoTestRuns and Pods read from their informers' stores (one informer
// per watched namespace, read through one view), anything
// else (the memory history ConfigMap) from the API server; writes go to the API server.
class ClusterObjects final : public ObjectReader, public ObjectWriter, public StatusWriter {
 public:
  // `runs` and `pods`: the informers of every watched namespace (or the cluster's).
  ClusterObjects(kube::Client& client, runtime::Informers runs, runtime::Informers pods);

  StatusOr<runtime::ObjectPtr> Get(const kube::ResourceType& type, const std::string& ns,
                                   const std::string& name) override;
  StatusOr<std::vector<runtime::ObjectPtr>> List(const kube::ResourceType& type, const std::string& ns) override;
  StatusOr<Json> Create(const kube::ResourceType& type, const std::string& ns, const Json& object) override;
  StatusOr<Json> Update(const kube::ResourceType& type, const Json& object) override;
  Status Delete(const kube::ResourceType& type, const std::string& ns, const std::string& name) override;
  StatusOr<Json> UpdateStatus(const kube::ResourceType& type, const Json& object) override;

 private:
  const runtime::Informers* CacheOf(const kube::ResourceType& type) const;

  kube::Client& client_;
  const runtime::Informers runs_;
  const runtime::Informers pods_;
};

}  // namespace gotestrun::controllers
