// Writing the artifact config of an approved run (artifact.json, schema_version 1): what
// `precis-cli export` and the workbench's Export both write. Reading it back: artifact.h.
// Also the run's converted weights (`precis-cli export --weights` and the workbench's Export
// weights): GGUF for the GGUF/float formats, the quantize command's safetensors for the lab formats.
// Tested by tests/log/test_log_cli.cpp and tests/cli/test_cli_runs.cpp (export, then re-evaluate
// through eval --config), tests/ui/test_runs_compare.cpp (the workbench's Export) and
// tests/ui/test_runs_export.cpp (the workbench's Export weights: written, recorded, loaded back;
// a lab-format run's file evaluates to the run's logged numbers).
#pragma once
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/core/result.h"
#include "engine/log/run_store.h"
#include "engine/quant/convert.h"

namespace precis {

class DigestCache;

struct ArtifactDraft {
  RunDetail run;                  // the run as stored
  nlohmann::ordered_json config;  // schema_version, run, model, weights, data, metrics, approval,
                                  // envelope, reproduce {argv}
};

// Checks that run `id` can be exported (its latest decision is an approval; it has an envelope
// with a model and an "invocation" document; the model file still has the recorded sha256, read
// through `digests` when given) and builds its artifact config. Writes nothing.
Result<ArtifactDraft> draftArtifactConfig(RunStore& store, int64_t id, DigestCache* digests);

// Writes `config` to DIR/artifact.json (DIR created) and records it with its sha256 as a "config"
// artifact of run `id`. Returns {absolute path, sha256}.
Result<std::pair<std::string, std::string>> writeArtifactConfig(RunStore& store, int64_t id,
                                                                const nlohmann::ordered_json& config,
                                                                const std::string& dir);

struct WrittenFile {
  std::string path;  // absolute
  std::string sha256;
  int64_t bytes = 0;
};

// The converted weights of the run `draft` describes, for the GGUF/float formats (f32, f16, bf16,
// q8_0, q4_0): the run's model is loaded from its recorded path (with the run's `tokenizer` param,
// if any), converted with convertWeights to the run's weights format (embeddings too when the run
// had quantize-embeddings) and written as GGUF to `path`; the file is recorded as a "weights"
// artifact of the run with its sha256 and set as draft.config["weights"]["file"]. `progress` is the
// conversion's (convert.h; false cancels and nothing is written). Lab formats (int8/int4, fp8, nf4)
// are not GGUF formats: an error says so (precis-cli export --weights writes them as safetensors).
Result<WrittenFile> writeRunWeightsGguf(RunStore& store, ArtifactDraft& draft, const std::string& path,
                                        const TensorProgress& progress = {});

// The converted weights of the run `draft` describes as a Precis quantized safetensors file (what
// `precis-cli quantize --out FILE.safetensors` writes; engine/quant/quant_io.h), for any format, the
// lab formats (int8/int4, fp8, nf4) included: the scheme is the run's recorded eval flags
// (scheme_flags.h: weights, granularity, activations, calibration, overrides, plan, embeddings), the
// model the recorded one (digest checked by draftArtifactConfig). Static activation ranges are
// calibrated on the run's --calib-data file on the CPU, as quantize does; a run that calibrated them
// on its evaluation tokens is refused (a weights file cannot reproduce those ranges). Recorded as a
// "weights" artifact with its sha256, and set as draft.config["weights"]["file"]. `progress` is
// the conversion's (false cancels; nothing is written). `path` must end in .safetensors.
Result<WrittenFile> writeRunWeightsSafetensors(RunStore& store, ArtifactDraft& draft, const std::string& path,
                                               const TensorProgress& progress = {});

// The container a run's weights export to: "gguf" for f32, f16, bf16, q8_0, q4_0, else "safetensors".
std::string runWeightsContainer(const ArtifactDraft& draft);

// writeRunWeightsGguf or writeRunWeightsSafetensors, by the run's format; a path whose extension is
// not that container's is refused naming both ("int4 weights are not a GGUF format: ...").
Result<WrittenFile> writeRunWeights(RunStore& store, ArtifactDraft& draft, const std::string& path,
                                    const TensorProgress& progress = {});

}  // namespace precis
