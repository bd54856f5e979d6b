// SHA-256 (FIPS 180-4), incremental and streaming over files, for the digests in a run's envelope
// and in exported artifacts. Tested by tests/log/test_sha256.cpp (NIST / RFC 6234 vectors, the
// one-million-'a' vector, split updates, a file digest against sha256sum's value for stories260K).
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/core/result.h"

namespace precis {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t bytes);
  // Finishes and returns the 32-byte digest; the object must not be updated afterwards.
  std::array<uint8_t, 32> finish();
  // Finishes and returns the digest as 64 lowercase hex characters.
  std::string finishHex();

 private:
  void block(const uint8_t* p);
  std::array<uint32_t, 8> h_;
  std::array<uint8_t, 64> buf_{};
  size_t buf_len_ = 0;
  uint64_t total_ = 0;  // bytes hashed so far
};

std::string sha256Hex(std::string_view data);
// Streams the file in 1 MiB chunks (multi-GB models never sit in memory). Errors name the file.
Result<std::string> sha256File(const std::string& path);

}  // namespace precis
