// GGUF v3 container: metadata value types, the parsed file (key/values in file order, tensor
// infos) and the mapping between ggml tensor types and DType. The reader (gguf_reader.cpp)
// bounds every count by the bytes left in the file before allocating.
// Tested by tests/model/test_gguf.cpp (against tests/fixtures/gguf_readback.json, made with the
// `gguf` Python package) and tests/fuzz/fuzz_gguf.cpp.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "engine/core/result.h"
#include "engine/model/file_bytes.h"
#include "kernels/common/dtype.h"

namespace precis {

inline constexpr uint32_t kGgufMagic = 0x46554747;  // "GGUF" little-endian
inline constexpr uint32_t kGgufVersion = 3;
inline constexpr uint32_t kGgufDefaultAlignment = 32;

enum class GgufType : uint32_t {
  Uint8 = 0, Int8 = 1, Uint16 = 2, Int16 = 3, Uint32 = 4, Int32 = 5, Float32 = 6, Bool = 7,
  String = 8, Array = 9, Uint64 = 10, Int64 = 11, Float64 = 12,
};
const char* ggufTypeName(GgufType t);

// A metadata value. Integers are held in `i` (signed) or `u` (unsigned), floats in `f`.
struct GgufValue {
  GgufType type = GgufType::Uint32;
  uint64_t u = 0;
  int64_t i = 0;
  double f = 0.0;
  bool b = false;
  std::string s;
  GgufType elem = GgufType::Uint8;  // element type when type == Array
  std::vector<GgufValue> arr;

  static GgufValue u32(uint32_t v) { GgufValue x; x.type = GgufType::Uint32; x.u = v; return x; }
  static GgufValue i32(int32_t v) { GgufValue x; x.type = GgufType::Int32; x.i = v; return x; }
  static GgufValue f32(float v) { GgufValue x; x.type = GgufType::Float32; x.f = v; return x; }
  static GgufValue boolean(bool v) { GgufValue x; x.type = GgufType::Bool; x.b = v; return x; }
  static GgufValue str(std::string v) { GgufValue x; x.type = GgufType::String; x.s = std::move(v); return x; }
  static GgufValue array(GgufType elem, std::vector<GgufValue> items) {
    GgufValue x; x.type = GgufType::Array; x.elem = elem; x.arr = std::move(items); return x;
  }

  bool isInteger() const;
  bool isFloat() const { return type == GgufType::Float32 || type == GgufType::Float64; }
  // Integer value as int64 (false when not an integer or out of range).
  bool asInt(int64_t* out) const;
  // Number as double (integers and floats).
  bool asDouble(double* out) const;
  // Human-readable form for Model::metadata (arrays summarised beyond `max_items`).
  std::string toString(size_t max_items = 8) const;
};

using GgufKv = std::vector<std::pair<std::string, GgufValue>>;

struct GgufTensorInfo {
  std::string name;
  std::vector<uint64_t> ne;  // GGUF order: ne[0] is the innermost (contiguous) dimension
  uint32_t ggml_type = 0;
  uint64_t offset = 0;       // relative to the start of the data section
  DType type = DType::F32;   // mapped type
  uint64_t bytes = 0;
  std::vector<int64_t> shape() const { return {ne.rbegin(), ne.rend()}; }  // row-major, outermost first
};

struct GgufFile {
  uint32_t version = 0;
  GgufKv kv;
  std::vector<GgufTensorInfo> tensors;
  uint32_t alignment = kGgufDefaultAlignment;
  uint64_t data_offset = 0;  // absolute file offset of the data section
  const GgufValue* find(const std::string& key) const;
};

// ggml type id <-> DType for the supported types F32(0), F16(1), Q4_0(2), Q8_0(8), BF16(30).
bool ggmlTypeToDType(uint32_t ggml_type, DType* out);
uint32_t dtypeToGgmlType(DType t);

// Parses the header, metadata and tensor infos, checking every tensor's extent lies in the file.
Result<GgufFile> readGguf(const FileBytes& bytes);

}  // namespace precis
