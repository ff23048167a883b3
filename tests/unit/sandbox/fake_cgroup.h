// A cgroup folder made of plain files, for the readers of a cgroup's control files.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace gotestrun::sandbox {

class FakeCgroup {
 public:
  FakeCgroup() {
    std::string pattern = (std::filesystem::temp_directory_path() / "gtr-cgroup-XXXXXX").string();
    dir_ = ::mkdtemp(pattern.data());
  }
  ~FakeCgroup() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  FakeCgroup(const FakeCgroup&) = delete;
  FakeCgroup& operator=(const FakeCgroup&) = delete;

  void Write(const std::string& name, const std::string& text) { std::ofstream(dir_ + "/" + name) << text; }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
};

}  // namespace gotestrun::sandbox
