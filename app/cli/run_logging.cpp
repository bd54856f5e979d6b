// Run logging for precis-cli measuring commands (see run_logging.h). Tested by tests/log/test_log_cli.cpp.
#include "app/cli/run_logging.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>

#include "engine/log/digest_cache.h"
#include "engine/log/envelope.h"

namespace precis::cli {

Result<std::unique_ptr<RunStore>> openRunStore(const ParsedArgs& args, bool read_only) {
  Result<std::string> path = resolveDbPath(args.get("--db"), [](const char* k) { return std::getenv(k); },
                                           !read_only);
  if (!path) return path.error();
  RunStore::Options o;
  o.read_only = read_only;
  return RunStore::open(*path, o);
}

namespace {

// Paths are recorded absolute so that a run can be reproduced from any folder.
std::string absolutePath(const std::string& p) {
  std::error_code ec;
  const std::filesystem::path a = std::filesystem::absolute(p, ec);
  return ec ? p : a.lexically_normal().string();
}

bool isPathOption(const std::string& k) {
  return k == "--text" || k == "--tokens" || k == "--tokenizer" || k == "--override-file" || k == "--plan" || k == "--reference" ||
         k == "--calib-data";
}

// Options that change where or how a run is recorded or printed, never what is measured.
bool isLoggingOption(const std::string& k) {
  return k == "--json" || k == "--db" || k == "--no-log" || k == "--shard" || k == "--shard-count";
}

// What a measuring command records about how it was invoked: the model path and the options given
// (paths absolute, logging options dropped).
struct Invocation {
  std::string model_path;
  std::map<std::string, std::string> options;  // "--weights" -> "q4_0"

