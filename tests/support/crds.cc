#include "tests/support/crds.h"

#include <algorithm>

#include "core/api/yaml_json.h"
#include "base/files.h"
#include "tests/support/cluster_fixture.h"

namespace gotestrun::testing {
namespace {

const kube::ResourceType kGoTestRuns{"gotestrun.dev", "v1alpha1", "gotestruns", true};

}  // namespace

bool HasCondition(const kube::Json& object, const std::string& type, const std::string& status) {
  const kube::Json conditions = object.value(kube::Json::json_pointer("/status/conditions"), kube::Json());
  if (!conditions.is_array()) return false;
  return std::any_of(conditions.begin(), conditions.end(),
                     [&](const kube::Json& c) { return c["type"] == type && c["status"] == status; });
}

StatusOr<kube::Json> LoadYamlFile(const std::string& path) {
  StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return text.status();
  StatusOr<kube::Json> doc = api::YamlToJson(*text);
  if (!doc.ok()) return doc.status().Annotate(path);
  return doc;
}

Status InstallGoTestRunCrd(kube::Client& client, const std::string& crds_dir) {
  return InstallCrd(client, crds_dir + "/gotestrun.dev_gotestruns.yaml", kGoTestRuns);
}

Status InstallCrd(kube::Client& client, const std::string& path, const kube::ResourceType& served_as) {
  StatusOr<kube::Json> crd = LoadYamlFile(path);
  if (!crd.ok()) return crd.status();
  const std::string crd_name = kube::MetaString(*crd, "name");
  StatusOr<kube::Json> created = client.Create(kube::ResourceType::CustomResourceDefinitions(), "", *crd);
  if (!created.ok() && created.status().code() != StatusCode::kAlreadyExists) {
    return created.status().Annotate("the API server refused the CustomResourceDefinition");
  }
  kube::Json last;
  bool established = Eventually([&] {
    StatusOr<kube::Json> got = client.Get(kube::ResourceType::CustomResourceDefinitions(), "", crd_name);
    if (!got.ok()) return false;
    last = *got;
    return HasCondition(last, "Established", "True");
  });
  if (!established) return DeadlineExceededError("the CRD was not Established: " + last["status"].dump());
  // Established comes a moment before the new resource is served everywhere.
  bool served = Eventually([&] { return client.List(served_as, "default").ok(); });
  if (!served) return DeadlineExceededError(crd_name + " is Established but not served");
  return Status::Ok();
}

}  // namespace gotestrun::testing
