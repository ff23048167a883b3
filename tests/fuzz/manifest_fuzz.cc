// A GoTestRun manifest as `gotestrun run -f` reads it: YAML -> JSON -> spec.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/api/gotestrun.h"
#include "core/api/yaml_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gotestrun::api;
  auto docs = YamlDocumentsToJson(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!docs.ok()) return 0;
  for (const Json& doc : *docs) {
    if (doc.is_object() && doc.contains("spec")) (void)ParseSpec(doc.at("spec"));
    (void)ParseSpec(doc);
  }
  return 0;
}
