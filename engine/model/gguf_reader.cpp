// GGUF v3 parser: header, metadata (all value types, nested arrays), tensor infos and data
// extents. Counts from the file are bounded by the bytes remaining before anything is reserved.
// Tested by tests/model/test_gguf.cpp, test_loader_reject.cpp and tests/fuzz/fuzz_gguf.cpp.
#include <cmath>
#include <cstdio>
#include <set>

#include "engine/model/gguf_format.h"

namespace precis {
namespace {

constexpr int kMaxArrayDepth = 4;
constexpr uint64_t kMaxMetadataElements = uint64_t(1) << 23;  // all arrays together (8M items)
constexpr uint32_t kMaxDims = 4;                               // GGML_MAX_DIMS

// Smallest encoding of one value of type t (bounds counts by the remaining bytes).
uint64_t minValueBytes(GgufType t) {
  switch (t) {
    case GgufType::Uint8: case GgufType::Int8: case GgufType::Bool: return 1;
    case GgufType::Uint16: case GgufType::Int16: return 2;
    case GgufType::Uint32: case GgufType::Int32: case GgufType::Float32: return 4;
    case GgufType::Uint64: case GgufType::Int64: case GgufType::Float64: return 8;
    case GgufType::String: return 8;
    case GgufType::Array: return 12;
  }
  return 1;
}

bool validType(uint32_t t) { return t <= uint32_t(GgufType::Float64); }

class Parser {
 public:
  Parser(const FileBytes& fb) : fb_(fb), r_(fb.data, fb.size) {}

  Error fail(const std::string& what) const {
    return makeError(fb_.path + ": " + what + " (at byte " + std::to_string(r_.pos()) + ")");
  }
  Error truncated(const std::string& what) const {
    return makeError(fb_.path + ": truncated GGUF file while reading " + what + " (" +
                     std::to_string(fb_.size) + " bytes)");
  }

  bool readStr(std::string* out) {
    const uint64_t n = r_.read<uint64_t>();
    return r_.ok() && r_.readString(n, out);
  }

  // Reads a value of type t into v; depth counts array nesting.
  Status readValue(GgufType t, GgufValue* v, int depth, const std::string& key) {
    v->type = t;
    switch (t) {
      case GgufType::Uint8: v->u = r_.read<uint8_t>(); break;
      case GgufType::Int8: v->i = r_.read<int8_t>(); break;
      case GgufType::Uint16: v->u = r_.read<uint16_t>(); break;
      case GgufType::Int16: v->i = r_.read<int16_t>(); break;
      case GgufType::Uint32: v->u = r_.read<uint32_t>(); break;
      case GgufType::Int32: v->i = r_.read<int32_t>(); break;
      case GgufType::Uint64: v->u = r_.read<uint64_t>(); break;
      case GgufType::Int64: v->i = r_.read<int64_t>(); break;
      case GgufType::Float32: v->f = r_.read<float>(); break;
      case GgufType::Float64: v->f = r_.read<double>(); break;
      case GgufType::Bool: {
        const uint8_t b = r_.read<uint8_t>();
        if (r_.ok() && b > 1) return fail("metadata " + key + ": bool value " + std::to_string(b) + " is not 0 or 1");
        v->b = b != 0;
        break;
      }
      case GgufType::String: readStr(&v->s); break;
      case GgufType::Array: {
        if (depth >= kMaxArrayDepth) return fail("metadata " + key + ": arrays nested deeper than " + std::to_string(kMaxArrayDepth));
        const uint32_t et = r_.read<uint32_t>();
        const uint64_t n = r_.read<uint64_t>();
        if (!r_.ok()) break;
        if (!validType(et)) return fail("metadata " + key + ": unknown array element type " + std::to_string(et));
        v->elem = GgufType(et);
        if (n > r_.remaining() / minValueBytes(v->elem))
          return fail("metadata " + key + ": array of " + std::to_string(n) + " elements does not fit in the file");
        elements_ += n;
        if (elements_ > kMaxMetadataElements)
          return fail("metadata " + key + ": more than " + std::to_string(kMaxMetadataElements) + " array elements in total");
        v->arr.resize(size_t(n));
        for (GgufValue& e : v->arr) {
          if (Status s = readValue(v->elem, &e, depth + 1, key); !s) return s;
          if (!r_.ok()) break;
        }
        break;
      }
    }
    if (!r_.ok()) return truncated("metadata " + key);
    return {};
  }