  // Params: the model and every option given, as typed (the command to reproduce the run).
  std::map<std::string, std::string> params() const {
    std::map<std::string, std::string> p{{"model", model_path}};
    for (const auto& [k, v] : options) p[k.substr(2)] = v;
    return p;
  }
  nlohmann::json document(const std::string& command) const {
    nlohmann::json j{{"command", command}, {"positional", {model_path}}, {"options", nlohmann::json::object()}};
    for (const auto& [k, v] : options) j["options"][k] = v;
    return j;
  }
};

Invocation invocationOf(const ParsedArgs& args, const std::string& typed_model_path) {
  Invocation inv;
  inv.model_path = absolutePath(typed_model_path);
  for (const auto& [k, v] : args.values)
    if (!isLoggingOption(k)) inv.options[k] = isPathOption(k) ? absolutePath(v) : v;
  return inv;
}

Result<std::unique_ptr<RunStore>> openForLogging(const ParsedArgs& args) {
  Result<std::unique_ptr<RunStore>> store = openRunStore(args);
  if (!store) return makeError(store.error().message + " (use --no-log to run without logging)");
  return store;
}

// The envelope of a run measured on `sequences` with the options of `inv`; file digests come from
// the log's digest cache (engine/log/digest_cache.h).
Result<nlohmann::json> envelopeOf(RunStore& store, const Invocation& inv, const DeviceInfo& device,
                                  const std::vector<std::vector<int32_t>>& sequences) {
  auto get = [&](const char* k) { return inv.options.count(k) ? inv.options.at(k) : std::string(); };
  EnvelopeInputs in;
  in.device = &device;
  in.model_path = inv.model_path;
  in.tokenizer_path = get("--tokenizer");
  in.data_path = !get("--text").empty() ? get("--text") : get("--tokens");
  in.data_digest = tokenDigest(sequences);
  if (inv.options.count("--sample")) in.seed = std::strtoull(get("--seed").empty() ? "0" : get("--seed").c_str(), nullptr, 10);
  for (const auto& [k, v] : inv.params())
    if (k != "model") in.knobs[k] = v;
  DigestCache cache(store);
  in.digests = &cache;
  Result<nlohmann::ordered_json> envelope = collectEnvelope(in);
  if (!envelope) return envelope.error();
  // Other input files that shape the numbers: the reference model, calibration data, overrides.
  for (const char* k : {"--reference", "--calib-data", "--override-file", "--plan"})
    if (!get(k).empty()) {
      Result<std::string> d = sha256Path(get(k), &cache);
      if (!d) return d.error();
      (*envelope)["inputs"][std::string(k).substr(2)] = {{"path", get(k)}, {"sha256", *d}};
    }
  return nlohmann::json(*envelope);
}

}  // namespace

nlohmann::json conversionJson(const ConvertReport& report) {
  nlohmann::json tensors = nlohmann::json::array();
  for (const TensorDecision& d : report.tensors)
    tensors.push_back({{"name", d.name}, {"from", dtypeName(d.from)}, {"to", dtypeName(d.to)},
                       {"elements", d.elements}, {"bytes", d.bytes}, {"reason", d.reason}});
  return {{"bits_per_weight", report.bits_per_weight}, {"bytes", report.bytes}, {"tensors", tensors}};
}

Status EvalRunLog::start(const ParsedArgs& args, const std::string& typed_model_path, const DeviceInfo& device,
                         const std::vector<std::vector<int32_t>>& sequences) {
  if (args.has("--no-log")) return {};
  const Invocation inv = invocationOf(args, typed_model_path);
  Result<std::unique_ptr<RunStore>> store = openForLogging(args);
  if (!store) return store.error();
  store_ = std::move(*store);
  Result<nlohmann::json> envelope = envelopeOf(*store_, inv, device, sequences);
  if (!envelope) return envelope.error();
  recorder_ = std::make_unique<RunRecorder>(*store_);
  if (Status s = recorder_->start("eval", inv.params(), *envelope); !s) return s;
  return store_->setDocument(recorder_->id(), "invocation", inv.document("eval"));
}

Status EvalRunLog::finish(const EvalResult& result, const ConvertReport& report) {
  if (!recorder_) return {};
  if (Status s = store_->setDocument(recorder_->id(), "conversion", conversionJson(report)); !s) return s;
  if (Status s = recorder_->logMetrics(evalRunMetrics(result, report)); !s) return s;
  if (Status s = recorder_->finish(RunStatus::Finished); !s) return s;
  std::cerr << "precis-cli eval: logged run " << recorder_->id() << " to " << store_->path() << "\n";
  return {};
}

Status SweepRunLog::start(const ParsedArgs& args, const std::string& typed_model_path, const DeviceInfo& device,
                          const std::vector<std::vector<int32_t>>& sequences, const Shard& shard, size_t grid_size,
                          size_t shard_rows) {
  if (args.has("--no-log")) return {};
  const Invocation inv = invocationOf(args, typed_model_path);
  Result<std::unique_ptr<RunStore>> store = openForLogging(args);
  if (!store) return store.error();
  store_ = std::move(*store);
  model_path_ = inv.model_path;
  options_ = inv.options;
  for (const char* k : {"--weights", "--granularity", "--activations"}) options_.erase(k);  // per row
  Result<nlohmann::json> envelope = envelopeOf(*store_, inv, device, sequences);
  if (!envelope) return envelope.error();
  envelope_ = *envelope;
  std::map<std::string, std::string> params = inv.params();
  params["shard"] = std::to_string(shard.index) + "/" + std::to_string(shard.count);
  params["shard_source"] = shard.source;
  params["grid_size"] = std::to_string(grid_size);
  params["shard_rows"] = std::to_string(shard_rows);
  parent_ = std::make_unique<RunRecorder>(*store_);
  if (Status s = parent_->start("sweep", params, envelope_); !s) return s;
  return store_->setDocument(parent_->id(), "invocation", inv.document("sweep"));
}

Result<int64_t> SweepRunLog::row(size_t grid_index, const std::map<std::string, std::string>& scheme_options,
                                 const std::map<std::string, double>& metrics, const ConvertReport& report,
                                 int64_t start_ms) {
  if (!parent_) return int64_t{0};
  Invocation inv{model_path_, options_};
  for (const auto& [k, v] : scheme_options) inv.options[k] = v;
  CompletedRun r;
  r.run.kind = "sweep-row";
  r.run.parent = parent_->id();
  r.run.params = inv.params();
  r.run.params["grid_index"] = std::to_string(grid_index);
  r.run.envelope = envelope_;
  r.run.envelope["knobs"] = nlohmann::json::object();
  for (const auto& [k, v] : inv.params())
    if (k != "model") r.run.envelope["knobs"][k] = v;
  r.start_ms = start_ms;
  for (const auto& [k, v] : metrics) r.metrics.push_back({k, v, 0, 0});
  r.documents["invocation"] = inv.document("eval");
  r.documents["conversion"] = conversionJson(report);
  // The sweep's progress lands with the row: a reader never sees a row without its count.
  const size_t done = rows_done_ + 1;
  r.parent_metrics.push_back({"rows_done", static_cast<double>(done), static_cast<int64_t>(done), 0});
  Result<int64_t> id = store_->recordRun(r);
  if (!id) return id.error();
  rows_done_ = done;
  return *id;
}

Status SweepRunLog::finish() {
  if (!parent_) return {};
  if (Status s = parent_->finish(RunStatus::Finished); !s) return s;
  std::cerr << "precis-cli sweep: logged run " << parent_->id() << " (" << rows_done_ << " rows) to "
            << store_->path() << "\n";
  return {};
}

Result<int64_t> logSensitivityRun(const ParsedArgs& args, const std::string& model_path, const DeviceInfo& device,
                                  const std::vector<std::vector<int32_t>>& sequences, const nlohmann::json& result) {
  if (args.has("--no-log")) return int64_t{0};
  const Invocation inv = invocationOf(args, model_path);
  Result<std::unique_ptr<RunStore>> store = openForLogging(args);
  if (!store) return store.error();
  Result<nlohmann::json> envelope = envelopeOf(**store, inv, device, sequences);
  if (!envelope) return envelope.error();
  CompletedRun r;
  r.run.kind = "sensitivity";
  r.run.params = inv.params();
  r.run.envelope = *envelope;
  r.documents["invocation"] = inv.document("sensitivity");
  r.documents["sensitivity"] = result;
  const nlohmann::json& ranking = result.value("ranking", nlohmann::json::array());
  r.metrics.push_back({"ranked", static_cast<double>(ranking.size()), 0, 0});
  // The ranking as a history: step i is the i-th most sensitive tensor (or layer). Not named
  // kl_mean: a policy's kl_mean_max must never read a single tensor's KL as the model's.
  for (size_t i = 0; i < ranking.size(); ++i)
    r.metrics.push_back({"ranking_kl_mean", ranking[i].value("kl_mean", 0.0), static_cast<int64_t>(i), 0});
  if (result.contains("mixed")) {
    const nlohmann::json& m = result["mixed"];
    if (m.contains("budget") && m["budget"].is_number()) r.metrics.push_back({"budget", m["budget"].get<double>(), 0, 0});
    if (m.contains("high_tensors") && m["high_tensors"].is_array())
      r.metrics.push_back({"high_tensors", static_cast<double>(m["high_tensors"].size()), 0, 0});
    // The real evaluation of each assignment ("mixed", "uniform"), as <assignment>_<metric>.
    for (const nlohmann::json& v : m.value("verified", nlohmann::json::array())) {
      const std::string a = v.value("assignment", "");
      for (const char* k : {"kl_mean", "top1_agreement", "perplexity", "bits_per_weight", "quantized_bits_per_weight",
                            "decided_bits_per_weight"})
        if (!a.empty() && v.contains(k) && v[k].is_number()) r.metrics.push_back({a + "_" + k, v[k].get<double>(), 0, 0});
    }
  }
  Result<int64_t> id = (*store)->recordRun(r);
  if (!id) return id.error();
  std::cerr << "precis-cli sensitivity: logged run " << *id << " to " << (*store)->path() << "\n";
  return *id;
}

std::string configUsageProblem(const ParsedArgs& args) {
  for (const auto& [k, v] : args.values)
    if (k != "--config" && k != "--tolerance" && k != "--json" && k != "--db" && k != "--no-log" &&
        k != "--backend" && k != "--threads")
      return k + " cannot be combined with --config: the artifact fixes the data and the quantization "
                 "(only --tolerance, --backend, --threads, --json, --db and --no-log may be given)";
  if (args.positional.size() > 1) return "--config takes at most one MODEL (a moved copy of the recorded model)";
  return {};
}

Result<ConfiguredEval> configuredEval(const ParsedArgs& args, const CommandSpec& eval_spec) {
  ConfiguredEval c;
  const std::string config = args.get("--config");
  Result<ArtifactConfig> a = loadArtifactConfig(config);
  if (!a) return a.error();
  c.artifact = std::move(*a);
  std::string err;
  const std::optional<double> tol = parseNumber("--tolerance", args.get("--tolerance", "0"), 0, 1, err);
  if (!tol) return makeError(err);
  c.tolerance = *tol;
  // The model: the recorded file, or the copy named on the command line; its bytes must match.
  const std::string model = args.positional.empty() ? c.artifact.model_path : args.positional[0];
  std::unique_ptr<RunStore> store;  // the digest cache, when the run is to be logged
  if (!args.has("--no-log")) {
    Result<std::unique_ptr<RunStore>> s = openForLogging(args);
    if (!s) return s.error();
    store = std::move(*s);
  }
  std::optional<DigestCache> cache;
  if (store) cache.emplace(*store);
  Result<std::string> digest = sha256Path(model, cache ? &*cache : nullptr);
  if (!digest) return makeError(digest.error().message + " (the model recorded in " + config + ")");
  if (*digest != c.artifact.model_sha256)
    return makeError(model + ": sha256 " + *digest + " differs from " + c.artifact.model_sha256 + " recorded in " +
                     config + ": this is not the model the run measured; refusing to evaluate");
  if (!c.artifact.data_path.empty() && !c.artifact.data_sha256.empty()) {
    Result<std::string> d = sha256Path(c.artifact.data_path, cache ? &*cache : nullptr);
    if (!d) return makeError(d.error().message + " (the data recorded in " + config + ")");
    if (*d != c.artifact.data_sha256)
      return makeError(c.artifact.data_path + ": sha256 " + *d + " differs from " + c.artifact.data_sha256 +
                       " recorded in " + config + ": the data file changed since the run; refusing to evaluate");
  }
  for (const auto& [name, file] : c.artifact.inputs) {  // reference model, calibration data, overrides
    Result<std::string> d = sha256Path(file.path, cache ? &*cache : nullptr);
    if (!d) return makeError(d.error().message + " (the " + name + " recorded in " + config + ")");
    if (*d != file.sha256)
      return makeError(file.path + ": sha256 " + *d + " differs from " + file.sha256 + " recorded in " + config +
                       " (--" + name + "): the file changed since the run; refusing to evaluate");
  }
  // The recorded command (argv: eval MODEL options...), parsed by eval's own rules.
  std::vector<std::string> argv(c.artifact.argv.begin() + 1, c.artifact.argv.end());
  argv[0] = model;
  std::optional<ParsedArgs> parsed = parseArgs(eval_spec, argv, err);
  if (!parsed) return makeError(config + ": reproduce.argv: " + err);
  if (parsed->has("--config")) return makeError(config + ": reproduce.argv itself names --config");
  for (const auto& [k, v] : args.values)
    if (k != "--config" && k != "--tolerance") parsed->values[k] = v;
  c.args = std::move(*parsed);
  return c;
}

Status checkConfiguredTokens(const ConfiguredEval& c, const std::vector<std::vector<int32_t>>& sequences) {
  if (c.artifact.tokens_sha256.empty()) return {};
  const std::string d = tokenDigest(sequences);
  if (d != c.artifact.tokens_sha256)
    return makeError(c.artifact.path + ": the tokens to evaluate (sha256 " + d + ") are not those the run measured (" +
                     c.artifact.tokens_sha256 + "); refusing to compare");
  return {};
}

nlohmann::ordered_json reproductionReport(const ConfiguredEval& c, const std::map<std::string, double>& measured,
                                          const std::string& backend, bool print, bool* reproduced) {
  const ReproductionReport r = compareMetrics(c.artifact.metrics, measured, c.tolerance);
  *reproduced = r.reproduced;
  nlohmann::ordered_json j;
  j["artifact"] = c.artifact.path;
  j["run"] = c.artifact.run_id;
  j["reproduced"] = r.reproduced;
  j["tolerance"] = c.tolerance;
  j["max_rel_diff"] = r.max_rel_diff;
  j["recorded_backend"] = c.artifact.backend;
  j["backend"] = backend;
  nlohmann::ordered_json rows = nlohmann::ordered_json::object();
  for (const MetricComparison& m : r.metrics)
    rows[m.key] = {{"recorded", m.recorded}, {"measured", m.measured}, {"agrees", m.agrees}};
  j["metrics"] = rows;
  j["missing"] = r.missing;
  if (print) {
    std::printf("\nReproduction of run %lld (%s), tolerance %g:\n", static_cast<long long>(c.artifact.run_id),
                c.artifact.path.c_str(), c.tolerance);
    for (const MetricComparison& m : r.metrics)
      std::printf("  %-4s %-28s recorded %-16.10g measured %.10g\n", m.agrees ? "ok" : "DIFF", m.key.c_str(),
                  m.recorded, m.measured);
    for (const std::string& k : r.missing) std::printf("  MISS %-28s not measured by this evaluation\n", k.c_str());
    std::printf("%s: %zu metrics compared, largest relative difference %.3g\n",
                r.reproduced ? "REPRODUCED" : "NOT REPRODUCED", r.metrics.size(), r.max_rel_diff);
    if (!c.artifact.backend.empty() && c.artifact.backend != backend)
      std::printf("Note: recorded on the %s backend, measured now on %s: backends round differently, so "
                  "compare with a --tolerance\n",
                  c.artifact.backend.c_str(), backend.c_str());
  }
  return j;
}

}  // namespace precis::cli
