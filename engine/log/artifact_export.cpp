// Writing the artifact config of an approved run: see artifact_export.h.
#include "engine/log/artifact_export.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "engine/log/artifact.h"
#include "engine/backend/registry.h"
#include "engine/log/envelope.h"
#include "engine/log/scheme_flags.h"
#include "engine/log/sha256.h"
#include "engine/model/gguf_writer.h"
#include "engine/model/loader.h"
#include "engine/quant/calib_data.h"
#include "engine/quant/quant_io.h"
#include "engine/quant/scheme_run.h"

namespace precis {

Result<ArtifactDraft> draftArtifactConfig(RunStore& store, int64_t id, DigestCache* digests) {
  Result<RunDetail> run = store.getRun(id);
  if (!run) return run.error();
  const std::string rid = "run " + std::to_string(id);
  if (run->approvals.empty() || !run->approvals.back().approved)
    return makeError(rid + " is not approved (approve it against a policy first: `precis-cli approve " +
                     std::to_string(id) + " --policy FILE`)");
  const nlohmann::json& env = run->envelope;
  auto inv = run->documents.find("invocation");
  if (env.is_null() || !env.contains("model") || inv == run->documents.end())
    return makeError(rid + " has no model envelope or invocation to export");
  const std::string model_path = env["model"]["path"];
  Result<std::string> digest = sha256Path(model_path, digests);
  if (!digest) return digest.error();
  if (*digest != env["model"]["sha256"].get<std::string>())
    return makeError(model_path + ": sha256 " + *digest + " differs from the run's " +
                     env["model"]["sha256"].get<std::string>() + " (the file changed since)");

  nlohmann::ordered_json a;
  a["schema_version"] = kArtifactSchemaVersion;
  a["run"] = {{"id", id}, {"db", store.path()}, {"kind", run->info.kind}};
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
  return ArtifactDraft{std::move(*run), std::move(a)};
}

Result<std::pair<std::string, std::string>> writeArtifactConfig(RunStore& store, int64_t id,
                                                                const nlohmann::ordered_json& config,
                                                                const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return makeError(dir + ": cannot create the folder: " + ec.message());
  const std::string cpath = (fs::path(dir) / "artifact.json").string();
  {
    std::ofstream f(cpath);
    f << config.dump(2) << "\n";
    if (!f) return makeError(cpath + ": cannot write");
  }
  Result<std::string> cd = sha256File(cpath);
  if (!cd) return cd.error();
  const std::string abs = fs::absolute(cpath).string();
  if (Status s = store.addArtifact(id, {abs, "config", *cd, static_cast<int64_t>(fs::file_size(cpath, ec))}); !s)
    return s.error();
  return std::make_pair(abs, *cd);
}

namespace {

// The written file's sha256 and size, recorded as the run's "weights" artifact and in the config.
Result<WrittenFile> recordWeights(RunStore& store, ArtifactDraft& draft, const std::string& path) {
  namespace fs = std::filesystem;
  Result<std::string> sha = sha256File(path);
  if (!sha) return sha.error();
  std::error_code ec;
  WrittenFile w{fs::absolute(path).string(), *sha, static_cast<int64_t>(fs::file_size(path, ec))};
  draft.config["weights"]["file"] = {{"path", w.path}, {"sha256", w.sha256}, {"bytes", w.bytes}};
  if (Status s = store.addArtifact(draft.run.info.id, {w.path, "weights", w.sha256, w.bytes}); !s) return s.error();
  return w;
}

}  // namespace

Result<WrittenFile> writeRunWeightsGguf(RunStore& store, ArtifactDraft& draft, const std::string& path,
                                        const TensorProgress& progress) {
  const RunDetail& run = draft.run;
  nlohmann::ordered_json& a = draft.config;
  const std::string model_path = a["model"]["path"].get<std::string>();
  const std::string format = a["weights"]["format"].get<std::string>();
  DType dt = DType::Q8_0;
  if (!parseDType(format.c_str(), &dt) || !dtypeTraits(dt).from_float)
    return makeError("run " + std::to_string(run.info.id) + " has " + format +
                     " weights, which are not a GGUF format: export them with precis-cli export --weights "
                     "(a safetensors file)");
  LoadOptions lo;
  lo.tokenizer_path = run.params.count("tokenizer") ? run.params.at("tokenizer") : "";
  Result<Model> m = loadModel(model_path, lo);
  if (!m) return m.error();
  const WeightPlan plan{dt, run.params.count("quantize-embeddings") > 0};
  Result<Model> conv = convertWeights(*m, plan, nullptr, progress);
  if (!conv) return makeError(model_path + ": converting to " + format + ": " + conv.error().message);
  if (Status s = writeGguf(*conv, path); !s) return s.error();
  return recordWeights(store, draft, path);
}

std::string runWeightsContainer(const ArtifactDraft& draft) {
  const std::string format = draft.config["weights"]["format"].get<std::string>();
  DType dt = DType::Q8_0;
  return parseDType(format.c_str(), &dt) && dtypeTraits(dt).from_float ? "gguf" : "safetensors";
}

Result<WrittenFile> writeRunWeightsSafetensors(RunStore& store, ArtifactDraft& draft, const std::string& path,
                                               const TensorProgress& progress) {
  const RunDetail& run = draft.run;
  const std::string rid = "run " + std::to_string(run.info.id);
  Result<std::string> kind = quantFileKind(path);
  if (!kind) return kind.error();
  if (*kind != "safetensors") return makeError(path + ": " + rid + "'s weights are written as .safetensors");
  const nlohmann::json& opts = run.documents.at("invocation")["options"];  // draftArtifactConfig checked it
  std::map<std::string, std::string> flags;
  for (const auto& [k, v] : opts.items()) flags[k] = v.get<std::string>();
  Result<QuantScheme> scheme = schemeFromFlags(flags, "q8_0");
  if (!scheme) return makeError(rid + ": " + scheme.error().message);
  if (scheme->stored) return makeError(rid + " evaluated a model file as stored: that file is its weights");
  const bool static_acts = scheme->activations != ActFormat::None && scheme->act_granularity == ActGranularity::Tensor;
  if (static_acts && !flags.count("--calib-data"))
    return makeError(rid + " calibrated static activation ranges on its evaluation tokens, which a weights file "
                     "cannot reproduce: export without --weights, or evaluate again with --calib-data FILE");
  const std::string model_path = draft.config["model"]["path"].get<std::string>();
  LoadOptions lo;
  lo.tokenizer_path = run.params.count("tokenizer") ? run.params.at("tokenizer") : "";
  Result<Model> model = loadModel(model_path, lo);
  if (!model) return model.error();
  SchemeRun conv;
  if (static_acts) {
    // The ranges are calibrated by running the quantized model on the CPU, as `quantize` does.
    Result<std::unique_ptr<Backend>> backend = createBackend("cpu");
    if (!backend) return backend.error();
    RuntimeOptions ro;
    ro.max_slots = 1;
    ro.max_ctx = model->config.context_length;
    const int64_t n = flags.count("--calib-tokens") ? std::strtoll(flags.at("--calib-tokens").c_str(), nullptr, 10) : 128;
    if (n < 1) return makeError(rid + ": --calib-tokens " + flags.at("--calib-tokens") + " is not a positive count");
    Result<CalibrationData> calib = loadCalibrationData(flags.at("--calib-data"), *model, n, ro.max_ctx);
    if (!calib) return makeError("--calib-data: " + calib.error().message);
    Result<SchemeRun> r = buildSchemeRun(*model, *scheme, **backend, ro, *calib, SchemeRunOptions{false, false, progress});
    if (!r) return makeError(model_path + ": " + r.error().message);
    conv = std::move(*r);
  } else {
    QuantizeModelOptions qo;
    qo.progress = progress;
    Result<QuantizedModel> q = quantizeModel(*model, *scheme, qo);
    if (!q) return makeError(model_path + ": " + q.error().message);
    conv.quantized = std::move(*q);
  }
  QuantFileOptions fo;
  fo.source = model_path;
  fo.act_clip = conv.act_clip;
  if (Status s = writeQuantizedModel(conv.quantized, *scheme, path, fo); !s) return s.error();
  return recordWeights(store, draft, path);
}

Result<WrittenFile> writeRunWeights(RunStore& store, ArtifactDraft& draft, const std::string& path,
                                    const TensorProgress& progress) {
  const std::string container = runWeightsContainer(draft);
  Result<std::string> kind = quantFileKind(path);
  if (!kind) return kind.error();
  if (*kind != container) {
    const std::string format = draft.config["weights"]["format"].get<std::string>();
    return makeError(container == "gguf"
                         ? path + ": run " + std::to_string(draft.run.info.id) + "'s " + format +
                               " weights are exported as GGUF: choose a .gguf file"
                         : path + ": " + format + " weights are not a GGUF format: choose a .safetensors file");
  }
  return container == "gguf" ? writeRunWeightsGguf(store, draft, path, progress)
                             : writeRunWeightsSafetensors(store, draft, path, progress);
}

}  // namespace precis
