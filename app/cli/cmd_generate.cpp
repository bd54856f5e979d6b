// `precis-cli generate MODEL (--prompt TEXT | --tokens IDS) -n N [--temperature T] [--seed S]
// [--backend B] [--threads N]`: the continuation (text when the model has a tokenizer, else ids)
// on stdout, the speed on stderr. Temperature 0 is greedy.
// Tested by tests/cli/test_cli.cpp (stories260K greedy from BOS gives the llama2.c reference ids).
#include <chrono>
#include <cstdio>
#include <iostream>

#include "app/cli/cli_common.h"
#include "engine/backend/registry.h"
#include "engine/eval/token_input.h"
#include "engine/model/loader.h"
#include "engine/runtime/llama_runtime.h"
#include "engine/runtime/sampler.h"
#include "engine/tokenizer/tokenizer.h"

namespace precis::cli {

const CommandSpec& generateSpec() {
  static const CommandSpec spec{
      "generate",
      "MODEL (--prompt TEXT | --tokens IDS) -n N [options]",
      "Continue a prompt with the model.",
      "--prompt needs a model with a tokenizer (BOS is prepended); --tokens gives the prompt as ids\n"
      "(e.g. \"1\" for BOS alone). The new tokens are printed as text when the model has a tokenizer,\n"
      "otherwise as ids; --ids always prints ids. The speed (tokens/s, prompt included in the time)\n"
      "goes to stderr. Sampling is seeded and gives the same tokens on every platform.",
      {{"--prompt", "TEXT", "prompt text (encoded with the model's tokenizer, BOS first)"},
       {"--tokens", "IDS", "prompt as token ids separated by spaces or commas"},
       {"-n", "N", "number of tokens to generate (default 32)"},
       {"--temperature", "T", "sampling temperature; 0 = greedy (default 0.8)"},
       {"--seed", "S", "sampling seed (default 0)"},
       {"--ids", "", "print token ids even when the model has a tokenizer"},
       {"--tokenizer", "FILE", "llama2.c tokenizer.bin to attach to a llama2.c checkpoint"},
       {"--backend", "NAME", "cpu, cuda or auto (default auto: cuda when available)"},
       {"--threads", "N", "CPU threads (default: all cores)"}},
      1,
      1};
  return spec;
}

int runGenerate(const ParsedArgs& args) {
  const CommandSpec& spec = generateSpec();
  if (args.has("--prompt") == args.has("--tokens")) return usageError(spec, "give exactly one of --prompt or --tokens");
  std::string err;
  const std::optional<long long> n = intOption(args, "-n", 32, 0, 1 << 24, err);
  if (!n) return usageError(spec, err);
  const std::optional<long long> seed = intOption(args, "--seed", 0, 0, INT64_MAX, err);
  if (!seed) return usageError(spec, err);
  const std::optional<long long> threads = intOption(args, "--threads", 0, 0, 4096, err);
  if (!threads) return usageError(spec, err);
  std::optional<double> temperature = 0.8;
  if (args.has("--temperature")) temperature = parseNumber("--temperature", args.get("--temperature"), 0, 1000, err);
  if (!temperature) return usageError(spec, err);
  const std::string backend_name = args.get("--backend", "auto");
  if (backend_name != "auto" && backend_name != "cpu" && backend_name != "cuda")
    return usageError(spec, "--backend: '" + backend_name + "' is not one of cpu, cuda, auto");

  const std::string& path = args.positional[0];
  LoadOptions lo;
  lo.tokenizer_path = args.get("--tokenizer");
  Result<Model> model = loadModel(path, lo);
  if (!model) return runtimeError(spec, model.error().message);
  std::optional<Tokenizer> tokenizer;
  if (model->tokenizer.kind != TokenizerKind::None) {
    Result<Tokenizer> t = Tokenizer::create(model->tokenizer);
    if (!t) return runtimeError(spec, t.error().message);
    tokenizer = std::move(*t);
  }

  std::vector<int32_t> prompt;
  if (args.has("--prompt")) {
    if (!tokenizer)
      return runtimeError(spec, path + ": the model carries no tokenizer; give the prompt with --tokens (or --tokenizer FILE)");
    prompt = tokenizer->encode(args.get("--prompt"), true);
  } else {
    Result<std::vector<int32_t>> ids = parseTokenIds(args.get("--tokens"), model->config.vocab_size, "--tokens");
    if (!ids) return usageError(spec, ids.error().message);
    prompt = std::move(*ids);
  }
  if (prompt.empty()) return usageError(spec, "the prompt has no tokens");
  const long long needed = static_cast<long long>(prompt.size()) + *n;
  if (needed > model->config.context_length)
    return runtimeError(spec, path + ": prompt (" + std::to_string(prompt.size()) + " tokens) + " + std::to_string(*n) +
                                  " new tokens exceed the model's context of " +
                                  std::to_string(model->config.context_length));

  BackendOptions bo;
  bo.threads = static_cast<int>(*threads);
  Result<std::unique_ptr<Backend>> backend = createBackend(backend_name, bo);
  if (!backend) return runtimeError(spec, backend.error().message);
  RuntimeOptions ro;
  ro.max_slots = 1;
  ro.max_ctx = static_cast<int>(needed);
  Result<std::unique_ptr<LlamaRuntime>> rt = LlamaRuntime::create(*model, **backend, ro);
  if (!rt) return runtimeError(spec, rt.error().message);

  GenerateOptions go;
  go.max_new_tokens = static_cast<int>(*n);
  go.temperature = static_cast<float>(*temperature);
  go.seed = static_cast<uint64_t>(*seed);
  const auto t0 = std::chrono::steady_clock::now();
  Result<std::vector<int32_t>> out = generate(**rt, prompt, go);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!out) return runtimeError(spec, out.error().message);

  if (tokenizer && !args.has("--ids")) {
    std::cout << tokenizer->decode(*out) << "\n";
  } else {
    for (size_t i = 0; i < out->size(); ++i) std::cout << (i ? " " : "") << (*out)[i];
    std::cout << "\n";
  }
  char line[160];
  std::snprintf(line, sizeof line, "%zu tokens in %.3f s (%.1f tokens/s, prompt of %zu tokens included) on %s\n",
                out->size(), secs, secs > 0 ? out->size() / secs : 0.0, prompt.size(),
                (*backend)->device().backend.c_str());
  std::cerr << line;
  return kExitOk;
}

}  // namespace precis::cli
