// Run logging for precis-cli measuring commands (see run_logging.h). Tested by tests/log/test_log_cli.cpp.
#include "app/cli/run_logging.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iostream>

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

std::map<std::string, double> evalMetrics(const EvalResult& r, const ConvertReport& report) {
  const KlStatistics& s = r.stats;
  return {{"perplexity", s.perplexity},
          {"reference_perplexity", s.reference_perplexity},
          {"log_ppl_ratio", s.log_ppl_ratio},
          {"ppl_ratio", std::exp(s.log_ppl_ratio)},
          {"kl_mean", s.kl.mean},
          {"kl_mean_uncertainty", s.kl.uncertainty},
          {"kl_median", s.kl_median},
          {"kl_p90", s.kl_p90},
          {"kl_p95", s.kl_p95},
          {"kl_p99", s.kl_p99},
          {"kl_p999", s.kl_p999},
          {"kl_max", s.kl_max},
          {"top1_agreement", s.same_top},
          {"top1_agreement_uncertainty", s.same_top_uncertainty},
          {"delta_p_mean", s.delta_p.mean},
          {"delta_p_rms", s.delta_p_rms},
          {"tokens_scored", static_cast<double>(r.tokens_scored)},
          {"tokens_total", static_cast<double>(r.tokens_total)},
          {"windows", static_cast<double>(r.windows)},
          {"bits_per_weight", report.bits_per_weight},
          {"weight_bytes", static_cast<double>(report.bytes)},
          {"seconds", r.seconds}};
}

namespace {

// Paths are recorded absolute so that a run can be reproduced from any folder.
std::string absolutePath(const std::string& p) {
  std::error_code ec;
  const std::filesystem::path a = std::filesystem::absolute(p, ec);
  return ec ? p : a.lexically_normal().string();
}

bool isPathOption(const std::string& k) { return k == "--text" || k == "--tokens" || k == "--tokenizer"; }

}  // namespace

Status EvalRunLog::start(const ParsedArgs& args, const std::string& typed_model_path, const DeviceInfo& device,
                         const std::vector<std::vector<int32_t>>& sequences) {
  if (args.has("--no-log")) return {};
  const std::string model_path = absolutePath(typed_model_path);
  ParsedArgs given = args;  // the options as recorded: paths absolute, logging options dropped
  for (const char* k : {"--json", "--db", "--no-log"}) given.values.erase(k);
  for (auto& [k, v] : given.values)
    if (isPathOption(k)) v = absolutePath(v);
  Result<std::unique_ptr<RunStore>> store = openRunStore(args);
  if (!store) return makeError(store.error().message + " (use --no-log to run without logging)");
  store_ = std::move(*store);
  // Params: the model and every option given, as typed (the command to reproduce the run).
  std::map<std::string, std::string> params{{"model", model_path}};
  for (const auto& [k, v] : given.values) params[k.substr(2)] = v;
  EnvelopeInputs in;
  in.device = &device;
  in.model_path = model_path;
  in.tokenizer_path = given.get("--tokenizer");
  in.data_path = given.has("--text") ? given.get("--text") : given.get("--tokens");
  in.data_digest = tokenDigest(sequences);
  if (args.has("--sample")) in.seed = std::strtoull(args.get("--seed", "0").c_str(), nullptr, 10);
  for (const auto& [k, v] : params)
    if (k != "model") in.knobs[k] = v;
  Result<nlohmann::ordered_json> envelope = collectEnvelope(in);
  if (!envelope) return envelope.error();
  recorder_ = std::make_unique<RunRecorder>(*store_);
  if (Status s = recorder_->start("eval", params, nlohmann::json(*envelope)); !s) return s;
  nlohmann::json invocation{{"command", "eval"}, {"positional", {model_path}}, {"options", nlohmann::json::object()}};
  for (const auto& [k, v] : given.values) invocation["options"][k] = v;
  return store_->setDocument(recorder_->id(), "invocation", invocation);
}

Status EvalRunLog::finish(const EvalResult& result, const ConvertReport& report) {
  if (!recorder_) return {};
  nlohmann::json tensors = nlohmann::json::array();
  for (const TensorDecision& d : report.tensors)
    tensors.push_back({{"name", d.name}, {"from", dtypeName(d.from)}, {"to", dtypeName(d.to)},
                       {"elements", d.elements}, {"bytes", d.bytes}, {"reason", d.reason}});
  if (Status s = store_->setDocument(recorder_->id(), "conversion",
                                     {{"bits_per_weight", report.bits_per_weight}, {"bytes", report.bytes},
                                      {"tensors", tensors}});
      !s)
    return s;
  if (Status s = recorder_->logMetrics(evalMetrics(result, report)); !s) return s;
  if (Status s = recorder_->finish(RunStatus::Finished); !s) return s;
  std::cerr << "precis-cli eval: logged run " << recorder_->id() << " to " << store_->path() << "\n";
  return {};
}

}  // namespace precis::cli
