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
  Result<RunDetail> run = (*store)->getRun(*id);
  if (!run) return runtimeError(spec, run.error().message);
  if (run->approvals.empty() || !run->approvals.back().approved)
    return runtimeError(spec, "run " + std::to_string(*id) + " is not approved (run `precis-cli approve " +
                                  std::to_string(*id) + " --policy FILE` first)");
  const nlohmann::json& env = run->envelope;
  auto inv = run->documents.find("invocation");
  if (env.is_null() || !env.contains("model") || inv == run->documents.end())
    return runtimeError(spec, "run " + std::to_string(*id) + " has no model envelope or invocation to export");
  const std::string model_path = env["model"]["path"];
  DigestCache digests(**store);  // a multi-GB model is read again only when it changed
  Result<std::string> digest = sha256Path(model_path, &digests);
  if (!digest) return runtimeError(spec, digest.error().message);
  if (*digest != env["model"]["sha256"].get<std::string>())
    return runtimeError(spec, model_path + ": sha256 " + *digest + " differs from the run's " +
                                  env["model"]["sha256"].get<std::string>() + " (the file changed since)");
  namespace fs = std::filesystem;
  const fs::path out = args.get("--out");
  std::error_code ec;
  fs::create_directories(out, ec);
  if (ec) return runtimeError(spec, out.string() + ": cannot create the folder: " + ec.message());

  nlohmann::ordered_json a;
  a["schema_version"] = kArtifactSchemaVersion;
  a["run"] = {{"id", *id}, {"db", (*store)->path()}, {"kind", run->info.kind}};
  a["model"] = env["model"];
  const std::string format = run->params.count("weights") ? run->params.at("weights") : "q8_0";
  a["weights"] = {{"format", format}, {"quantize_embeddings", run->params.count("quantize-embeddings") > 0}};
  if (run->documents.count("conversion")) a["weights"]["conversion"] = run->documents.at("conversion");
  a["data"] = env.contains("data") ? env["data"] : nlohmann::json(nullptr);
  a["metrics"] = run->latestMetrics();
  const ApprovalRecord& ap = run->approvals.back();
  a["approval"] = {{"approved", ap.approved}, {"time_ms", ap.time_ms}, {"policy", ap.policy}, {"checks", ap.checks}};
  a["envelope"] = env;
  nlohmann::json argv = nlohmann::json::array({"eval"});
  for (const auto& p : inv->second["positional"]) argv.push_back(p);
  for (const auto& [k, v] : inv->second["options"].items()) {
    argv.push_back(k);
    if (!v.get<std::string>().empty()) argv.push_back(v);
  }
  a["reproduce"] = {{"argv", argv},
                    {"note", "precis-cli followed by argv (add --json) measures metrics again on the same backend"}};

  if (args.has("--weights")) {
    DType dt = DType::Q8_0;
    std::string wpath;
    if (!parseDType(format.c_str(), &dt)) {
      // A lab format (int8/int4, nf4, fp8...): the quantize command's safetensors file, made with
      // the run's own scheme options, which `eval FILE --reference MODEL --weights stored` loads.
      const nlohmann::json& opts = inv->second["options"];
      const auto opt = [&](const char* k) { return opts.contains(k) ? opts[k].get<std::string>() : std::string(); };
      if (opt("--act-granularity") == "tensor" && opt("--calib-data").empty())
        return runtimeError(spec, "run " + std::to_string(*id) + " calibrated static activation ranges on its "
                                  "evaluation tokens, which a weights file cannot reproduce: export without "
                                  "--weights, or evaluate again with --calib-data FILE");
      ParsedArgs q;
      q.positional = {model_path};
      for (const OptionSpec& o : quantizeSpec().options)
        if (o.name != "--out" && o.name != "--json" && o.name != "--stats" && opts.contains(o.name))
          q.values[o.name] = opts[o.name].get<std::string>();
      wpath = (out / ("weights-" + format + ".safetensors")).string();
      q.values["--out"] = wpath;
      if (int rc = runQuantize(q); rc != 0) return rc;
    } else {
    LoadOptions lo;
    lo.tokenizer_path = run->params.count("tokenizer") ? run->params.at("tokenizer") : "";
    Result<Model> m = loadModel(model_path, lo);
    if (!m) return runtimeError(spec, m.error().message);
    Result<Model> conv = convertWeights(*m, WeightPlan{dt, run->params.count("quantize-embeddings") > 0}, nullptr);
    if (!conv) return runtimeError(spec, model_path + ": converting to " + format + ": " + conv.error().message);
    wpath = (out / ("weights-" + format + ".gguf")).string();
    if (Status s = writeGguf(*conv, wpath); !s) return runtimeError(spec, s.error().message);
    }
    Result<std::string> wd = sha256File(wpath);
    if (!wd) return runtimeError(spec, wd.error().message);
    const int64_t bytes = static_cast<int64_t>(fs::file_size(wpath, ec));
    a["weights"]["file"] = {{"path", fs::absolute(wpath).string()}, {"sha256", *wd}, {"bytes", bytes}};
    if (Status s = (*store)->addArtifact(*id, {fs::absolute(wpath).string(), "weights", *wd, bytes}); !s)
      return runtimeError(spec, s.error().message);
  }
  const std::string cpath = (out / "artifact.json").string();
  {
    std::ofstream f(cpath);
    f << a.dump(2) << "\n";
    if (!f) return runtimeError(spec, cpath + ": cannot write");
  }
  Result<std::string> cd = sha256File(cpath);
  if (!cd) return runtimeError(spec, cd.error().message);
  if (Status s = (*store)->addArtifact(*id, {fs::absolute(cpath).string(), "config", *cd,
                                              static_cast<int64_t>(fs::file_size(cpath, ec))});
      !s)
    return runtimeError(spec, s.error().message);
  std::printf("exported run %lld to %s (sha256 %s)\n", *id, cpath.c_str(), cd->c_str());
  return kExitOk;
}

}  // namespace precis::cli
