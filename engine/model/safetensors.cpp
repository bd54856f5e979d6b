// safetensors header parser (see safetensors.h). JSON parsing uses nlohmann::json without
// exceptions escaping: a malformed header is an error naming the file.
// Tested by tests/model/test_hf_loader.cpp and tests/fuzz/fuzz_safetensors.cpp.
#include "engine/model/safetensors.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace precis {

Result<SafetensorsFile> parseSafetensors(const FileBytes& fb, const SafetensorsParse& options) {
  const std::string& path = fb.path;
  ByteReader r(fb.data, fb.size);
  const uint64_t n = r.read<uint64_t>();
  if (!r.ok()) return makeError(path + ": truncated safetensors file (" + std::to_string(fb.size) + " bytes, no header length)");
  if (n > r.remaining() || n > (uint64_t(100) << 20))
    return makeError(path + ": safetensors header length " + std::to_string(n) + " exceeds the file size " +
                     std::to_string(fb.size) + " (truncated or not a safetensors file)");
  const char* hb = reinterpret_cast<const char*>(fb.data + 8);
  const nlohmann::json header = nlohmann::json::parse(hb, hb + n, nullptr, /*allow_exceptions=*/false);
  if (header.is_discarded() || !header.is_object())
    return makeError(path + ": safetensors header is not a JSON object");
  const uint64_t data_start = 8 + n;
  const uint64_t data_size = fb.size - data_start;

  SafetensorsFile f;
  f.bytes = fb;
  for (const auto& item : header.items()) {
    const std::string& name = item.key();  // not a structured binding: lambdas capture it (clang 14)
    const nlohmann::json& e = item.value();
    if (name == "__metadata__") {
      if (e.is_object())
        for (const auto& [k, v] : e.items())
          if (v.is_string()) f.metadata[k] = v.get<std::string>();
      continue;
    }
    auto bad = [&](const std::string& what) { return makeError(path + ": tensor " + name + ": " + what); };
    if (!e.is_object()) return bad("header entry is not an object");
    const auto dt = e.find("dtype"), sh = e.find("shape"), off = e.find("data_offsets");
    if (dt == e.end() || !dt->is_string() || sh == e.end() || !sh->is_array() || off == e.end() || !off->is_array() ||
        off->size() != 2)
      return bad("header entry needs dtype, shape and data_offsets [begin, end]");
    SafetensorsTensor t;
    t.name = name;
    const std::string dtype = dt->get<std::string>();
    t.dtype = dtype;
    if (dtype == "F32") t.type = DType::F32;
    else if (dtype == "F16") t.type = DType::F16;
    else if (dtype == "BF16") t.type = DType::BF16;
    else if (dtype == "U8" && options.raw_u8) t.type = DType::Count;
    else return bad("unsupported dtype " + dtype + (options.raw_u8 ? " (supported: F32, F16, BF16, U8)" : " (supported: F32, F16, BF16)"));
    uint64_t elements = 1;
    for (const auto& d : *sh) {
      if (!d.is_number_unsigned()) return bad("shape entries must be non-negative integers");
      const uint64_t v = d.get<uint64_t>();
      if (v > (uint64_t(1) << 40) || !checkedMul(elements, v, &elements) || elements > (uint64_t(1) << 48))
        return bad("impossible shape");
      t.shape.push_back(int64_t(v));
    }
    if (!(*off)[0].is_number_unsigned() || !(*off)[1].is_number_unsigned()) return bad("data_offsets must be integers");
    const uint64_t begin = (*off)[0].get<uint64_t>(), end = (*off)[1].get<uint64_t>();
    if (begin > end || end > data_size)
      return bad("data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) + "] lie outside the data (" +
                 std::to_string(data_size) + " bytes; file truncated?)");
    uint64_t expect = 0;
    const uint64_t elem_bytes = t.type == DType::Count ? 1 : dtypeTraits(t.type).block_bytes;
    if (!checkedMul(elements, elem_bytes, &expect) || expect != end - begin)
      return bad("data_offsets cover " + std::to_string(end - begin) + " bytes but shape and dtype need " +
                 std::to_string(expect));
    t.data = fb.data + data_start + begin;
    t.bytes = size_t(end - begin);
    f.tensors.push_back(std::move(t));
  }
  // Ranges must not overlap.
  std::vector<const SafetensorsTensor*> sorted;
  for (const SafetensorsTensor& t : f.tensors)
    if (t.bytes) sorted.push_back(&t);  // an empty tensor occupies no bytes and overlaps nothing
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->data < b->data; });
  for (size_t k = 1; k < sorted.size(); ++k)
    if (sorted[k - 1]->data + sorted[k - 1]->bytes > sorted[k]->data)
      return makeError(path + ": tensors " + sorted[k - 1]->name + " and " + sorted[k]->name + " overlap");
  return f;
}

}  // namespace precis
