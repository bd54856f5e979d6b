// The built-in demo models, built on this machine without any download: a story corpus from
// engine/train/story_grammar.h (known entropy), a BPE tokenizer trained on it, a teacher trained
// from scratch and a student distilled from it (every other teacher layer), written as GGUF files
// with the tokenizer inside, plus demo.json (the configuration, the measured quality and the
// entropy floor). Deterministic for a configuration and seed (single-threaded reductions aside,
// the corpus and tokenizer bytes are exactly reproducible; weights depend only on them and the
// thread count). Cached: a folder whose demo.json matches the configuration is reused.
// Tested by tests/train/test_demo_models.cpp (reduced configuration).
#pragma once
#include <cstdint>
#include <functional>
#include <string>

#include "engine/core/result.h"
#include "engine/model/model.h"

namespace precis {

struct DemoConfig {
  uint64_t seed = 1;
  int train_stories = 12000;
  int heldout_stories = 300;
  int vocab_size = 512;
  LlamaConfig teacher;           // vocab_size is set from the tokenizer
  int teacher_steps = 600;
  int student_steps = 250;
  int batch = 16;
  int ctx = 64;
  float teacher_lr = 3e-3f;
  float student_lr = 2e-3f;
  float alpha = 0.9f, temperature = 2.f;
  int threads = 0;
  // A stable text of everything above (the cache key).
  std::string key() const;
};

// The shipped configuration (teacher ~1.3M parameters; a few minutes on 2 cores at most).
DemoConfig defaultDemoConfig();
// A reduced configuration for tests (seconds).
DemoConfig smallDemoConfig();

// $XDG_DATA_HOME/precis/demo, else $HOME/.local/share/precis/demo.
std::string defaultDemoDir();

struct DemoProgress {
  std::string stage;    // "corpus", "tokenizer", "teacher", "student", "done"
  double fraction = 0;  // of the stage
  std::string detail;   // e.g. "step 120/600 loss 1.23"
};

struct DemoResult {
  std::string dir, teacher_path, student_path, corpus_path, manifest_path;
  bool cached = false;
  double entropy_floor = 0;          // nats per predicted token of the held-out stories
  double teacher_ppl = 0, student_ppl = 0;
  double student_kl = 0, student_agreement = 0;  // held-out, vs the teacher
  double student_initial_kl = 0;
  int64_t teacher_params = 0, student_params = 0;
  double seconds = 0;
};

// The demo models cached in `dir` for `config` (demo.json's key matches and both GGUF files exist),
// without building anything; an error saying what is missing otherwise. The workbench's startup.
Result<DemoResult> findCachedDemoModels(const DemoConfig& config, const std::string& dir);

// Builds (or finds cached) demo models in `dir`. `progress` may be empty; returning false from it
// cancels (an error "cancelled" is returned and no partial model is left under the final names).
Result<DemoResult> buildDemoModels(const DemoConfig& config, const std::string& dir,
                                   const std::function<bool(const DemoProgress&)>& progress = {}, bool force = false);

}  // namespace precis
