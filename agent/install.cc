#include "agent/install.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include "base/files.h"

namespace gotestrun::agent {
namespace {

// Larger than any build of the agent, sanitized ones included.
constexpr std::size_t kMaxExecutableBytes = 512 << 20;

}  // namespace

StatusOr<std::string> SelfExecutablePath() {
  char buf[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n < 0) return FailedPreconditionError(std::string("readlink /proc/self/exe: ") + std::strerror(errno));
  return std::string(buf, static_cast<std::size_t>(n));
}

Status InstallSelf(const std::string& dest) {
  // /proc/self/exe opens the running program even if its file was replaced or removed.
  StatusOr<std::string> program = ReadFile("/proc/self/exe", kMaxExecutableBytes);
  if (!program.ok()) return program.status().Annotate("install");
  GTR_RETURN_IF_ERROR(WriteFileAtomic(dest, *program, 0755));
  // The umask may have taken bits from 0755.
  if (::chmod(dest.c_str(), 0755) != 0) {
    return FailedPreconditionError("chmod " + dest + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

}  // namespace gotestrun::agent