  Result<GgufFile> parse() {
    GgufFile f;
    const uint32_t magic = r_.read<uint32_t>();
    if (!r_.ok()) return truncated("the magic");
    if (magic != kGgufMagic) return fail("bad magic: not a GGUF file");
    f.version = r_.read<uint32_t>();
    const uint64_t n_tensors = r_.read<uint64_t>();
    const uint64_t n_kv = r_.read<uint64_t>();
    if (!r_.ok()) return truncated("the header");
    if (f.version != kGgufVersion)
      return makeError(fb_.path + ": unsupported GGUF version " + std::to_string(f.version) + " (only version 3 is supported)");
    // A key/value needs at least 8 (key length) + 4 (type) + 1 bytes; a tensor info 8 + 4 + 8 + 4 + 8.
    if (n_kv > r_.remaining() / 13) return fail("truncated or corrupt GGUF file: metadata count " + std::to_string(n_kv) + " does not fit in the file");
    if (n_tensors > r_.remaining() / 32) return fail("truncated or corrupt GGUF file: tensor count " + std::to_string(n_tensors) + " does not fit in the file");

    f.kv.reserve(size_t(n_kv));
    std::set<std::string> keys;
    for (uint64_t k = 0; k < n_kv; ++k) {
      std::string key;
      if (!readStr(&key)) return truncated("metadata key " + std::to_string(k));
      const uint32_t t = r_.read<uint32_t>();
      if (!r_.ok()) return truncated("metadata " + key);
      if (!validType(t)) return fail("metadata " + key + ": unknown value type " + std::to_string(t));
      if (!keys.insert(key).second) return fail("duplicate metadata key " + key);
      GgufValue v;
      if (Status s = readValue(GgufType(t), &v, 0, key); !s) return s.error();
      f.kv.emplace_back(std::move(key), std::move(v));
    }
    if (const GgufValue* a = f.find("general.alignment")) {
      int64_t al = 0;
      if (!a->asInt(&al) || al <= 0 || al > (1 << 20) || (al & (al - 1)) != 0)
        return makeError(fb_.path + ": general.alignment must be a power of two (got " + a->toString() + ")");
      f.alignment = uint32_t(al);
    }

    f.tensors.reserve(size_t(n_tensors));
    std::set<std::string> names;
    for (uint64_t k = 0; k < n_tensors; ++k) {
      GgufTensorInfo ti;
      if (!readStr(&ti.name)) return truncated("tensor info " + std::to_string(k));
      const uint32_t n_dims = r_.read<uint32_t>();
      if (!r_.ok()) return truncated("tensor info " + ti.name);
      if (n_dims == 0 || n_dims > kMaxDims)
        return fail("tensor " + ti.name + " has " + std::to_string(n_dims) + " dimensions (1 to 4 supported)");
      uint64_t elements = 1;
      for (uint32_t d = 0; d < n_dims; ++d) {
        const uint64_t ne = r_.read<uint64_t>();
        if (!r_.ok()) return truncated("tensor info " + ti.name);
        if (ne == 0 || !checkedMul(elements, ne, &elements) || elements > (uint64_t(1) << 48))
          return fail("tensor " + ti.name + " has an impossible dimension " + std::to_string(ne));
        ti.ne.push_back(ne);
      }
      ti.ggml_type = r_.read<uint32_t>();
      ti.offset = r_.read<uint64_t>();
      if (!r_.ok()) return truncated("tensor info " + ti.name);
      if (!ggmlTypeToDType(ti.ggml_type, &ti.type))
        return makeError(fb_.path + ": tensor " + ti.name + " has unsupported ggml type " + std::to_string(ti.ggml_type) +
                         " (supported: F32, F16, BF16, Q8_0, Q4_0)");
      const DTypeTraits& tr = dtypeTraits(ti.type);
      if (ti.ne[0] % uint64_t(tr.block_size) != 0)
        return fail("tensor " + ti.name + ": row length " + std::to_string(ti.ne[0]) + " is not a multiple of the " +
                    tr.name + " block size " + std::to_string(tr.block_size));
      if (!checkedMul(elements / uint64_t(tr.block_size), tr.block_bytes, &ti.bytes))
        return fail("tensor " + ti.name + " is impossibly large");
      if (ti.offset % f.alignment != 0)
        return fail("tensor " + ti.name + " offset " + std::to_string(ti.offset) + " is not a multiple of the alignment " +
                    std::to_string(f.alignment));
      if (!names.insert(ti.name).second) return fail("duplicate tensor name " + ti.name);
      f.tensors.push_back(std::move(ti));
    }
    const uint64_t pos = r_.pos();
    f.data_offset = (pos + f.alignment - 1) / f.alignment * f.alignment;
    for (const GgufTensorInfo& ti : f.tensors) {
      uint64_t start = 0, end = 0;
      if (!checkedAdd(f.data_offset, ti.offset, &start) || !checkedAdd(start, ti.bytes, &end) || end > fb_.size)
        return makeError(fb_.path + ": truncated GGUF file: tensor " + ti.name + " data [" + std::to_string(ti.offset) +
                         ", +" + std::to_string(ti.bytes) + ") lies beyond the end of the file (" +
                         std::to_string(fb_.size) + " bytes)");
    }
    return f;
  }

