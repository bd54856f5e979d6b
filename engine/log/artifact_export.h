// Writing the artifact config of an approved run (artifact.json, schema_version 1): what
// `precis-cli export` and the workbench's Export both write. Reading it back: artifact.h.
// Tested by tests/log/test_log_cli.cpp and tests/cli/test_cli_runs.cpp (export, then re-evaluate
// through eval --config) and tests/ui/test_runs_compare.cpp (the workbench's Export).
#pragma once
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/core/result.h"
#include "engine/log/run_store.h"

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

}  // namespace precis
