// Writing the artifact config of an approved run: see artifact_export.h.
#include "engine/log/artifact_export.h"

#include <filesystem>
#include <fstream>

#include "engine/log/artifact.h"
#include "engine/log/envelope.h"
#include "engine/log/sha256.h"
#include "engine/model/gguf_writer.h"
#include "engine/model/loader.h"

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

Result<WrittenFile> writeRunWeightsGguf(RunStore& store, ArtifactDraft& draft, const std::string& path,
                                        const TensorProgress& progress) {
  namespace fs = std::filesystem;
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
  Result<std::string> sha = sha256File(path);
  if (!sha) return sha.error();
  std::error_code ec;
  WrittenFile w{fs::absolute(path).string(), *sha, static_cast<int64_t>(fs::file_size(path, ec))};
  a["weights"]["file"] = {{"path", w.path}, {"sha256", w.sha256}, {"bytes", w.bytes}};
  if (Status s = store.addArtifact(run.info.id, {w.path, "weights", w.sha256, w.bytes}); !s) return s.error();
  return w;
}

}  // namespace precis
