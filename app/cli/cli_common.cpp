// Shared helpers of precis-cli (see cli_common.h). Tested by tests/cli/test_cli.cpp.
#include "app/cli/cli_common.h"

#include <cstdio>
#include <iostream>

#include "app/cli/log_commands.h"  // experiment-log commands (runs, approve, export)

#include "app/cli/quant_flags.h"  // quantization-lab commands (sweep)

namespace precis::cli {

const CommandSpec& serveSimSpec(); int runServeSim(const ParsedArgs& args);  // cmd_serve_sim.cpp

const CommandSpec& demoModelsSpec(); int runDemoModels(const ParsedArgs& args);  // cmd_demo_models.cpp
const CommandSpec& trainSpec(); int runTrain(const ParsedArgs& args);  // cmd_train.cpp
const CommandSpec& distillSpec(); int runDistill(const ParsedArgs& args);  // cmd_distill.cpp

const std::vector<Command>& commands() {
  static const std::vector<Command> table{
      {&infoSpec, &runInfo},         {&tokenizeSpec, &runTokenize}, {&generateSpec, &runGenerate},
      {&evalSpec, &runEval},         {&makeModelSpec, &runMakeModel},
      {&runsSpec, &runRuns},         {&approveSpec, &runApprove},   {&exportSpec, &runExport},
      {&sweepSpec, &runSweep},       {&sensitivitySpec, &runSensitivity},
      {&quantizeSpec, &runQuantize},
      {&serveSimSpec, &runServeSim},
      {&demoModelsSpec, &runDemoModels},
      {&trainSpec, &runTrain},       {&distillSpec, &runDistill},
  };
  return table;
}

std::vector<OptionSpec> evalDataOptions() {
  return {{"--text", "FILE", "text file to evaluate (needs a model with a tokenizer)"},
          {"--tokens", "FILE", "token file: one sequence of ids per line"},
          {"--sample", "N", "evaluate N tokens sampled from the reference model"},
          {"--seed", "S", "seed for --sample (default 0)"},
          {"--ctx", "N", "window length in tokens (default: the model's context length)"},
          {"--score", "MODE", "all (default) or second-half"}};
}

std::vector<OptionSpec> runtimeOptions() {
  return {{"--tokenizer", "FILE", "llama2.c tokenizer.bin to attach to a llama2.c checkpoint"},
          {"--backend", "NAME", "cpu, cuda or auto (default auto: cuda when available)"},
          {"--threads", "N", "CPU threads (default: all cores)"}};
}

int usageError(const CommandSpec& spec, const std::string& message) {
  std::cerr << "precis-cli " << spec.name << ": " << message << "\n"
            << "Run 'precis-cli " << spec.name << " --help' for usage.\n";
  return kExitUsage;
}

int runtimeError(const CommandSpec& spec, const std::string& message) {
  std::cerr << "precis-cli " << spec.name << ": error: " << message << "\n";
  return kExitRuntime;
}

std::string shapeString(const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + ")";
}

std::string humanBytes(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u ? "%.2f %s" : "%.0f %s", v, units[u]);
  return buf;
}

const char* tokenizerKindName(TokenizerKind kind) {
  switch (kind) {
    case TokenizerKind::SentencePiece: return "sentencepiece";
    case TokenizerKind::ByteLevelBpe: return "byte-level-bpe";
    case TokenizerKind::None: break;
  }
  return "none";
}

int32_t bosId(const Model& model) {
  return model.tokenizer.kind != TokenizerKind::None && model.tokenizer.bos_id >= 0 ? model.tokenizer.bos_id
                                                                                    : 1;
}

std::optional<long long> intOption(const ParsedArgs& args, const std::string& name, long long fallback,
                                   long long min, long long max, std::string& error) {
  if (!args.has(name)) return fallback;
  return parseInteger(name, args.get(name), min, max, error);
}

}  // namespace precis::cli
