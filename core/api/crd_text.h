// The text of crds/gotestrun.dev_gotestruns.yaml, built in, so that the local path
// checks a spec against the very schema the API server applies.
#pragma once

#include <string_view>

namespace gotestrun::api {

extern const std::string_view kCrdYaml;

}  // namespace gotestrun::api
