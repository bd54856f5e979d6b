// `precis-cli info MODEL [--json]`: format, architecture, hyper-parameters, parameter count, every
// tensor (name, shape, dtype, bytes), the tokenizer found, and the backends that could run it.
// Tested by tests/cli/test_cli.cpp (stories260K --json: dim 64, 48 tensors... see the test).
#include <iostream>

#include <nlohmann/json.hpp>

#include "app/cli/cli_common.h"
#include "engine/backend/registry.h"
#include "engine/model/loader.h"
#include "engine/quant/quant_io.h"  // files written by `precis-cli quantize`

namespace precis::cli {

const CommandSpec& infoSpec() {
  static const CommandSpec spec{
      "info",
      "MODEL [--json]",
      "Describe a model file: format, hyper-parameters, tensors, tokenizer, backends.",
      "MODEL is a GGUF file, a Hugging Face directory (config.json + safetensors) or a llama2.c\n"
      "checkpoint. The backend line says which backend `--backend auto` would pick here, and why\n"
      "each other backend is or is not available.",
      {{"--json", "", "print one JSON object instead of the readable report"},
       {"--tokenizer", "FILE", "llama2.c tokenizer.bin to attach to a llama2.c checkpoint"}},
      1,
      1};
  return spec;
}

namespace {

const char* ropeName(RopeStyle s) { return s == RopeStyle::Half ? "half" : "adjacent"; }

}  // namespace

int runInfo(const ParsedArgs& args) {
  const CommandSpec& spec = infoSpec();
  const std::string& path = args.positional[0];
  LoadOptions lo;
  lo.tokenizer_path = args.get("--tokenizer");
  Result<Model> loaded = loadModel(path, lo);
  if (!loaded) return runtimeError(spec, loaded.error().message);
  const Model& m = *loaded;
  const LlamaConfig& c = m.config;
  auto arch_it = m.metadata.find("general.architecture");
  const std::string arch = arch_it != m.metadata.end() ? arch_it->second : "llama";
  const std::vector<BackendProbe> probes = probeBackends();
  std::string chosen = "cpu";
  for (const BackendProbe& p : probes)
    if (p.name == "cuda" && p.available) chosen = "cuda";
  uint64_t total_bytes = 0;
  for (const WeightTensor& t : m.tensors) total_bytes += t.bytes;
  // A `precis-cli quantize` safetensors file: the packed formats and bytes as written.
  Result<StoredQuantization> sq = storedQuantization(m);
  if (!sq) return runtimeError(spec, sq.error().message);
  std::map<std::string, const TensorQuantReport*> packed;
  for (const TensorQuantReport& t : sq->report.tensors) packed[t.name] = &t;

  if (args.has("--json")) {
    nlohmann::ordered_json j;
    j["path"] = path;
    j["format"] = m.format;
    j["architecture"] = arch;
    j["dim"] = c.dim;
    j["hidden_dim"] = c.hidden_dim;
    j["n_layers"] = c.n_layers;
    j["n_heads"] = c.n_heads;
    j["n_kv_heads"] = c.n_kv_heads;
    j["head_dim"] = c.headDim();
    j["vocab_size"] = c.vocab_size;
    j["context_length"] = c.context_length;
    j["norm_eps"] = c.norm_eps;
    j["rope_theta"] = c.rope_theta;
    j["rope_style"] = ropeName(c.rope_style);
    j["tied_classifier"] = c.tied_classifier;
    j["parameters"] = c.parameterCount();
    j["weight_bytes"] = total_bytes;
    nlohmann::ordered_json tensors = nlohmann::ordered_json::array();
    for (const WeightTensor& t : m.tensors)
      tensors.push_back({{"name", t.name}, {"shape", t.shape}, {"type", dtypeName(t.type)}, {"bytes", t.bytes}});
    j["tensors"] = tensors;
    j["tokenizer"] = {{"kind", tokenizerKindName(m.tokenizer.kind)},
                      {"vocab_size", m.tokenizer.pieces.size()},
                      {"source", m.tokenizer.source},
                      {"bos_id", m.tokenizer.bos_id},
                      {"eos_id", m.tokenizer.eos_id}};
    nlohmann::ordered_json backends = nlohmann::ordered_json::array();
    for (const BackendProbe& p : probes)
      backends.push_back({{"name", p.name}, {"available", p.available}, {"detail", p.detail}});
    j["backends"] = backends;
    j["backend"] = chosen;
    nlohmann::ordered_json meta = nlohmann::ordered_json::object();
    for (const auto& [k, v] : m.metadata) meta[k] = v;
    j["metadata"] = meta;
    if (sq->from_file) {
      nlohmann::ordered_json qt = nlohmann::ordered_json::array();
      for (const TensorQuantReport& t : sq->report.tensors)
        qt.push_back({{"name", t.name}, {"stored_as", t.to}, {"bytes", t.bytes}});
      j["quantization"] = {{"weights", weightSpecName(sq->scheme.weights)}, {"stored_bytes", sq->report.bytes},
                           {"bits_per_weight", sq->report.bits_per_weight},
                           {"quantized_bits_per_weight", sq->report.quantized_bits_per_weight}, {"tensors", qt}};
    }
    std::cout << j.dump(2) << "\n";
    return kExitOk;
  }

  std::cout << "Model:        " << path << "\n"
            << "Format:       " << m.format << "\n"
            << "Architecture: " << arch << "\n"
            << "Parameters:   " << c.parameterCount() << " (" << humanBytes(total_bytes) << " of weights)\n"
            << "Hyper-parameters:\n"
            << "  dim " << c.dim << ", hidden_dim " << c.hidden_dim << ", n_layers " << c.n_layers
            << ", n_heads " << c.n_heads << ", n_kv_heads " << c.n_kv_heads << ", head_dim "
            << c.headDim() << "\n"
            << "  vocab_size " << c.vocab_size << ", context_length " << c.context_length
            << ", norm_eps " << c.norm_eps << ", rope_theta " << c.rope_theta << " (" << ropeName(c.rope_style)
            << " pairs), classifier " << (c.tied_classifier ? "tied to token_embd" : "separate") << "\n";
  if (m.tokenizer.kind == TokenizerKind::None)
    std::cout << "Tokenizer:    none (token ids only)\n";
  else
    std::cout << "Tokenizer:    " << tokenizerKindName(m.tokenizer.kind) << ", " << m.tokenizer.pieces.size()
              << " pieces, from " << m.tokenizer.source << "\n";
  if (sq->from_file)
    std::cout << "Quantized:    " << weightSpecName(sq->scheme.weights) << " by precis-cli quantize: " << sq->report.bytes
              << " bytes stored, " << sq->report.bits_per_weight << " bits per weight (held packed; eval runs them on the packed CPU kernels)\n";
  if (auto w = m.metadata.find("warnings"); w != m.metadata.end())
    std::cout << "Warnings:     " << w->second << "\n";
  std::cout << "Backends:\n";
  for (const BackendProbe& p : probes)
    std::cout << "  " << p.name << ": " << (p.available ? "available, " : "not available: ") << p.detail
              << (p.name == chosen ? "  <- used by --backend auto" : "") << "\n";
  std::cout << "Tensors (" << m.tensors.size() << "):\n";
  for (const WeightTensor& t : m.tensors) {
    std::string name = t.name;
    if (name.size() < 28) name += std::string(28 - name.size(), ' ');
    std::string shape = shapeString(t.shape);
    if (shape.size() < 16) shape += std::string(16 - shape.size(), ' ');
    if (sq->from_file && packed.count(t.name) && packed[t.name]->simulated)
      std::cout << "  " << name << " " << shape << " " << packed[t.name]->to << "\t" << packed[t.name]->bytes << " bytes stored\n";
    else
      std::cout << "  " << name << " " << shape << " " << dtypeName(t.type) << "\t" << t.bytes << " bytes\n";
  }
  return kExitOk;
}

}  // namespace precis::cli
