// `precis-cli make-model (--preset NAME | --config JSON_FILE) --out FILE.gguf [--seed S]`: a
// random-weights f32 GGUF of a given shape (for benchmarks and tests), streamed tensor by tensor,
// with a progress line on stderr. Tested by tests/cli/test_cli.cpp (tiny config -> info reads it).
#include <cstdio>
#include <iostream>

#include "app/cli/cli_common.h"
#include "engine/eval/token_input.h"
#include "engine/model/presets.h"

namespace precis::cli {

const CommandSpec& makeModelSpec() {
  static const CommandSpec spec = [] {
    std::string presets;
    for (const std::string& p : presetNames()) presets += (presets.empty() ? "" : ", ") + p;
    return CommandSpec{
        "make-model",
        "(--preset NAME | --config JSON_FILE) --out FILE.gguf [--seed S]",
        "Write a random-weights f32 GGUF model of a given shape.",
        "Presets: " + presets + ".\n"
        "A config file is a JSON object with keys dim, hidden_dim, n_layers, n_heads, n_kv_heads,\n"
        "vocab_size, context_length, norm_eps, rope_theta, tied_classifier.\n"
        "Weights are normal(0, 0.02) from a seeded per-tensor stream (the same file for the same\n"
        "seed on every platform); norm weights are 1. The file is written to a temporary name and\n"
        "renamed when complete.",
        {{"--preset", "NAME", "a named shape"},
         {"--config", "JSON_FILE", "a shape from a JSON file"},
         {"--out", "FILE", "output GGUF path"},
         {"--seed", "S", "random seed (default 0)"},
         {"--quiet", "", "no progress line"}},
        0,
        0};
  }();
  return spec;
}

int runMakeModel(const ParsedArgs& args) {
  const CommandSpec& spec = makeModelSpec();
  if (args.has("--preset") == args.has("--config")) return usageError(spec, "give exactly one of --preset or --config");
  if (!args.has("--out") || args.get("--out").empty()) return usageError(spec, "--out FILE.gguf is required");
  std::string err;
  const std::optional<long long> seed = intOption(args, "--seed", 0, 0, INT64_MAX, err);
  if (!seed) return usageError(spec, err);

  Result<LlamaConfig> config = makeError("");
  if (args.has("--preset")) {
    config = presetConfig(args.get("--preset"));
    if (!config) return usageError(spec, config.error().message);
  } else {
    const std::string cfg_path = args.get("--config");
    Result<std::string> text = readTextFile(cfg_path);
    if (!text) return runtimeError(spec, text.error().message);
    config = configFromJson(*text);
    if (!config) return runtimeError(spec, cfg_path + ": " + config.error().message);
  }
  if (Status st = config->validate(); !st) return runtimeError(spec, st.error().message);

  const std::string out = args.get("--out");
  const bool quiet = args.has("--quiet");
  int last_percent = -1;
  auto progress = [&](double f) {
    const int pct = static_cast<int>(f * 100);
    if (!quiet && pct != last_percent) {
      last_percent = pct;
      std::fprintf(stderr, "\rwriting %s: %3d%%", out.c_str(), pct);
      std::fflush(stderr);
    }
    return true;
  };
  Status st = writeRandomModelGguf(*config, static_cast<uint64_t>(*seed), out, progress);
  if (!quiet && last_percent >= 0) std::fprintf(stderr, "\n");
  if (!st) return runtimeError(spec, st.error().message);
  std::cout << "wrote " << out << ": " << config->parameterCount() << " parameters, dim " << config->dim
            << ", " << config->n_layers << " layers, vocab " << config->vocab_size << ", seed " << *seed << "\n";
  return kExitOk;
}

}  // namespace precis::cli
