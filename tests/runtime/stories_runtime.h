// stories260K on the CPU for the runtime and serving suites (tests/runtime/test_runtime,
// test_runtime_backends, tests/serve/test_serve_runtime): the model, a CPU backend and a runtime
// on them built in place, the greedy continuation of BOS, and the ids the llama2.c reference
// program prints for it. Header-only, test code.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "engine/backend/registry.h"
#include "engine/model/loader.h"
#include "engine/runtime/llama_runtime.h"
#include "engine/runtime/sampler.h"
#include "test_paths.h"

namespace precis::test {

// The 20 tokens stories260K generates greedily after BOS (../shared/models/README.md, checked
// against the llama2.c reference program).
inline std::vector<int32_t> storiesGreedyIds() {
  return {461, 461, 401, 401, 401, 461, 378, 455, 473, 456,
          435, 299, 362, 409, 283, 264, 283, 452, 288, 13};
}

// `n` tokens generated greedily by `rt` after BOS (id 1).
inline Result<std::vector<int32_t>> greedyAfterBos(LlamaRuntime& rt, int n) {
  const std::vector<int32_t> prompt{1};
  GenerateOptions go;
  go.max_new_tokens = n;
  return generate(rt, prompt, go);
}

// stories260K, a CPU backend of `threads` threads and a runtime with `ro` on them. The runtime
// refers to the model and the backend, so this is built in place and never moved; a test binds
// the parts by name (`auto& [model, be, rt] = stories;`) and checks ok() first.
struct StoriesOnCpu {
  Result<Model> model;
  Result<std::unique_ptr<Backend>> be;
  Result<std::unique_ptr<LlamaRuntime>> rt;

  explicit StoriesOnCpu(int threads, const RuntimeOptions& ro = {})
      : model(loadModel(modelPath("stories260K.bin"))),
        be(createBackend("cpu", {threads})),
        rt(model && be ? LlamaRuntime::create(*model, **be, ro)
                       : Result<std::unique_ptr<LlamaRuntime>>(makeError("not created"))) {}
  StoriesOnCpu(const StoriesOnCpu&) = delete;
  StoriesOnCpu& operator=(const StoriesOnCpu&) = delete;

  bool ok() const { return model && be && rt; }
  // What failed first ("" when ok()).
  std::string error() const {
    if (!model) return "stories260K: " + model.error().message;
    if (!be) return "cpu backend: " + be.error().message;
    return rt ? std::string() : "runtime: " + rt.error().message;
  }
};

}  // namespace precis::test
