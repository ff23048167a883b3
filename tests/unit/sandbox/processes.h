// What the sandbox tests ask of /proc about processes they started.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/files.h"
#include "sandbox/process_tree.h"

namespace gotestrun::sandbox {

// Running, or stopped, but not gone and not a zombie.
inline bool IsAlive(pid_t pid) {
  StatusOr<std::string> text = ReadFile("/proc/" + std::to_string(pid) + "/stat", 4096);
  if (!text.ok()) return false;
  StatusOr<ProcessStat> stat = ParseProcStat(*text);
  return stat.ok() && stat->state != 'Z';
}

// The pids a test's shell printed (`echo $!`), one a line, in a file.
inline std::vector<pid_t> PrintedPids(const std::string& path) {
  std::vector<pid_t> pids;
  StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return pids;
  std::size_t pos = 0;
  while (pos < text->size()) {
    std::size_t end = text->find('\n', pos);
    if (end == std::string::npos) break;
    const std::string line = text->substr(pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line.find_first_not_of("0123456789") == std::string::npos && line.size() < 10) {
      pids.push_back(static_cast<pid_t>(std::stol(line)));
    }
  }
  return pids;
}

}  // namespace gotestrun::sandbox
