// Reading and writing whole files. Every read here is bounded and never blocks on
// what is not a regular file: evidence folders sit on a volume that test Pods write,
// so a FIFO, a device or a link planted under an expected name must give an error,
// never a hung worker or an unbounded allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace gotestrun {

// A regular file open for reading. Opening is O_NONBLOCK (a FIFO without a writer
// cannot stall the open) and fstat must then say "regular file", so FIFOs, sockets,
// devices and folders are refused before a byte is read.
class RegularFile {
 public:
  // Follows symbolic links: configuration such as a service account token or a
  // kubeconfig is legitimately a link. NotFound when nothing is at `path`;
  // FailedPrecondition for anything that is not a regular file.
  static StatusOr<RegularFile> Open(const std::string& path);
  // For files inside a folder that a less trusted writer fills (an evidence folder):
  // also refuses a symbolic link as the last component, and a file whose resolved
  // location is not inside `folder` (a linked parent folder leading out). A relative
  // `path` is taken relative to `folder`.
  static StatusOr<RegularFile> OpenWithin(const std::string& folder, const std::string& path);

  RegularFile(RegularFile&& other) noexcept;
  RegularFile& operator=(RegularFile&& other) noexcept;
  RegularFile(const RegularFile&) = delete;
  RegularFile& operator=(const RegularFile&) = delete;
  ~RegularFile();

  const std::string& path() const { return path_; }
  // The size when opened; 0 for kernel files (/proc, cgroup) that do not know theirs.
  std::uint64_t size() const { return size_; }
  // The rest of the file; ResourceExhausted when more than `max_bytes` remain
  // (also when it grows past them while being read).
  StatusOr<std::string> ReadAll(std::size_t max_bytes);
  // Appends at most `max_bytes` from the current position to `out`; fewer at the end.
  Status ReadUpTo(std::size_t max_bytes, std::string& out);
  Status Seek(std::uint64_t offset);

 private:
  RegularFile(int fd, std::string path, std::uint64_t size) : fd_(fd), path_(std::move(path)), size_(size) {}
  int fd_ = -1;
  std::string path_;
  std::uint64_t size_ = 0;
};

// A whole file, refused when larger than `max_bytes` (inputs from outside are bounded
// so a wrong path to a huge file cannot exhaust memory). Follows symbolic links.
StatusOr<std::string> ReadFile(const std::string& path, std::size_t max_bytes = 16 << 20);
// A whole file inside `folder`, as RegularFile::OpenWithin opens it.
StatusOr<std::string> ReadFileWithin(const std::string& folder, const std::string& path, std::size_t max_bytes);

// The first bytes of a file, for readers that can use the start of an oversized file.
struct FileHead {
  std::string text;
  bool truncated = false;  // the file had more than was read
};
StatusOr<FileHead> ReadFileHeadWithin(const std::string& folder, const std::string& path, std::size_t max_bytes);

// Writes through a temporary file and a rename, so readers see the old or the new
// content, never half of one.
Status WriteFileAtomic(const std::string& path, std::string_view content, int mode = 0644);

}  // namespace gotestrun
