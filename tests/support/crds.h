// Installs the project's CRDs (crds/) into a test control plane.
#pragma once

#include <string>

#include "base/status.h"
#include "kube/client/client.h"

namespace gotestrun::testing {

// Reads a YAML file into JSON the way kubectl would.
StatusOr<kube::Json> LoadYamlFile(const std::string& path);

// Whether status.conditions holds {type, status}.
bool HasCondition(const kube::Json& object, const std::string& type, const std::string& status);

// Creates the GoTestRun CRD from `crds_dir` and waits until GoTestRuns are served.
Status InstallGoTestRunCrd(kube::Client& client, const std::string& crds_dir);

// Creates the CRD in the YAML file `path` (AlreadyExists is fine) and waits until it is
// Established and `served_as` can be listed.
Status InstallCrd(kube::Client& client, const std::string& path, const kube::ResourceType& served_as);

}  // namespace gotestrun::testing
