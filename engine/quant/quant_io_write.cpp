// writeQuantizedModel (see quant_io.h): GGUF through engine/model/gguf_writer, or the Precis
// quantized safetensors layout (docs/quantization.md, "File layout"):
//   NAME            a plain tensor (F32/F16/BF16) as stored, or a GGUF block tensor (q8_0/q4_0)
//                   as U8 blocks;
//   NAME.codes      U8 (packed codes of a lab format; 4-bit formats two per byte, low nibble first)
//   NAME.scales     F32 (one per span of `span` consecutive row-major elements)
//   NAME.zeros      U8 (asymmetric formats only, one per scale)
//   __tokenizer.pieces U8 (the vocabulary's pieces back to back)
// and in __metadata__: precis.quantization (scheme, per-tensor layout, activation ranges),
// precis.config, precis.tokenizer.
// Tested by tests/quant/test_quant_io.cpp.
#include <filesystem>

#include "engine/model/gguf_writer.h"
#include "engine/model/safetensors.h"
#include "engine/quant/quant_io.h"
#include "engine/quant/quant_io_json.h"

namespace precis {
namespace {

const char* safetensorsDType(DType t) {
  switch (t) {
    case DType::F32: return "F32";
    case DType::F16: return "F16";
    case DType::BF16: return "BF16";
    default: return "U8";
  }
}

}  // namespace

Result<std::string> quantFileKind(const std::string& path) {
  const std::string ext = std::filesystem::path(path).extension().string();
  if (ext == ".gguf") return std::string("gguf");
  if (ext == ".safetensors") return std::string("safetensors");
  return makeError(path + ": the output name must end in .gguf (f32, f16, bf16, q8_0, q4_0) or .safetensors (any format)");
}

Status writeQuantizedModel(const QuantizedModel& q, const QuantScheme& scheme, const std::string& path,
                           const QuantFileOptions& options) {
  Result<std::string> kind = quantFileKind(path);
  if (!kind) return kind.error();
  const ModelQuantReport& rep = q.report;
  if (rep.tensors.size() != q.model.tensors.size()) return makeError(path + ": report and model disagree on the tensors");
  if (*kind == "gguf") {
    for (const TensorQuantReport& t : rep.tensors)
      if (q.packed.count(t.name))
        return makeError(path + ": tensor " + t.name + " is " + t.to + ", which GGUF has no type for; write a .safetensors file");
    if (scheme.activations != ActFormat::None)
      return makeError(path + ": GGUF cannot record activation quantization (" + std::string(actFormatName(scheme.activations)) +
                       "); write a .safetensors file");
    return writeGguf(q.model, path);
  }

  nlohmann::ordered_json tensors = nlohmann::ordered_json::array();
  std::vector<SafetensorsOut> out;
  for (size_t i = 0; i < q.model.tensors.size(); ++i) {
    const WeightTensor& w = q.model.tensors[i];
    const TensorQuantReport& t = rep.tensors[i];
    if (t.name != w.name) return makeError(path + ": report and model disagree on tensor " + w.name);
    nlohmann::ordered_json e = {{"name", w.name}, {"shape", w.shape}, {"from", t.from}, {"bytes", t.bytes}};
    if (!t.reason.empty()) e["reason"] = t.reason;
    auto it = q.packed.find(w.name);
    if (it != q.packed.end()) {
      const QuantizedMatrix& m = it->second;
      e["format"] = weightFormatName(m.spec.format);
      e["granularity"] = granularityName(m.spec);
      e["span"] = m.span;
      e["codes"] = w.name + ".codes";
      e["scales"] = w.name + ".scales";
      out.push_back({w.name + ".codes", "U8", {int64_t(m.codes.size())}, m.codes.data(), m.codes.size()});
      out.push_back({w.name + ".scales", "F32", {int64_t(m.scales.size())}, m.scales.data(), m.scales.size() * 4});
      if (!m.zeros.empty()) {
        e["zeros"] = w.name + ".zeros";
        out.push_back({w.name + ".zeros", "U8", {int64_t(m.zeros.size())}, m.zeros.data(), m.zeros.size()});
      }
    } else {
      if (dtypeTraits(w.type).to_float == nullptr)
        return makeError(path + ": tensor " + w.name + " is " + dtypeName(w.type) + ", which this file cannot hold");
      e["format"] = dtypeName(w.type);
      e["granularity"] = "-";
      const bool raw = std::string(safetensorsDType(w.type)) == "U8";
      out.push_back({w.name, safetensorsDType(w.type), raw ? std::vector<int64_t>{int64_t(w.bytes)} : w.shape, w.data, w.bytes});
    }
    e["quantized"] = t.quantized;
    if (auto a = options.act_clip.find(w.name); a != options.act_clip.end()) e["act_clip"] = a->second;
    tensors.push_back(e);
  }
  std::vector<uint8_t> blob;
  const nlohmann::ordered_json tok = quantio::tokenizerToJson(q.model.tokenizer, blob);
  out.push_back({quantio::kPiecesTensor, "U8", {int64_t(blob.size())}, blob.data(), blob.size()});
  const nlohmann::ordered_json config = {
      {"format_version", quantio::kFormatVersion},
      {"producer", "precis-cli quantize"},
      {"source", options.source},
      {"scheme", quantio::schemeToJson(scheme)},
      {"bytes", rep.bytes},
      {"bits_per_weight", rep.bits_per_weight},
      {"quantized_bits_per_weight", rep.quantized_bits_per_weight},
      {"tensors", tensors}};
  std::map<std::string, std::string> meta;
  meta["format"] = "pt";
  meta[quantio::kQuantKey] = config.dump();
  meta[quantio::kConfigKey] = quantio::configToJson(q.model.config).dump();
  try {
    meta[quantio::kTokenizerKey] = tok.dump();
  } catch (const std::exception& e) {
    return makeError(path + ": the tokenizer's merges are not valid UTF-8 (" + e.what() + ")");
  }
  return writeSafetensors(path, out, meta, options.progress);
}

}  // namespace precis
