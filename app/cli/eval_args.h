// The command-line handling eval, sweep and sensitivity share: their numeric data flags (--sample,
// --seed, --ctx, --threads), a flag that takes one of a few words (--score, --backend), the
// evaluation input (--tokens, --text or --sample) and the window options. One place, so the
// commands agree on ranges, defaults and messages. Tested by tests/cli/test_cli.cpp,
// tests/quant/test_cli_quant.cpp and tests/quant/test_cli_plan.cpp (values, usage errors, the same
// numbers from eval and sweep).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "app/cli/args.h"
#include "engine/core/result.h"
#include "engine/eval/evaluator.h"
#include "engine/model/model.h"
#include "engine/runtime/llama_runtime.h"

namespace precis::cli {

struct EvalNumbers {
  long long sample =
      0;  // --sample N: tokens to draw from the model (the caller's default when absent)
  long long seed = 0;     // --seed S for --sample (default 0)
  long long ctx = 0;      // --ctx N: window length (0: the model's context length)
  long long threads = 0;  // --threads N: CPU threads (0: all cores)
};

// --sample (default `sample_fallback`, 1 .. 2^24), --seed (0 .. INT64_MAX), --ctx (2 .. 2^24) and
// --threads (0 .. 4096), checked in that order; nullopt at the first bad one, its message in
// `error`.
std::optional<EvalNumbers> evalNumbers(const ParsedArgs& args, long long sample_fallback,
                                       std::string& error);

// The value of option `name` (`fallback` when absent) if it is one of `choices`; otherwise nullopt
// and "NAME: 'VALUE' is not one of A, B, C" in `error`.
std::optional<std::string> choiceOption(const ParsedArgs& args, const std::string& name,
                                        const std::string& fallback,
                                        const std::vector<std::string>& choices,
                                        std::string& error);

struct EvalInput {
  std::vector<std::vector<int32_t>> sequences;  // token ids, one vector per sequence
  std::string description;                      // e.g. "token file t.txt", as eval prints it
};

// The sequences to evaluate on: --tokens FILE (one sequence of ids per line, checked against the
// vocabulary), --text FILE (one sequence, encoded with `model`'s tokenizer, BOS first), or else
// `n.sample` tokens drawn from `reference` at temperature 1 with `n.seed`, starting at the model's
// BOS. Errors name the file, or `path` when the model has no tokenizer for --text.
Result<EvalInput> readEvalInput(const ParsedArgs& args, const std::string& path, const Model& model,
                                LlamaRuntime& reference, const EvalNumbers& n);

// How eval and sweep score windows: `ctx` positions, --score `score` ("all" or "second-half"),
// `n.threads` threads, each window's first token fed as `model`'s BOS unless --no-window-bos.
EvalOptions windowOptions(const ParsedArgs& args, int ctx, const std::string& score,
                          const EvalNumbers& n, const Model& model);

}  // namespace precis::cli
