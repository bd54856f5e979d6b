// `precis-cli train --config JSON (--data FILE | --tokens FILE) --out FILE [options]`: trains a
// Llama-family model from scratch on the CPU (hard labels, AdamW, warm-up + cosine), with progress
// lines, held-out evaluation, GGUF checkpoints, --resume, Ctrl-C and the experiment log
// (app/cli/train_cli.h). The tokenizer comes from --tokenizer FILE or is trained on the text with
// --bpe-vocab N (engine/train/bpe_trainer.h).
// Tested by tests/cli/test_cli_train.cpp.
#include <sstream>

#include <nlohmann/json.hpp>

#include "app/cli/cli_common.h"
#include "app/cli/train_cli.h"
#include "engine/eval/token_input.h"
#include "engine/log/envelope.h"
#include "engine/model/loader.h"
#include "engine/model/presets.h"
#include "engine/tokenizer/llama2c_tokenizer.h"
#include "engine/tokenizer/tokenizer_json.h"
#include "engine/train/bpe_trainer.h"

namespace precis::cli {

const CommandSpec& trainSpec() {
  static const CommandSpec spec = [] {
    CommandSpec s{"train",
                  "--config JSON (--data FILE | --tokens FILE) --out FILE [--tokenizer FILE | --bpe-vocab N] [options]",
                  "Train a Llama-family model from scratch on the CPU and write it as GGUF.",
                  "--config is a JSON shape as make-model reads it (dim, hidden_dim, n_layers, n_heads,\n"
                  "n_kv_heads, vocab_size, context_length, norm_eps, rope_theta, tied_classifier); with a\n"
                  "tokenizer, vocab_size may be left out (it is the tokenizer's size).\n"
                  "\n"
                  "Data: --data FILE is text, one sequence per non-blank line (BOS first), encoded with the\n"
                  "tokenizer of --tokenizer FILE (a model carrying one, tokenizer.json, or a llama2.c\n"
                  "tokenizer.bin) or of a BPE vocabulary of N pieces trained on the file (--bpe-vocab N);\n"
                  "--tokens FILE has one sequence of ids per line. The last --heldout of the sequences is\n"
                  "held out for evaluation.\n"
                  "\n"
                  "Each step draws --batch windows of --ctx + 1 tokens (a seeded hash of the step, so a\n"
                  "resumed run draws the same batches) and minimises the cross-entropy of the next token.\n"
                  "Weights start normal(0, 0.02) (output projections scaled by 1/sqrt(2 layers)).\n"
                  "The result and checkpoints are f32 GGUF files (with the tokenizer) that every other\n"
                  "command loads; OUT.optim holds the optimizer state for --resume. Ctrl-C finishes the\n"
                  "current step, writes a checkpoint and exits with code 130. See docs/distillation.md.",
                  {{"--config", "JSON", "model shape (JSON file)"},
                   {"--data", "FILE", "text file (one sequence per line)"},
                   {"--tokens", "FILE", "token file (one sequence of ids per line)"},
                   {"--tokenizer", "FILE", "tokenizer for --data: a model with one, tokenizer.json or tokenizer.bin"},
                   {"--bpe-vocab", "N", "train a BPE tokenizer of N pieces on --data instead"},
                   {"--out", "FILE", "output GGUF (also the checkpoint)"}},
                  0,
                  0};
    for (const OptionSpec& o : trainLoopOptions()) s.options.push_back(o);
    return s;
  }();
  return spec;
}

namespace {

bool endsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

Result<TokenizerData> tokenizerFromFile(const std::string& path, int vocab) {
  if (endsWith(path, ".json")) return loadTokenizerJson(path);
  Result<Model> m = loadModel(path);
  if (m) {
    if (m->tokenizer.kind == TokenizerKind::None) return makeError(path + ": this model carries no tokenizer");
    return m->tokenizer;
  }
  if (vocab <= 0) return makeError(path + ": " + m.error().message);
  Result<TokenizerData> bin = loadLlama2cTokenizer(path, vocab);
  if (bin) return bin;
  return makeError(path + ": neither a model (" + m.error().message + ") nor a tokenizer.bin (" + bin.error().message + ")");
}

Result<TokenizerData> bpeFromText(const std::string& path, int vocab) {
  Result<std::string> text = readTextFile(path);
  if (!text) return text.error();
  std::vector<std::string> lines;
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line))
    if (line.find_first_not_of(" \t\r") != std::string::npos) lines.push_back(line);
  if (lines.empty()) return makeError(path + ": no data");
  Result<TokenizerData> t = trainBpeTokenizer(lines, vocab);
  if (!t) return makeError(path + ": --bpe-vocab: " + t.error().message);
  return t;
}

}  // namespace

