// safetensors container: u64 header length, JSON header {name: {dtype, shape, data_offsets}},
// then the data. The parser checks the header length, dtypes (F32/F16/BF16), that each tensor's
// byte range matches its shape and lies inside the file, and that ranges do not overlap.
// Tested by tests/model/test_hf_loader.cpp and tests/fuzz/fuzz_safetensors.cpp.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/core/result.h"
#include "engine/model/file_bytes.h"
#include "kernels/common/dtype.h"

namespace precis {

struct SafetensorsTensor {
  std::string name;
  DType type = DType::F32;
  std::vector<int64_t> shape;  // row-major, outermost first
  const std::byte* data = nullptr;
  size_t bytes = 0;
};

struct SafetensorsFile {
  FileBytes bytes;                              // keeps the mapping alive
  std::vector<SafetensorsTensor> tensors;       // in header order
  std::map<std::string, std::string> metadata;  // "__metadata__" entries
};

Result<SafetensorsFile> parseSafetensors(const FileBytes& bytes);

}  // namespace precis
