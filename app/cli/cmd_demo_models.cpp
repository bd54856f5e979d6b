// `precis-cli demo-models [--out DIR] [--force] [--small] [--threads N] [--quiet]`: builds the
// built-in demo teacher and student (engine/train/demo_models.h) without any download, or reports
// the cached ones. Tested by tests/cli (via the engine test tests/train/test_demo_models.cpp).
#include <cmath>
#include <cstdio>
#include <iostream>

#include "app/cli/cli_common.h"
#include "engine/train/demo_models.h"

namespace precis::cli {

const CommandSpec& demoModelsSpec() {
  static const CommandSpec spec{
      "demo-models",
      "[--out DIR] [--force] [--small] [--threads N] [--quiet]",
      "Build the built-in demo teacher and distilled student (no download).",
      "Generates a synthetic story corpus from Precis's own grammar (its entropy is known, so the best\n"
      "possible perplexity is known), trains a BPE tokenizer on it, trains a teacher from scratch and\n"
      "distils a student (every other teacher layer) from it. Writes demo-teacher.gguf,\n"
      "demo-student.gguf (tokenizer inside), stories.txt and demo.json (quality and entropy floor)\n"
      "to DIR (default $XDG_DATA_HOME/precis/demo or ~/.local/share/precis/demo). A folder built with\n"
      "the same configuration is reused unless --force. See docs/demo-models.md.",
      {{"--out", "DIR", "output folder"},
       {"--force", "", "rebuild even when cached"},
       {"--small", "", "a reduced configuration (seconds; for tests)"},
       {"--threads", "N", "CPU threads (default: all)"},
       {"--quiet", "", "no progress lines"}},
      0,
      0};
  return spec;
}

int runDemoModels(const ParsedArgs& args) {
  const CommandSpec& spec = demoModelsSpec();
  std::string err;
  const std::optional<long long> threads = intOption(args, "--threads", 0, 0, 1024, err);
  if (!threads) return usageError(spec, err);
  DemoConfig cfg = args.has("--small") ? smallDemoConfig() : defaultDemoConfig();
  cfg.threads = int(*threads);
  const std::string dir = args.has("--out") ? args.get("--out") : defaultDemoDir();
  const bool quiet = args.has("--quiet");
  std::string last_stage;
  auto progress = [&](const DemoProgress& p) {
    if (quiet) return true;
    if (p.stage != last_stage && !last_stage.empty()) std::fprintf(stderr, "\n");
    last_stage = p.stage;
    std::fprintf(stderr, "\r%-9s %3d%% %s   ", p.stage.c_str(), int(p.fraction * 100), p.detail.c_str());
    std::fflush(stderr);
    return true;
  };
  Result<DemoResult> r = buildDemoModels(cfg, dir, progress, args.has("--force"));
  if (!quiet) std::fprintf(stderr, "\n");
  if (!r) return runtimeError(spec, r.error().message);
  std::printf("%s demo models in %s%s\n", r->cached ? "cached" : "built", r->dir.c_str(),
              r->cached ? "" : (" (" + std::to_string(int(r->seconds + 0.5)) + " s)").c_str());
  std::printf("  teacher %s: %lld parameters, held-out perplexity %.3f\n", r->teacher_path.c_str(),
              (long long)r->teacher_params, r->teacher_ppl);
  std::printf("  student %s: %lld parameters, held-out perplexity %.3f, KL to teacher %.4f (from %.4f), "
              "top-1 agreement %.1f%%\n",
              r->student_path.c_str(), (long long)r->student_params, r->student_ppl, r->student_kl,
              r->student_initial_kl, 100 * r->student_agreement);
  std::printf("  entropy floor of the held-out stories: %.4f nats/token (perplexity %.3f)\n", r->entropy_floor,
              std::exp(r->entropy_floor));
  return kExitOk;
}

}  // namespace precis::cli