int runTrain(const ParsedArgs& args) {
  const CommandSpec& spec = trainSpec();
  if (!args.has("--config")) return usageError(spec, "--config JSON is required");
  if (!args.has("--out")) return usageError(spec, "--out FILE is required");
  if (args.has("--data") == args.has("--tokens")) return usageError(spec, "give exactly one of --data or --tokens");
  if (args.has("--tokenizer") && args.has("--bpe-vocab")) return usageError(spec, "give --tokenizer or --bpe-vocab, not both");
  if (args.has("--bpe-vocab") && !args.has("--data")) return usageError(spec, "--bpe-vocab trains on --data (a text file)");
  if (args.has("--data") && !args.has("--tokenizer") && !args.has("--bpe-vocab"))
    return usageError(spec, "--data is text: give its tokenizer (--tokenizer FILE) or train one (--bpe-vocab N), or give --tokens FILE of ids");
  std::string err;
  std::optional<TrainOptions> o = trainOptionsFromArgs(args, err);
  if (!o) return usageError(spec, err);
  const std::optional<double> heldout = heldoutFromArgs(args, err);
  if (!heldout) return usageError(spec, err);
  const std::optional<long long> bpe = intOption(args, "--bpe-vocab", 0, 260, 1 << 20, err);
  if (!bpe) return usageError(spec, err);

  const std::string cfg_path = args.get("--config");
  TokenizerData td;
  if (args.has("--tokenizer")) {
    // A llama2.c tokenizer.bin does not say its size: take it from the configuration.
    Result<std::string> text = readTextFile(cfg_path);
    if (!text) return runtimeError(spec, text.error().message);
    const nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
    const int vocab = j.is_object() && j.contains("vocab_size") && j["vocab_size"].is_number_integer()
                          ? j["vocab_size"].get<int>() : 0;
    Result<TokenizerData> t = tokenizerFromFile(args.get("--tokenizer"), vocab);
    if (!t) return runtimeError(spec, t.error().message);
    td = std::move(*t);
  } else if (*bpe > 0) {
    Result<TokenizerData> t = bpeFromText(args.get("--data"), int(*bpe));
    if (!t) return runtimeError(spec, t.error().message);
    td = std::move(*t);
  }
  Result<LlamaConfig> cfg = configFileWithVocab(cfg_path, td.kind != TokenizerKind::None ? int(td.pieces.size()) : 0);
  if (!cfg) return runtimeError(spec, cfg.error().message);
  if (o->ctx == 0) o->ctx = std::min(64, cfg->context_length);
  if (o->ctx > cfg->context_length)
    return runtimeError(spec, "--ctx " + std::to_string(o->ctx) + " exceeds the configuration's context_length " +
                                  std::to_string(cfg->context_length) + " (" + cfg_path + ")");

  std::optional<Tokenizer> tok;
  if (td.kind != TokenizerKind::None) {
    Result<Tokenizer> t = Tokenizer::create(td);
    if (!t) return runtimeError(spec, t.error().message);
    tok = std::move(*t);
  }
  Result<TokenSplit> data = loadDataFromArgs(args, tok ? &*tok : nullptr, cfg->vocab_size, *heldout);
  if (!data) return runtimeError(spec, data.error().message);

  TrainJob job;
  job.command = "train";
  job.out = args.get("--out");
  job.name = "precis-train";
  job.tokenizer = td;
  job.data_digest = tokenDigest({data->train, data->heldout});
  job.params["parameters"] = std::to_string(cfg->parameterCount());
  return runTrainJob(spec, args, job, TrainParams::init(*cfg, o->seed), *o, std::move(*data), {});
}

}  // namespace precis::cli
