#include "base/files.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <utility>

namespace gotestrun {
namespace {

std::string KindOf(mode_t mode) {
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISDIR(mode)) return "a folder";
  if (S_ISLNK(mode)) return "a symbolic link";
  return "not a regular file";
}

Status OpenError(const std::string& path, int err) {
  return Status(err == ENOENT || err == ENOTDIR ? StatusCode::kNotFound : StatusCode::kFailedPrecondition,
                "open " + path + ": " + std::strerror(err));
}

// Where the kernel says an open descriptor leads; empty when it cannot say.
std::string ResolvedPath(int fd) {
  char buf[PATH_MAX + 1];
  const std::string link = "/proc/self/fd/" + std::to_string(fd);
  const ssize_t n = ::readlink(link.c_str(), buf, PATH_MAX);
  if (n <= 0) return {};
  return std::string(buf, static_cast<std::size_t>(n));
}

std::string RealFolder(const std::string& folder) {
  std::unique_ptr<char, decltype(&::free)> real(::realpath(folder.c_str(), nullptr), &::free);
  return real ? std::string(real.get()) : std::string();
}

StatusOr<std::pair<int, std::uint64_t>> OpenRegularFd(const std::string& path, int extra_flags) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | extra_flags);
  if (fd < 0) {
    const int err = errno;
    if (err == ELOOP && (extra_flags & O_NOFOLLOW) != 0) {
      return FailedPreconditionError(path + " is a symbolic link; files of this folder are never links");
    }
    return OpenError(path, err);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return FailedPreconditionError("fstat " + path + ": " + std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return FailedPreconditionError(path + " is " + KindOf(st.st_mode) + ", not a regular file; not read");
  }
  return std::pair<int, std::uint64_t>{fd, static_cast<std::uint64_t>(st.st_size)};
}

}  // namespace

StatusOr<RegularFile> RegularFile::Open(const std::string& path) {
  StatusOr<std::pair<int, std::uint64_t>> opened = OpenRegularFd(path, 0);
  if (!opened.ok()) return opened.status();
  return RegularFile(opened->first, path, opened->second);
}

StatusOr<RegularFile> RegularFile::OpenWithin(const std::string& folder, const std::string& path) {
  const std::string full = path.starts_with('/') ? path : folder + "/" + path;
  StatusOr<std::pair<int, std::uint64_t>> opened = OpenRegularFd(full, O_NOFOLLOW);
  if (!opened.ok()) return opened.status();
  RegularFile file(opened->first, full, opened->second);
  // Checked on what was opened, not on the name, so a link swapped in between a check
  // and the open cannot lead out.
  const std::string real_folder = RealFolder(folder);
  const std::string real_file = ResolvedPath(file.fd_);
  if (real_folder.empty() || real_file.empty()) {
    return FailedPreconditionError("cannot tell where " + full + " leads; not read");
  }
  const std::string prefix = real_folder == "/" ? real_folder : real_folder + "/";
  if (!real_file.starts_with(prefix)) {
    return FailedPreconditionError(full + " leads to " + real_file + ", outside " + folder + "; not read");
  }
  return file;
}

RegularFile::RegularFile(RegularFile&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)), size_(other.size_) {}

RegularFile& RegularFile::operator=(RegularFile&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
    size_ = other.size_;
  }
  return *this;
}

RegularFile::~RegularFile() {
  if (fd_ >= 0) ::close(fd_);
}

Status RegularFile::ReadUpTo(std::size_t max_bytes, std::string& out) {
  char buf[65536];
  std::size_t got = 0;
  while (got < max_bytes) {
    const ssize_t n = ::read(fd_, buf, std::min(sizeof buf, max_bytes - got));
    if (n < 0) {
      if (errno == EINTR) continue;
      return FailedPreconditionError("read " + path_ + ": " + std::strerror(errno));
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    got += static_cast<std::size_t>(n);
  }
  return Status::Ok();
}

StatusOr<std::string> RegularFile::ReadAll(std::size_t max_bytes) {
  const std::string cap = std::to_string(max_bytes) + " bytes";
  if (size_ > max_bytes) {
    return ResourceExhaustedError(path_ + " is larger than " + cap + " (" + std::to_string(size_) + "); not read");
  }
  std::string out;
  // One byte more than allowed tells a file that grew from one that fits exactly.
  GTR_RETURN_IF_ERROR(ReadUpTo(max_bytes == SIZE_MAX ? max_bytes : max_bytes + 1, out));
  if (out.size() > max_bytes) return ResourceExhaustedError(path_ + " is larger than " + cap + "; not read");
  return out;
}

Status RegularFile::Seek(std::uint64_t offset) {
  if (::lseek(fd_, static_cast<off_t>(offset), SEEK_SET) < 0) {
    return FailedPreconditionError("seek " + path_ + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

StatusOr<std::string> ReadFile(const std::string& path, std::size_t max_bytes) {
  StatusOr<RegularFile> file = RegularFile::Open(path);
  if (!file.ok()) return file.status();
  return file->ReadAll(max_bytes);
}

StatusOr<std::string> ReadFileWithin(const std::string& folder, const std::string& path, std::size_t max_bytes) {
  StatusOr<RegularFile> file = RegularFile::OpenWithin(folder, path);
  if (!file.ok()) return file.status();
  return file->ReadAll(max_bytes);
}

StatusOr<FileHead> ReadFileHeadWithin(const std::string& folder, const std::string& path, std::size_t max_bytes) {
  StatusOr<RegularFile> file = RegularFile::OpenWithin(folder, path);
  if (!file.ok()) return file.status();
  FileHead head;
  GTR_RETURN_IF_ERROR(file->ReadUpTo(max_bytes, head.text));
  if (head.text.size() == max_bytes) {
    std::string probe;
    GTR_RETURN_IF_ERROR(file->ReadUpTo(1, probe));
    head.truncated = !probe.empty();
  }
  return head;
}

Status WriteFileAtomic(const std::string& path, std::string_view content, int mode) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return FailedPreconditionError("create " + tmp + ": " + std::strerror(errno));
  size_t off = 0;
  while (off < content.size()) {
    ssize_t n = ::write(fd, content.data() + off, content.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return FailedPreconditionError("write " + tmp + ": " + std::strerror(err));
    }
    off += static_cast<size_t>(n);
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return FailedPreconditionError("rename " + tmp + " to " + path + ": " + std::strerror(err));
  }
  return Status::Ok();
}

}  // namespace gotestrun
