// The data flags and evaluation input of eval, sweep and sensitivity (app/cli/eval_args.h).
// Tested through those commands by tests/cli/test_cli.cpp and tests/quant/test_cli_*.cpp.
#include "app/cli/eval_args.h"

#include <cstdint>

#include "app/cli/cli_common.h"
#include "engine/eval/evaluator.h"
#include "engine/eval/token_input.h"
#include "engine/tokenizer/tokenizer.h"

namespace precis::cli {

std::optional<EvalNumbers> evalNumbers(const ParsedArgs& args, long long sample_fallback,
                                       std::string& error) {
  const std::optional<long long> sample =
      intOption(args, "--sample", sample_fallback, 1, 1 << 24, error);
  if (!sample) return std::nullopt;
  const std::optional<long long> seed = intOption(args, "--seed", 0, 0, INT64_MAX, error);
  if (!seed) return std::nullopt;
  const std::optional<long long> ctx = intOption(args, "--ctx", 0, 2, 1 << 24, error);
  if (!ctx) return std::nullopt;
  const std::optional<long long> threads = intOption(args, "--threads", 0, 0, 4096, error);
  if (!threads) return std::nullopt;
  return EvalNumbers{*sample, *seed, *ctx, *threads};
}

std::optional<std::string> choiceOption(const ParsedArgs& args, const std::string& name,
                                        const std::string& fallback,
                                        const std::vector<std::string>& choices,
                                        std::string& error) {
  const std::string value = args.get(name, fallback);
  std::string list;
  for (const std::string& c : choices) {
    if (value == c) return value;
    list += (list.empty() ? "" : ", ") + c;
  }
  error = name + ": '" + value + "' is not one of " + list;
  return std::nullopt;
}

Result<EvalInput> readEvalInput(const ParsedArgs& args, const std::string& path, const Model& model,
                                LlamaRuntime& reference, const EvalNumbers& n) {
  EvalInput in;
  if (args.has("--tokens")) {
    Result<std::vector<std::vector<int32_t>>> seqs =
        readTokenFile(args.get("--tokens"), model.config.vocab_size);
    if (!seqs) return seqs.error();
    in.sequences = std::move(*seqs);
    in.description = "token file " + args.get("--tokens");
  } else if (args.has("--text")) {
    if (model.tokenizer.kind == TokenizerKind::None)
      return makeError(
          path +
          ": the model carries no tokenizer; use --tokens or --sample (or --tokenizer FILE)");
    Result<Tokenizer> tok = Tokenizer::create(model.tokenizer);
    if (!tok) return tok.error();
    Result<std::string> text = readTextFile(args.get("--text"));
    if (!text) return text.error();
    in.sequences.push_back(tok->encode(*text, true));
    in.description = "text file " + args.get("--text");
  } else {
    Result<std::vector<int32_t>> seq = sampleSequence(
        reference, bosId(model), static_cast<int>(n.sample), static_cast<uint64_t>(n.seed));
    if (!seq) return seq.error();
    in.sequences.push_back(std::move(*seq));
    in.description = std::to_string(n.sample) + " tokens sampled from the reference (BOS " +
                     std::to_string(bosId(model)) + ", temperature 1, seed " +
                     std::to_string(n.seed) + ")";
  }
  return in;
}

EvalOptions windowOptions(const ParsedArgs& args, int ctx, const std::string& score,
                          const EvalNumbers& n, const Model& model) {
  EvalOptions eo;
  eo.ctx = ctx;
  eo.score = score == "all" ? EvalOptions::Score::All : EvalOptions::Score::SecondHalf;
  eo.threads = static_cast<int>(n.threads);
  eo.bos = args.has("--no-window-bos") ? -1 : bosId(model);
  return eo;
}

}  // namespace precis::cli
