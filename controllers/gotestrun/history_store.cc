#include "controllers/gotestrun/history_store.h"

#include <spdlog/spdlog.h>

namespace gotestrun::controllers {
namespace {

engine::MemoryHistory FromConfigMap(const kube::Json& cm, const std::string& name) {
  if (cm.contains("data") && cm["data"].is_object() && cm["data"].contains(kHistoryKey) &&
      cm["data"][kHistoryKey].is_string()) {
    StatusOr<engine::MemoryHistory> h = engine::DecodeHistory(cm["data"][kHistoryKey].get<std::string>());
    if (h.ok()) return *std::move(h);
    spdlog::warn("configmap {}: {}; starting the history afresh", name, h.status().ToString());
  }
  return {};
}

}  // namespace

std::string HistoryConfigMapName(const engine::SuiteKey& suite) { return "gotestrun-history-" + suite.id; }

StatusOr<engine::MemoryHistory> LoadHistory(ObjectReader& reader, const std::string& ns,
                                            const engine::SuiteKey& suite) {
  const std::string name = HistoryConfigMapName(suite);
  StatusOr<runtime::ObjectPtr> cm = reader.Get(kube::ResourceType::ConfigMaps(), ns, name);
  if (!cm.ok()) {
    if (cm.status().code() == StatusCode::kNotFound) return engine::MemoryHistory{suite.description, {}};
    return cm.status();
  }
  return FromConfigMap(**cm, name);
}

StatusOr<std::vector<engine::Growth>> RecordHistory(ObjectReader& reader, ObjectWriter& writer, const std::string& ns,
                                                    const engine::SuiteKey& suite, const engine::RunPeaks& peaks,
                                                    const std::string& run_uid, int threshold_percent,
                                                    const std::string& now) {
  const std::string name = HistoryConfigMapName(suite);
  constexpr int kTries = 5;
  Status last;
  for (int i = 0; i < kTries; ++i) {
    StatusOr<runtime::ObjectPtr> cm = reader.Get(kube::ResourceType::ConfigMaps(), ns, name);
    if (!cm.ok() && cm.status().code() != StatusCode::kNotFound) return cm.status();
    engine::MemoryHistory history = cm.ok() ? FromConfigMap(**cm, name) : engine::MemoryHistory{};
    history.suite = suite.description;
    std::vector<engine::Growth> growth = engine::FindGrowth(history, peaks, run_uid, threshold_percent);
    engine::RecordRun(history, peaks, run_uid, now);
    if (cm.ok()) {
      kube::Json updated = **cm;
      updated["data"][kHistoryKey] = engine::EncodeHistory(history);
      last = writer.Update(kube::ResourceType::ConfigMaps(), updated).status();
    } else {
      kube::Json created = {
          {"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata",
           {{"name", name},
            {"namespace", ns},
            {"labels", {{"app.kubernetes.io/managed-by", "gotestrun-operator"}, {"gotestrun.dev/suite", suite.id}}},
            {"annotations", {{"gotestrun.dev/suite", suite.description.substr(0, 4096)}}}}},
          {"data", {{kHistoryKey, engine::EncodeHistory(history)}}}};
      last = writer.Create(kube::ResourceType::ConfigMaps(), ns, created).status();
    }
    if (last.ok()) return growth;
    // Another run of the suite wrote first: read its write and fold this run in again.
    if (last.code() != StatusCode::kAborted && last.code() != StatusCode::kAlreadyExists) return last;
  }
  return last.Annotate("memory history " + ns + "/" + name);
}

}  // namespace gotestrun::controllers
