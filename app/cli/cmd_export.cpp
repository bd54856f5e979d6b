// `precis-cli export ID --out DIR [--weights]`: the artifact config of an approved run
// (DIR/artifact.json, schema_version 1: model digest, weights format and per-tensor decisions, data
// digest, metrics, policy and approval record, envelope, and the command that re-evaluates it) and,
// with --weights, the converted weights with their sha256 (recorded as an artifact of the run): GGUF
// for GGUF's formats, the quantize command's safetensors file for the lab formats. Its reproduce.argv is the eval command that measured the run.
// Re-evaluating: `precis-cli eval --config DIR/artifact.json` (checks digests, compares metrics).
// Tested by tests/log/test_log_cli.cpp (re-evaluation gives the same metrics; digests match files)
// and tests/cli/test_cli_runs.cpp (eval --config reproduces exported eval and sweep-row runs).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <nlohmann/json.hpp>

#include "app/cli/cli_common.h"
#include "app/cli/log_commands.h"
#include "app/cli/quant_flags.h"
#include "app/cli/run_logging.h"
#include "engine/log/artifact.h"
#include "engine/log/artifact_export.h"
#include "engine/log/digest_cache.h"
#include "engine/log/envelope.h"
#include "engine/log/sha256.h"
#include "engine/model/gguf_writer.h"
#include "engine/model/loader.h"
#include "engine/quant/convert.h"

namespace precis::cli {

const CommandSpec& exportSpec() {
  static const CommandSpec spec{
      "export",
      "ID --out DIR [--weights] [--db PATH]",
      "Write the artifact config of an approved run (and, with --weights, its converted weights).",
      "DIR/artifact.json (schema_version 1) holds the model path and sha256, the weights format\n"
      "and every tensor's decision, the data digest, the metrics, the approval (policy, checks),\n"
      "the envelope, and reproduce.argv: the precis-cli eval command that measures the same\n"
      "numbers again; `precis-cli eval --config DIR/artifact.json` runs it and compares every\n"
      "metric. The run must have been approved by `precis-cli approve` (its latest\n"
      "decision). The model file must still have the sha256 recorded in the run's envelope.\n"
      "--weights also writes the converted weights and their sha256: DIR/weights-FORMAT.gguf for f32,\n"
      "f16, bf16, q8_0, q4_0; DIR/weights-FORMAT.safetensors (the quantize command's file, made with the\n"
      "run's scheme options) for the lab formats, loaded by `eval FILE --reference MODEL --weights stored`.",
      {{"--out", "DIR", "output folder (created)"},
       {"--weights", "", "also write the converted weights (GGUF, or safetensors for lab formats)"},
       dbOption()},
      1,
      1};
  return spec;
}

int runExport(const ParsedArgs& args) {
  const CommandSpec& spec = exportSpec();
  std::string err;
  std::optional<long long> id = parseInteger("run id", args.positional[0], 1, INT64_MAX, err);
  if (!id) return usageError(spec, err);
  if (!args.has("--out")) return usageError(spec, "--out DIR is required");
  Result<std::unique_ptr<RunStore>> store = openRunStore(args);
  if (!store) return runtimeError(spec, store.error().message);
  DigestCache digests(**store);  // a multi-GB model is read again only when it changed
  Result<ArtifactDraft> draft = draftArtifactConfig(**store, *id, &digests);
  if (!draft) return runtimeError(spec, draft.error().message);
  nlohmann::ordered_json& a = draft->config;
  const std::string format = a["weights"]["format"].get<std::string>();
  namespace fs = std::filesystem;
  const fs::path out = args.get("--out");
  std::error_code ec;
  fs::create_directories(out, ec);
  if (ec) return runtimeError(spec, out.string() + ": cannot create the folder: " + ec.message());

  if (args.has("--weights")) {
    // GGUF for the GGUF/float formats, the quantize command's safetensors file (made with the run's
    // own scheme flags) for the lab formats: the engine's writers, shared with the workbench.
    const std::string container = runWeightsContainer(*draft);
    const std::string wpath = (out / ("weights-" + format + "." + container)).string();
    if (Result<WrittenFile> w = writeRunWeights(**store, *draft, wpath); !w) return runtimeError(spec, w.error().message);
  }
  Result<std::pair<std::string, std::string>> written = writeArtifactConfig(**store, *id, a, out.string());
  if (!written) return runtimeError(spec, written.error().message);
  const std::string& cpath = written->first;
  const std::string* cd = &written->second;
  std::printf("exported run %lld to %s (sha256 %s)\n", *id, cpath.c_str(), cd->c_str());
  return kExitOk;
}

}  // namespace precis::cli
