// safetensors container: u64 header length, JSON header {name: {dtype, shape, data_offsets}},
// then the data. The parser checks the header length, dtypes (F32/F16/BF16), that each tensor's
// byte range matches its shape and lies inside the file, and that ranges do not overlap.
// With SafetensorsParse::raw_u8, "U8" tensors (packed codes, byte blobs) are accepted too: their
// type is DType::Count and `dtype` says "U8" (only the quantized-model reader asks for them).
// writeSafetensors (safetensors_writer.cpp) writes the same container.
// Tested by tests/model/test_hf_loader.cpp, tests/fuzz/fuzz_safetensors.cpp and
// tests/quant/test_quant_io.cpp (writer round trip, U8 tensors).
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "engine/core/result.h"
#include "engine/model/file_bytes.h"
#include "kernels/common/dtype.h"

namespace precis {

struct SafetensorsTensor {
  std::string name;
  DType type = DType::F32;     // DType::Count for a raw "U8" tensor
  std::string dtype = "F32";   // the header's dtype string
  std::vector<int64_t> shape;  // row-major, outermost first
  const std::byte* data = nullptr;
  size_t bytes = 0;
};

struct SafetensorsFile {
  FileBytes bytes;                              // keeps the mapping alive
  std::vector<SafetensorsTensor> tensors;       // in header order
  std::map<std::string, std::string> metadata;  // "__metadata__" entries
};

struct SafetensorsParse {
  bool raw_u8 = false;  // also accept "U8" tensors (type DType::Count)
};
Result<SafetensorsFile> parseSafetensors(const FileBytes& bytes, const SafetensorsParse& options = {});

// One tensor to write: dtype "F32", "F16", "BF16" or "U8"; `bytes` must equal the shape's size.
struct SafetensorsOut {
  std::string name;
  std::string dtype;
  std::vector<int64_t> shape;
  const void* data = nullptr;
  size_t bytes = 0;
};
// Writes a safetensors file (tensors in the given order, 8-byte aligned header, metadata as
// "__metadata__" string entries) to "<path>.tmp-<pid>", renamed into place when complete.
// progress(fraction) may return false to cancel (the partial file is removed).
Status writeSafetensors(const std::string& path, const std::vector<SafetensorsOut>& tensors,
                        const std::map<std::string, std::string>& metadata,
                        const std::function<bool(double)>& progress = {});

}  // namespace precis