 private:
  const FileBytes& fb_;
  ByteReader r_;
  uint64_t elements_ = 0;
};

}  // namespace

const char* ggufTypeName(GgufType t) {
  static const char* kNames[] = {"UINT8", "INT8", "UINT16", "INT16", "UINT32", "INT32", "FLOAT32",
                                 "BOOL", "STRING", "ARRAY", "UINT64", "INT64", "FLOAT64"};
  return uint32_t(t) <= 12 ? kNames[uint32_t(t)] : "?";
}

bool GgufValue::isInteger() const {
  switch (type) {
    case GgufType::Uint8: case GgufType::Int8: case GgufType::Uint16: case GgufType::Int16:
    case GgufType::Uint32: case GgufType::Int32: case GgufType::Uint64: case GgufType::Int64: return true;
    default: return false;
  }
}

bool GgufValue::asInt(int64_t* out) const {
  if (!isInteger()) return false;
  const bool is_unsigned = type == GgufType::Uint8 || type == GgufType::Uint16 || type == GgufType::Uint32 ||
                           type == GgufType::Uint64;
  if (is_unsigned) {
    if (u > uint64_t(INT64_MAX)) return false;
    *out = int64_t(u);
  } else {
    *out = i;
  }
  return true;
}

bool GgufValue::asDouble(double* out) const {
  if (isFloat()) { *out = f; return true; }
  int64_t v;
  if (!asInt(&v)) return false;
  *out = double(v);
  return true;
}

std::string GgufValue::toString(size_t max_items) const {
  char buf[64];
  switch (type) {
    case GgufType::Uint8: case GgufType::Uint16: case GgufType::Uint32: case GgufType::Uint64: return std::to_string(u);
    case GgufType::Int8: case GgufType::Int16: case GgufType::Int32: case GgufType::Int64: return std::to_string(i);
    case GgufType::Float32: std::snprintf(buf, sizeof buf, "%.9g", f); return buf;
    case GgufType::Float64: std::snprintf(buf, sizeof buf, "%.17g", f); return buf;
    case GgufType::Bool: return b ? "true" : "false";
    case GgufType::String: return s;
    case GgufType::Array: {
      if (arr.size() > max_items)
      {
        std::string r = "[";  // built piecewise: GCC 12 warns (-Wrestrict) on "[" + std::string
        r += std::to_string(arr.size());
        r += " x ";
        r += ggufTypeName(elem);
        return r + "]";
      }
      std::string r = "[";
      for (size_t k = 0; k < arr.size(); ++k) r += (k ? ", " : "") + arr[k].toString(max_items);
      return r + "]";
    }
  }
  return "";
}

const GgufValue* GgufFile::find(const std::string& key) const {
  for (const auto& [k, v] : kv)
    if (k == key) return &v;
  return nullptr;
}

bool ggmlTypeToDType(uint32_t g, DType* out) {
  switch (g) {
    case 0: *out = DType::F32; return true;
    case 1: *out = DType::F16; return true;
    case 2: *out = DType::Q4_0; return true;
    case 8: *out = DType::Q8_0; return true;
    case 30: *out = DType::BF16; return true;
    default: return false;
  }
}

uint32_t dtypeToGgmlType(DType t) {
  switch (t) {
    case DType::F32: return 0;
    case DType::F16: return 1;
    case DType::Q4_0: return 2;
    case DType::Q8_0: return 8;
    case DType::BF16: return 30;
    case DType::I32: return 26;
    default: return 0;
  }
}

Result<GgufFile> readGguf(const FileBytes& bytes) { return Parser(bytes).parse(); }

}  // namespace precis
