// FileBytes: the read-only bytes a loader parses, either a read-only mmap of a file or a heap
// buffer (fuzzers, tests). Tensors point into it and share `owner` to keep it alive.
// Also a bounds-checked little-endian reader used by every binary loader.
// Tested by tests/model/test_loader_reject.cpp (truncations never read past the end).
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/result.h"

namespace precis {

struct FileBytes {
  std::shared_ptr<const void> owner;  // keeps `data` valid (munmap / free on release)
  const std::byte* data = nullptr;
  size_t size = 0;
  std::string path;  // used as the prefix of every error message
};

// Maps `path` read-only. An empty or unreadable file is an error naming the path.
Result<FileBytes> mapFile(const std::string& path);
// Wraps a copy of `bytes`; `name` stands in for the path in messages.
FileBytes bytesFromMemory(const void* bytes, size_t size, const std::string& name);

// Overflow-checked arithmetic for sizes read from untrusted files.
inline bool checkedMul(uint64_t a, uint64_t b, uint64_t* out) { return !__builtin_mul_overflow(a, b, out); }
inline bool checkedAdd(uint64_t a, uint64_t b, uint64_t* out) { return !__builtin_add_overflow(a, b, out); }

// Sequential little-endian reader over [data, data+size). Every read checks the remaining size;
// after a failed read `ok()` is false and further reads return zero values.
class ByteReader {
 public:
  ByteReader(const std::byte* data, size_t size) : data_(data), size_(size) {}
  size_t pos() const { return pos_; }
  size_t remaining() const { return size_ - pos_; }
  bool ok() const { return ok_; }

  template <class T>
  T read() {
    T v{};
    if (!ok_ || remaining() < sizeof(T)) { ok_ = false; return v; }
    std::memcpy(&v, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  // Reads `n` bytes into a string (n bounded by the remaining size).
  bool readString(uint64_t n, std::string* out) {
    if (!ok_ || n > remaining()) { ok_ = false; return false; }
    out->assign(reinterpret_cast<const char*>(data_ + pos_), size_t(n));
    pos_ += size_t(n);
    return true;
  }
  bool skip(uint64_t n) {
    if (!ok_ || n > remaining()) { ok_ = false; return false; }
    pos_ += size_t(n);
    return true;
  }
  bool seek(uint64_t p) {
    if (!ok_ || p > size_) { ok_ = false; return false; }
    pos_ = size_t(p);
    return true;
  }

 private:
  const std::byte* data_;
  size_t size_;
  size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace precis
