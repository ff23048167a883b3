// `gotestrun-agent install DEST`: the Pod's init container copies the agent into a
// shared emptyDir with it, so that the test container (any image with Go in it) can
// run the agent without the image carrying it, as Tekton's entrypoint does.
#pragma once

#include <string>

#include "base/status.h"

namespace gotestrun::agent {

// This process's executable (/proc/self/exe) as of when it started.
StatusOr<std::string> SelfExecutablePath();

// Copies this process's executable to `dest` (mode 0755) through a temporary file and
// a rename, so that `dest` is never a half-written program.
Status InstallSelf(const std::string& dest);

}  // namespace gotestrun::agent
