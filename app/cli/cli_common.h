// Shared pieces of the precis-cli subcommands: exit codes, error printing, the command table,
// and small formatting helpers. Engine errors already name the file; we print them unchanged.
// Tested by tests/cli/test_cli.cpp.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "app/cli/args.h"
#include "engine/backend/backend.h"
#include "engine/core/result.h"
#include "engine/model/model.h"

namespace precis::cli {

constexpr int kExitOk = 0;
constexpr int kExitRuntime = 1;  // a file, model or backend problem (message on stderr)
constexpr int kExitUsage = 2;    // bad command line

struct Command {
  const CommandSpec& (*spec)();
  int (*run)(const ParsedArgs& args);
};

// Options shared by the commands that evaluate on data (eval, sweep): --text, --tokens,
// --sample, --seed, --ctx, --score.
std::vector<OptionSpec> evalDataOptions();
// Options shared by the commands that run a model: --tokenizer, --backend, --threads.
std::vector<OptionSpec> runtimeOptions();

// Every subcommand, in the order `precis-cli --help` lists them.
const std::vector<Command>& commands();

// Prints "precis-cli CMD: message" and a pointer to --help; returns kExitUsage.
int usageError(const CommandSpec& spec, const std::string& message);
// Prints "precis-cli CMD: error: message"; returns kExitRuntime.
int runtimeError(const CommandSpec& spec, const std::string& message);

// "(512, 64)"
std::string shapeString(const std::vector<int64_t>& shape);
// "1.01 MiB"
std::string humanBytes(uint64_t bytes);
// "sentencepiece", "byte-level-bpe", "none"
const char* tokenizerKindName(TokenizerKind kind);
// The model's BOS id: the tokenizer's when it has one, else 1 (the llama2.c convention).
int32_t bosId(const Model& model);

// Reads an optional integer option; nullopt on error (the message is in `error`).
std::optional<long long> intOption(const ParsedArgs& args, const std::string& name, long long fallback,
                                   long long min, long long max, std::string& error);

// The subcommands (cmd_*.cpp).
const CommandSpec& infoSpec();
int runInfo(const ParsedArgs& args);
const CommandSpec& tokenizeSpec();
int runTokenize(const ParsedArgs& args);
const CommandSpec& generateSpec();
int runGenerate(const ParsedArgs& args);
const CommandSpec& evalSpec();
int runEval(const ParsedArgs& args);
const CommandSpec& makeModelSpec();
int runMakeModel(const ParsedArgs& args);

}  // namespace precis::cli
