// The envelope of a run: everything a number depends on besides the code path that measured it.
// Host (CPU model and cores, OS from uname), device (backend, GPU name, compute capability, driver,
// CUDA runtime and BLAS/cuBLAS versions from the backend's DeviceInfo), Precis version and git
// commit, model path and sha256, tokenizer and data digests, seed and every non-default knob.
// Tested by tests/log/test_envelope.cpp (keys present, model digest equals sha256File, folder
// manifests, data digest depends on every token, the digest cache gives the same digests).
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/backend/backend.h"
#include "engine/core/result.h"

namespace precis {

class DigestCache;

struct EnvelopeInputs {
  const DeviceInfo* device = nullptr;         // the backend that measured (may be null)
  std::string model_path;                     // file or directory; hashed unless empty
  std::string tokenizer_path;                 // a separate tokenizer file, hashed when given
  std::string data_path;                      // an input file, hashed when given
  std::string data_digest;                    // digest of the exact data measured (tokenDigest)
  std::optional<uint64_t> seed;
  std::map<std::string, std::string> knobs;   // every setting that differs from its default
  DigestCache* digests = nullptr;             // file digests come from here when given
};

// Host facts alone (cheap; no hashing).
nlohmann::ordered_json hostEnvelope();
nlohmann::ordered_json deviceEnvelope(const DeviceInfo& device);
// The full envelope; hashing errors name the file.
Result<nlohmann::ordered_json> collectEnvelope(const EnvelopeInputs& inputs);

// sha256 of a file, or of a directory as the sorted "DIGEST  RELATIVE_PATH\n" lines of its regular
// files (a sha256sum manifest), so a Hugging Face folder has one digest. With `cache`, each file's
// digest comes from the digest cache (engine/log/digest_cache.h).
Result<std::string> sha256Path(const std::string& path, DigestCache* cache = nullptr);
// sha256 of token sequences: each sequence as its count then its ids, all little-endian int64/int32.
std::string tokenDigest(const std::vector<std::vector<int32_t>>& sequences);

}  // namespace precis
