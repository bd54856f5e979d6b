// `precis-cli quantize MODEL [scheme flags of eval] --out FILE [--calib-data F] [--stats] [--json]`:
// writes the quantized model. FILE.gguf for models whose tensors all have GGUF types (f32, f16,
// bf16, q8_0, q4_0); FILE.safetensors for anything, including the lab formats (packed codes, scales,
// zero points and a JSON quantization config; docs/quantization.md, "File layout"). Loading the
// file back (`info FILE`, `eval FILE --reference MODEL --weights stored`) gives the same bytes and
// the same numbers as `eval MODEL` with the same scheme flags.
// Tested by tests/cli/test_cli_quant.cpp (round trips through eval and info, errors).
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>

#include <nlohmann/json.hpp>

#include "app/cli/cli_common.h"
#include "app/cli/quant_flags.h"
#include "engine/backend/registry.h"
#include "engine/eval/evaluator.h"
#include "engine/eval/token_input.h"
#include "engine/model/loader.h"
#include "engine/quant/quant_io.h"

namespace precis::cli {

const CommandSpec& quantizeSpec() {
  static const CommandSpec spec = [] {
    CommandSpec s{
        "quantize",
        "MODEL --out FILE(.gguf|.safetensors) [--weights F] [--granularity G] [--calibration C] [options]",
        "Write the model quantized with a scheme (the scheme flags of eval).",
        "The weights are converted exactly as `precis-cli eval MODEL` converts them for the same flags\n"
        "(embedding and classifier kept unless --quantize-embeddings; norms stay f32; overrides apply).\n"
        "--out FILE.gguf: GGUF v3, for f32, f16, bf16, q8_0, q4_0 (readable by llama.cpp and the gguf\n"
        "package). --out FILE.safetensors: any format; lab formats (fp8, int8/int4 sym/asym, nf4) as\n"
        "packed U8 codes + F32 scales (+ U8 zero points), GGUF block formats as U8 blocks, and a JSON\n"
        "quantization config in the header (docs/quantization.md). Precis loads both back:\n"
        "  precis-cli info FILE\n"
        "  precis-cli eval FILE --reference MODEL --weights stored (--sample N | --text F | --tokens F)\n"
        "gives the numbers of `precis-cli eval MODEL <same scheme flags>`.\n"
        "A group size that does not divide some rows falls back to channel scales for those tensors\n"
        "(warned, and recorded in the file); one that fits no matrix is an error.\n"
        "\n"
        "Static activations (--activations int8|fp8-e4m3 --act-granularity tensor) are calibrated on\n"
        "--calib-data FILE (a text file, or a token file: lines of ids) or, without it, on --calib-tokens\n"
        "tokens sampled from the model (--seed); --act-calibration picks each range (max, percentile:P,\n"
        "mse). The ranges are stored in the file. With --stats and calibration data, activation\n"
        "statistics (range, clipping and saturation rates, kurtosis, outliers, SQNR) are printed too.",
        {{"--out", "FILE", "output file: .gguf or .safetensors (required)"}},
        1,
        1};
    for (const OptionSpec& o : schemeOptionSpecs(false)) s.options.push_back(o);
    s.options.push_back({"--stats", "", "per-tensor weight statistics (SQNR, clipping, scales, kurtosis, outliers)"});
    s.options.push_back({"--seed", "S", "seed for sampling calibration tokens when there is no --calib-data (default 0)"});
    s.options.push_back({"--tokenizer", "FILE", "llama2.c tokenizer.bin to attach to a llama2.c checkpoint"});
    s.options.push_back({"--threads", "N", "CPU threads (default: all cores)"});
    s.options.push_back({"--json", "", "print one JSON object instead of the readable report"});
    return s;
  }();
  return spec;
}

int runQuantize(const ParsedArgs& args) {
  const CommandSpec& spec = quantizeSpec();
  if (!args.has("--out") || args.get("--out").empty()) return usageError(spec, "--out FILE is required");
  const std::string out_path = args.get("--out");
  Result<std::string> kind = quantFileKind(out_path);
  if (!kind) return usageError(spec, "--out: " + kind.error().message);
  Result<QuantScheme> scheme = schemeFromArgs(args, "int8");
  if (!scheme) return usageError(spec, scheme.error().message);
  if (scheme->stored) return usageError(spec, "--weights stored: quantize needs a format to convert to");
  const bool json = args.has("--json");
  const bool tty = isatty(STDERR_FILENO);
  const std::string& path = args.positional[0];

  std::fprintf(stderr, "quantize: loading %s\n", path.c_str());
  LoadOptions lo;
  lo.tokenizer_path = args.get("--tokenizer");
  Result<Model> model = loadModel(path, lo);
  if (!model) return runtimeError(spec, model.error().message);

  std::string err;
  const std::optional<long long> seed = intOption(args, "--seed", 0, 0, INT64_MAX, err);
  if (!seed) return usageError(spec, err);
  const std::optional<long long> threads = intOption(args, "--threads", 0, 0, 4096, err);
  if (!threads) return usageError(spec, err);
  const std::optional<long long> calib_n = intOption(args, "--calib-tokens", 128, 1, 1 << 24, err);
  if (!calib_n) return usageError(spec, err);

  std::fprintf(stderr, "quantize: converting %zu tensors to %s\n", model->tensors.size(), weightSpecName(scheme->weights).c_str());
  const bool stats = args.has("--stats");
  const bool static_acts = scheme->activations != ActFormat::None && scheme->act_granularity == ActGranularity::Tensor;
  SchemeRun run;
  if (static_acts || (stats && args.has("--calib-data"))) {
    // A test runtime on the CPU: calibration runs the quantized model, exactly as eval does.
    BackendOptions bo;
    bo.threads = static_cast<int>(*threads);
    Result<std::unique_ptr<Backend>> backend = createBackend("cpu", bo);
    if (!backend) return runtimeError(spec, backend.error().message);
    RuntimeOptions ro;
    ro.max_slots = 1;
    ro.max_ctx = model->config.context_length;
    std::vector<std::vector<int32_t>> sampled;
    if (!args.has("--calib-data")) {
      const int n = static_cast<int>(std::min<long long>(*calib_n, model->config.context_length));
      std::fprintf(stderr, "quantize: sampling %d calibration tokens from the model (seed %lld)\n", n, *seed);
      Result<std::unique_ptr<LlamaRuntime>> ref = LlamaRuntime::create(*model, **backend, ro);
      if (!ref) return runtimeError(spec, ref.error().message);
      Result<std::vector<int32_t>> s = sampleSequence(**ref, bosId(*model), n, static_cast<uint64_t>(*seed));
      if (!s) return runtimeError(spec, s.error().message);
      sampled.push_back(std::move(*s));
    }
    Result<CalibrationData> calib = calibrationFromArgs(args, *model, ro.max_ctx, sampled,
                                                        "tokens sampled from the model (seed " + std::to_string(*seed) + ")");
    if (!calib) return runtimeError(spec, calib.error().message);
    std::fprintf(stderr, "quantize: calibrating on %s\n", calib->description.c_str());
    Result<SchemeRun> r = buildSchemeRun(*model, *scheme, **backend, ro, *calib, SchemeRunOptions{stats, false, {}});
    if (!r) return runtimeError(spec, path + ": " + r.error().message);
    run = std::move(*r);
  } else {
    QuantizeModelOptions qo;
    qo.stats = stats;
    Result<QuantizedModel> q = quantizeModel(*model, *scheme, qo);
    if (!q) return runtimeError(spec, q.error().message);
    run.scheme = *scheme;
    run.quantized = std::move(*q);
  }
  QuantizedModel* q = &run.quantized;
  // A granularity that fits no converted matrix is an error; one that fits some is a warning.
  if (scheme->weights.granularity == Granularity::Group) {
    int fitted = 0, fell_back = 0;
    for (const TensorQuantReport& t : q->report.tensors) {
      if (!t.quantized || t.spec.format != scheme->weights.format) continue;
      if (t.spec.granularity == Granularity::Group) ++fitted;
      else if (t.reason.find("channel scales used") != std::string::npos) ++fell_back;
    }
    if (fitted == 0 && fell_back > 0)
      return runtimeError(spec, path + ": --granularity " + granularityName(scheme->weights) +
                                    ": the group size divides the rows of none of the converted matrices");
    for (const TensorQuantReport& t : q->report.tensors)
      if (t.reason.find("channel scales used") != std::string::npos)
        std::fprintf(stderr, "quantize: warning: %s: %s\n", t.name.c_str(), t.reason.c_str());
  }

  QuantFileOptions fo;
  fo.source = path;
  fo.act_clip = run.act_clip;
  if (tty)
    fo.progress = [](double f) {
      std::fprintf(stderr, "\rquantize: writing %3d%%", static_cast<int>(f * 100));
      std::fflush(stderr);
      return true;
    };
  std::fprintf(stderr, "quantize: writing %s (%s)\n", out_path.c_str(), kind->c_str());
  Status st = writeQuantizedModel(*q, *scheme, out_path, fo);
  if (tty) std::fprintf(stderr, "\n");
  if (!st) return runtimeError(spec, st.error().message);
  std::error_code ec;
  const uint64_t file_bytes = std::filesystem::file_size(out_path, ec);

  const SchemeRun& view = run;
  const ModelQuantReport& rep = q->report;
  if (json) {
    nlohmann::ordered_json j;
    j["model"] = path;
    j["out"] = out_path;
    j["container"] = *kind;
    j["file_bytes"] = file_bytes;
    j["weights"] = schemeWeightsJson(view, *scheme);
    j["activations"] = {{"format", actFormatName(scheme->activations)},
                        {"granularity", scheme->activations == ActFormat::None ? "-" : actGranularityName(scheme->act_granularity)},
                        {"calibration", static_acts ? calibrationName(scheme->act_calibration) : std::string("-")},
                        {"calibration_data", run.calib_desc},
                        {"clip", run.act_clip}};
    nlohmann::ordered_json tensors = nlohmann::ordered_json::array();
    for (const TensorQuantReport& t : rep.tensors)
      tensors.push_back({{"name", t.name}, {"from", t.from}, {"as", t.to}, {"bytes", t.bytes}, {"quantized", t.quantized}});
    j["tensors"] = tensors;
    if (stats) j["tensor_stats"] = schemeStatsJson(view);
    if (stats) j["activation_stats"] = actStatsJson(view);
    std::cout << j.dump(2) << "\n";
    return kExitOk;
  }
  std::printf("Model:    %s\n", path.c_str());
  std::printf("Wrote:    %s (%s, %s on disk)\n", out_path.c_str(), kind->c_str(), humanBytes(file_bytes).c_str());
  std::printf("Weights:  %s, calibration %s: %s of weights, %.3f bits per weight (%.3f over the converted matrices)\n",
              weightSpecName(scheme->weights).c_str(), calibrationName(scheme->calibration).c_str(),
              humanBytes(rep.bytes).c_str(), rep.bits_per_weight, rep.quantized_bits_per_weight);
  if (scheme->activations != ActFormat::None)
    std::printf("Acts:     %s %s%s (recorded in the file)\n", actFormatName(scheme->activations), actGranularityName(scheme->act_granularity),
                static_acts ? (", " + std::to_string(run.act_clip.size()) + " ranges calibrated (" + calibrationName(scheme->act_calibration) +
                               ") on " + run.calib_desc).c_str() : "");
  int norms = 0;
  for (const TensorQuantReport& t : rep.tensors) {
    if (t.reason.rfind("1-D tensor kept", 0) == 0) ++norms;
    else if (!t.reason.empty()) std::printf("          %s as %s: %s\n", t.name.c_str(), t.to.c_str(), t.reason.c_str());
  }
  if (norms) std::printf("          %d norm vectors kept as f32\n", norms);
  if (stats) printSchemeStats(view);
  std::printf("\nCheck it: precis-cli eval %s --reference %s --weights stored --sample 128\n", out_path.c_str(), path.c_str());
  return kExitOk;
}

}  // namespace precis::cli
