// Reading a Precis quantized safetensors file back (see quant_io.h and quant_io_write.cpp for the
// layout). Every size is checked against the shape and the format before a byte is decoded; the
// error names the file and the tensor. Lab formats are dequantized with dequantizeMatrix, the same
// code the quantizer's simulated run uses, so the model computes bit-identical logits.
// Tested by tests/quant/test_quant_io.cpp.
#include <cmath>
#include <cstring>
#include <fstream>
#include <memory>

#include "engine/model/loader.h"
#include "engine/model/safetensors.h"
#include "engine/quant/quant_io.h"
#include "engine/quant/quant_io_json.h"

namespace precis {
namespace {

bool isAsymFormat(WeightFormat f) { return f == WeightFormat::Int8Asym || f == WeightFormat::Int4Asym; }

Result<nlohmann::json> metaJson(const std::map<std::string, std::string>& meta, const char* key, const std::string& path) {
  auto it = meta.find(key);
  if (it == meta.end()) return makeError(path + ": no \"" + std::string(key) + "\" in the safetensors metadata");
  nlohmann::json j = nlohmann::json::parse(it->second, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return makeError(path + ": \"" + std::string(key) + "\" is not valid JSON");
  return j;
}

// One lab-format matrix from its tensors; checks every size against the shape and spec.
Result<QuantizedMatrix> readPacked(const nlohmann::json& e, const WeightSpec& spec, int64_t rows, int64_t cols,
                                   const std::map<std::string, const SafetensorsTensor*>& byName, const std::string& where) {
  QuantizedMatrix m;
  m.spec = spec;
  m.rows = rows;
  m.cols = cols;
  const int64_t n = rows * cols;
  m.span = spec.granularity == Granularity::Tensor ? n : spec.granularity == Granularity::Channel ? cols : spec.group;
  if (e.value("span", int64_t(-1)) != m.span)
    return makeError(where + ": span " + e.value("span", nlohmann::json()).dump() + " does not match " + granularityName(spec) +
                     " of a " + std::to_string(rows) + "x" + std::to_string(cols) + " matrix (" + std::to_string(m.span) + ")");
  if (m.span <= 0 || n % m.span != 0) return makeError(where + ": " + granularityName(spec) + " does not divide the matrix");
  const int64_t nscales = n / m.span;
  auto get = [&](const char* key, const std::string& dtype, uint64_t bytes) -> Result<const SafetensorsTensor*> {
    const std::string name = e.value(key, std::string());
    auto it = byName.find(name);
    if (name.empty() || it == byName.end()) return makeError(where + ": its " + key + " tensor '" + name + "' is missing");
    if (it->second->dtype != dtype || it->second->bytes != bytes)
      return makeError(where + ": " + name + " is " + it->second->dtype + " with " + std::to_string(it->second->bytes) +
                       " bytes; expected " + dtype + " with " + std::to_string(bytes));
    return it->second;
  };
  const uint64_t code_bytes = formatCodeBits(spec.format) == 4 ? uint64_t(n + 1) / 2 : uint64_t(n);
  Result<const SafetensorsTensor*> codes = get("codes", "U8", code_bytes);
  if (!codes) return codes.error();
  Result<const SafetensorsTensor*> scales = get("scales", "F32", uint64_t(nscales) * 4);
  if (!scales) return scales.error();
  m.codes.assign(reinterpret_cast<const uint8_t*>((*codes)->data), reinterpret_cast<const uint8_t*>((*codes)->data) + code_bytes);
  m.scales.resize(size_t(nscales));
  std::memcpy(m.scales.data(), (*scales)->data, size_t(nscales) * 4);  // may be unaligned in the file
  for (float s : m.scales)
    if (!std::isfinite(s) || s < 0) return makeError(where + ": a scale is negative or not finite (" + std::to_string(s) + ")");
  if (isAsymFormat(spec.format)) {
    Result<const SafetensorsTensor*> zeros = get("zeros", "U8", uint64_t(nscales));
    if (!zeros) return zeros.error();
    m.zeros.assign(reinterpret_cast<const uint8_t*>((*zeros)->data), reinterpret_cast<const uint8_t*>((*zeros)->data) + nscales);
    const int zmax = spec.format == WeightFormat::Int4Asym ? 15 : 255;
    for (uint8_t z : m.zeros)
      if (z > zmax) return makeError(where + ": zero point " + std::to_string(z) + " exceeds " + std::to_string(zmax));
  } else if (e.contains("zeros")) {
    return makeError(where + ": " + weightFormatName(spec.format) + " is symmetric but the file gives zero points");
  }
  return m;
}

}  // namespace

bool isPrecisQuantFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  uint64_t n = 0;
  if (!in.read(reinterpret_cast<char*>(&n), 8) || n == 0 || n > (uint64_t(100) << 20)) return false;
  std::string h(size_t(n), '\0');
  if (!in.read(h.data(), std::streamsize(n))) return false;
  return h.find(std::string("\"") + quantio::kQuantKey + "\"") != std::string::npos;
}

Result<StoredQuantization> storedQuantization(const Model& model) {
  StoredQuantization sq;
  ModelQuantReport& rep = sq.report;
  auto it = model.metadata.find(quantio::kQuantKey);
  nlohmann::json cfg;
  std::map<std::string, const nlohmann::json*> entries;
  if (it != model.metadata.end()) {
    cfg = nlohmann::json::parse(it->second, nullptr, false);
    if (cfg.is_discarded() || !cfg.is_object() || !cfg.contains("tensors") || !cfg["tensors"].is_array())
      return makeError(model.path + ": \"" + std::string(quantio::kQuantKey) + "\" is not a quantization config");
    Result<QuantScheme> s = quantio::schemeFromJson(cfg.value("scheme", nlohmann::json()));
    if (!s) return makeError(model.path + ": " + s.error().message);
    sq.scheme = *s;
    sq.from_file = true;
    for (const auto& e : cfg["tensors"])
      if (e.is_object() && e.contains("name") && e["name"].is_string()) entries[e["name"].get<std::string>()] = &e;
  }
  int64_t total = 0, qelems = 0;
  uint64_t qbytes = 0;
  for (const WeightTensor& w : model.tensors) {
    TensorQuantReport t;
    t.name = w.name;
    t.elements = w.elements();
    t.from = dtypeName(w.type);
    t.to = dtypeName(w.type);
    t.bytes = w.bytes;
    t.quantized = w.type != DType::F32 && w.shape.size() >= 2;
    if (auto e = entries.find(w.name); e != entries.end()) {
      const nlohmann::json& j = *e->second;
      t.from = j.value("from", t.from);
      t.reason = j.value("reason", std::string());
      t.quantized = j.value("quantized", t.quantized);
      t.bytes = j.value("bytes", uint64_t(w.bytes));
      Result<WeightFormat> f = parseWeightFormat(j.value("format", std::string("?")));
      if (!f) return makeError(model.path + ": tensor " + w.name + ": " + f.error().message);
      Result<WeightSpec> spec = parseGranularity(j.value("granularity", std::string("-")) == "-" ? "channel" : j.value("granularity", std::string()), *f);
      if (!spec) return makeError(model.path + ": tensor " + w.name + ": " + spec.error().message);
      t.spec = *spec;
      t.simulated = formatHasGranularity(*f);
      t.to = t.simulated ? weightSpecName(*spec) : t.to;
      if (j.contains("act_clip") && j["act_clip"].is_number()) sq.act_clip[w.name] = j["act_clip"].get<float>();
    } else if (sq.from_file) {
      return makeError(model.path + ": tensor " + w.name + " is not described in the quantization config");
    }
    rep.simulated_tensors += t.simulated;
    rep.bytes += t.bytes;
    total += t.elements;
    if (t.quantized) {
      qelems += t.elements;
      qbytes += t.bytes;
    }
    rep.tensors.push_back(std::move(t));
  }
  rep.bits_per_weight = total ? 8.0 * double(rep.bytes) / double(total) : 0;
  rep.quantized_bits_per_weight = qelems ? 8.0 * double(qbytes) / double(qelems) : 0;
  return sq;
}

Result<LoadedQuantFile> loadQuantizedSafetensors(const std::string& path,
                                                 const std::function<bool(int, int)>& progress) {
  Result<FileBytes> fb = mapFile(path);
  if (!fb) return fb.error();
  SafetensorsParse po;
  po.raw_u8 = true;
  Result<SafetensorsFile> sf = parseSafetensors(*fb, po);
  if (!sf) return sf.error();
  Result<nlohmann::json> qc = metaJson(sf->metadata, quantio::kQuantKey, path);
  if (!qc) return qc.error();
  if (!qc->is_object() || qc->value("format_version", 0) != quantio::kFormatVersion)
    return makeError(path + ": quantization config format_version " + qc->value("format_version", nlohmann::json()).dump() +
                     " is not " + std::to_string(quantio::kFormatVersion));
  Result<nlohmann::json> cj = metaJson(sf->metadata, quantio::kConfigKey, path);
  if (!cj) return cj.error();
  Result<LlamaConfig> config = quantio::configFromJson(*cj);
  if (!config) return makeError(path + ": " + config.error().message);
  std::map<std::string, const SafetensorsTensor*> byName;
  for (const SafetensorsTensor& t : sf->tensors) byName[t.name] = &t;

  LoadedQuantFile out;
  Model& m = out.quantized.model;
  m.config = *config;
  m.path = path;
  m.format = "precis-quant";
  m.metadata[quantio::kQuantKey] = sf->metadata.at(quantio::kQuantKey);
  if (auto tj = metaJson(sf->metadata, quantio::kTokenizerKey, path); tj) {
    auto pieces = byName.find(quantio::kPiecesTensor);
    if (pieces == byName.end() || pieces->second->dtype != "U8") return makeError(path + ": the tokenizer's pieces tensor is missing");
    Result<TokenizerData> tok = quantio::tokenizerFromJson(*tj, reinterpret_cast<const uint8_t*>(pieces->second->data), pieces->second->bytes);
    if (!tok) return makeError(path + ": " + tok.error().message);
    m.tokenizer = std::move(*tok);
  }
  const nlohmann::json& tensors = (*qc)["tensors"];
  if (!tensors.is_array()) return makeError(path + ": quantization config has no tensors array");
  for (const nlohmann::json& e : tensors) {
    const std::string name = e.is_object() ? e.value("name", std::string()) : std::string();
    const std::string where = path + ": tensor " + name;
    if (name.empty() || !e.contains("shape") || !e["shape"].is_array()) return makeError(path + ": a tensor entry has no name or shape");
    WeightTensor w;
    w.name = name;
    try {
      w.shape = e["shape"].get<std::vector<int64_t>>();
    } catch (const std::exception&) {
      return makeError(where + ": shape is not a list of integers");
    }
    int64_t n = 1;
    for (int64_t d : w.shape) {
      if (d <= 0 || d > (int64_t(1) << 32) || n > (int64_t(1) << 40) / d) return makeError(where + ": impossible shape");
      n *= d;
    }
    Result<WeightFormat> f = parseWeightFormat(e.value("format", std::string("?")));
    if (!f) return makeError(where + ": " + f.error().message);
    if (formatHasGranularity(*f)) {
      Result<WeightSpec> spec = parseGranularity(e.value("granularity", std::string("?")), *f);
      if (!spec) return makeError(where + ": " + spec.error().message);
      if (w.shape.size() != 2) return makeError(where + ": a packed tensor must be a matrix");
      Result<QuantizedMatrix> q = readPacked(e, *spec, w.shape[0], w.shape[1], byName, where);
      if (!q) return q.error();
      auto buf = std::make_shared<std::vector<float>>(size_t(n));
      dequantizeMatrix(*q, buf->data());
      w.type = DType::F32;
      w.data = reinterpret_cast<const std::byte*>(buf->data());
      w.bytes = size_t(n) * 4;
      w.owner = buf;
      out.quantized.packed.emplace(name, std::move(*q));
    } else {
      DType t = DType::F32;
      if (!parseDType(e.value("format", std::string()).c_str(), &t) && *f != WeightFormat::F32)
        return makeError(where + ": format " + e.value("format", std::string()) + " has no stored type");
      if (*f == WeightFormat::F32) t = DType::F32;
      auto it = byName.find(name);
      if (it == byName.end()) return makeError(where + ": its data tensor is missing");
      const uint64_t need = w.shape.empty() || w.shape.back() % dtypeTraits(t).block_size != 0
                                ? 0 : rowBytes(t, w.shape.back()) * uint64_t(n / w.shape.back());
      const std::string want = t == DType::F32 ? "F32" : t == DType::F16 ? "F16" : t == DType::BF16 ? "BF16" : "U8";
      if (need == 0 || it->second->dtype != want || it->second->bytes != need)
        return makeError(where + ": stored as " + it->second->dtype + " with " + std::to_string(it->second->bytes) +
                         " bytes; " + dtypeName(t) + " of shape " + e["shape"].dump() + " needs " + want + " with " + std::to_string(need));
      w.type = t;
      w.data = it->second->data;
      w.bytes = it->second->bytes;
      w.owner = fb->owner;
    }
    m.tensors.push_back(std::move(w));
    const int done = int(m.tensors.size()), total = int(tensors.size());
    if (progress && !progress(done, total))
      return makeError(path + ": loading cancelled after tensor " + std::to_string(done) + " of " +
                       std::to_string(total));
  }
  if (Status s = m.validate(); !s) return makeError(path + ": " + s.error().message);
  Result<StoredQuantization> sq = storedQuantization(m);
  if (!sq) return sq.error();
  for (const TensorQuantReport& t : sq->report.tensors) {
    auto p = out.quantized.packed.find(t.name);
    const uint64_t real = p != out.quantized.packed.end() ? p->second.bytes() : m.find(t.name)->bytes;
    if (real != t.bytes)
      return makeError(path + ": tensor " + t.name + " holds " + std::to_string(real) + " bytes but the config records " +
                       std::to_string(t.bytes));
  }
  out.quantized.report = sq->report;
  out.stored = std::move(*sq);
  return out;
}

Result<Model> loadPrecisQuant(const std::string& path, const LoadOptions& options) {
  Result<LoadedQuantFile> f = loadQuantizedSafetensors(path, options.progress);
  if (!f) return f.error();
  return std::move(f->quantized.model);
}

}  // namespace precis
