// What `precis-cli train` and `precis-cli distill` share: the optimizer/schedule/checkpoint options,
// reading them into TrainOptions, loading a text or token data file with its held-out split, and
// running a Trainer with progress lines, periodic held-out evaluation, checkpoints (GGUF + optimizer
// state), --resume, Ctrl-C (SIGINT/SIGTERM: the current step finishes, a checkpoint is written, the
// run is logged INTERRUPTED, exit code 130) and the experiment log (metric histories per step).
// Tested by tests/cli/test_cli_train.cpp.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "app/cli/args.h"
#include "engine/backend/backend.h"
#include "engine/quant/scheme.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/train/train_data.h"
#include "engine/train/trainer.h"

namespace precis::cli {

constexpr int kExitCancelled = 130;  // 128 + SIGINT, as shells report an interrupted command

// --steps --batch --ctx --lr --warmup --min-lr --weight-decay --clip --eval-every --eval-windows
// --heldout --seed --threads --checkpoint-every --resume --log-every --quiet --json --db --no-log
std::vector<OptionSpec> trainLoopOptions();

// TrainOptions from those flags (defaults as the help says; ctx 0 when --ctx is absent: the command
// picks 64 or the models' context length if shorter); nullopt with `error` on a bad value.
std::optional<TrainOptions> trainOptionsFromArgs(const ParsedArgs& args, std::string& error);
// The held-out fraction (--heldout, default 0.1).
std::optional<double> heldoutFromArgs(const ParsedArgs& args, std::string& error);

// --data FILE (text, one sequence per non-blank line, BOS first; needs `tokenizer`) or
// --tokens FILE (ids). Errors name the file.
Result<TokenSplit> loadDataFromArgs(const ParsedArgs& args, const Tokenizer* tokenizer, int vocab_size,
                                    double heldout);

// A model shape from a JSON file (configFileWithVocab) is engine/train/train_data.h's, shared with
// the workbench's fresh student.

// The quantization-aware options (--quantize FORMAT, --granularity G, --calibration C,
// --quantize-embeddings) and the scheme they give (nullopt when --quantize is absent).
std::vector<OptionSpec> quantAwareOptions();
Result<std::optional<QuantScheme>> quantAwareScheme(const ParsedArgs& args);

// One training job run by runTrainJob.
struct TrainJob {
  std::string command;          // "train" or "distill" (the run kind and message prefix)
  std::string out;              // the GGUF written (checkpoints and the final model)
  std::string name;             // model name stored in the GGUF
  TokenizerData tokenizer;      // carried by the written model
  std::string model_path;       // hashed into the envelope (the teacher; empty for train)
  const DeviceInfo* device = nullptr;  // the teacher's backend, for the envelope
  std::map<std::string, std::string> params;  // extra run parameters (student shape, ...)
  std::optional<QuantScheme> quantize;        // quantization-aware: write the quantized student
  std::string data_digest;                    // tokenDigest of the training + held-out data
};

// Creates the Trainer, resumes when --resume, runs with progress, logging and checkpoints, and
// writes the final model. Returns the process exit code (messages printed).
int runTrainJob(const CommandSpec& spec, const ParsedArgs& args, const TrainJob& job, TrainParams init,
                const TrainOptions& options, TokenSplit data, TeacherFn teacher);

}  // namespace precis::cli
