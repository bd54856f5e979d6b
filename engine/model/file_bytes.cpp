// Read-only mmap of model files (POSIX) and heap-backed byte buffers. See file_bytes.h.
// Tested through every loader test (tests/model/).
#include "engine/model/file_bytes.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace precis {

Result<FileBytes> mapFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return makeError(path + ": cannot open (" + std::strerror(errno) + ")");
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    return makeError(path + ": cannot stat (" + std::strerror(e) + ")");
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return makeError(path + ": not a regular file");
  }
  if (st.st_size <= 0) {
    ::close(fd);
    return makeError(path + ": file is empty");
  }
  const size_t size = size_t(st.st_size);
  void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  const int e = errno;
  ::close(fd);
  if (p == MAP_FAILED) return makeError(path + ": cannot map (" + std::strerror(e) + ")");
  FileBytes fb;
  fb.owner = std::shared_ptr<const void>(p, [size](const void* q) { ::munmap(const_cast<void*>(q), size); });
  fb.data = static_cast<const std::byte*>(p);
  fb.size = size;
  fb.path = path;
  return fb;
}

FileBytes bytesFromMemory(const void* bytes, size_t size, const std::string& name) {
  auto buf = std::make_shared<std::vector<std::byte>>(size);
  if (size) std::memcpy(buf->data(), bytes, size);
  FileBytes fb;
  fb.data = buf->data();
  fb.size = size;
  fb.owner = std::shared_ptr<const void>(buf, buf->data());
  fb.path = name;
  return fb;
}

}  // namespace precis
