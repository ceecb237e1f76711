// file_io.cpp: whole-file reads and atomic writes (see file_io.h).
#include "tensor/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "tensor/error.h"

namespace loom {

namespace {

std::string errno_text() { return std::strerror(errno); }

// An open file descriptor closed on scope exit.
struct FileDescriptor {
  int fd = -1;
  ~FileDescriptor() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

std::vector<uint8_t> read_file_bytes(const std::string& path, const char* op) {
  const std::string where = std::string(op) + ": '" + path + "': ";
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    LOOM_CHECK(errno != ENOENT, where, "no such file");
    detail::throw_error(where, "cannot access the file: ", errno_text());
  }
  LOOM_CHECK(!S_ISDIR(st.st_mode), where, "is a directory, not an image file");
  LOOM_CHECK(S_ISREG(st.st_mode), where, "is not a regular file");
  LOOM_CHECK(st.st_size > 0, where, "the file is empty (0 bytes)");

  FileDescriptor file;
  file.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  LOOM_CHECK(file.fd >= 0, where, "cannot open the file: ", errno_text());
  std::vector<uint8_t> bytes(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t got = ::read(file.fd, bytes.data() + done, bytes.size() - done);
    if (got < 0 && errno == EINTR) continue;
    LOOM_CHECK(got >= 0, where, "read failed: ", errno_text());
    if (got == 0) break;  // the file shrank while we read it
    done += static_cast<size_t>(got);
  }
  bytes.resize(done);
  LOOM_CHECK(!bytes.empty(), where, "the file is empty (0 bytes)");
  return bytes;
}

void write_file_atomically(const std::string& path, const void* bytes, size_t size, const char* op,
                           Durability durability) {
  write_file_atomically(path, std::vector<ByteSpan>{{bytes, size}}, op, durability);
}

void write_file_atomically(const std::string& path, const std::vector<ByteSpan>& pieces, const char* op,
                           Durability durability) {
  const bool sync = durability == Durability::Fsync;
  const std::string where = std::string(op) + ": '" + path + "': ";
  namespace fs = std::filesystem;
  const fs::path target(path);
  LOOM_CHECK(!path.empty() && target.has_filename(), where, "the path does not name a file");
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::error_code ec;
  fs::create_directories(dir, ec);
  LOOM_CHECK(!ec, where, "cannot create the directory '", dir.string(), "': ", ec.message());
  LOOM_CHECK(!fs::is_directory(target, ec), where, "is a directory; cannot write a file there");

  static std::atomic<uint64_t> counter{0};
  // ".<name>.tmp.<pid>.<n>" beside the target: hidden, unique within this process and across processes.
  std::string tmp_name(".");
  tmp_name.append(target.filename().string()).append(".tmp.").append(std::to_string(::getpid()));
  tmp_name.append(".").append(std::to_string(counter++));
  const std::string tmp = (dir / tmp_name).string();
  FileDescriptor file;
  file.fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  LOOM_CHECK(file.fd >= 0, where, "cannot create the temporary file '", tmp, "': ", errno_text());
  auto fail = [&](const char* what) {
    const std::string reason = errno_text();
    ::close(file.fd);
    file.fd = -1;
    ::unlink(tmp.c_str());
    detail::throw_error(where, what, ": ", reason, " (the existing file, if any, is unchanged)");
  };
  for (const ByteSpan& piece : pieces) {
    const auto* p = static_cast<const char*>(piece.data);
    size_t done = 0;
    while (done < piece.size) {
      const ssize_t put = ::write(file.fd, p + done, piece.size - done);
      if (put < 0 && errno == EINTR) continue;
      if (put <= 0) fail("write failed");
      done += static_cast<size_t>(put);
    }
  }
  if (sync && ::fsync(file.fd) != 0) fail("fsync failed");
  const int closed = ::close(file.fd);
  file.fd = -1;
  if (closed != 0) {
    ::unlink(tmp.c_str());
    detail::throw_error(where, "close failed: ", errno_text());
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string reason = errno_text();
    ::unlink(tmp.c_str());
    detail::throw_error(where, "rename of the temporary file failed: ", reason);
  }
  // Make the rename durable. Best effort: some filesystems refuse fsync on a
  // directory, and the data is already in place.
  if (!sync) return;
  FileDescriptor dir_fd;
  dir_fd.fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd.fd >= 0) ::fsync(dir_fd.fd);
}

}  // namespace loom
