// Helpers of the suites that quantize the real stories260K model (tests/quant/test_quantize_model,
// test_quant_io, tests/kernels/test_packed_backend): a weight scheme from its command-line names,
// the logits of a fixed token prefix, and the model with a CPU backend loaded for a whole suite.
// Header-only, test code.
#pragma once
#include <QtTest>
#include <memory>
#include <vector>

#include "engine/backend/registry.h"
#include "engine/model/loader.h"
#include "engine/quant/scheme.h"
#include "engine/runtime/llama_runtime.h"
#include "test_paths.h"

namespace precis::test {

// The weight scheme `fmt` at granularity `gran` (as --weights / --granularity spell them); both
// names must be valid.
inline QuantScheme scheme(const char* fmt, const char* gran) {
  QuantScheme s;
  s.weights = *parseGranularity(gran, *parseWeightFormat(fmt));
  return s;
}

// Logits of the first `n` (at most 16) of BOS + 15 fixed tokens at every position: (n, vocab).
// Stops the suite (qFatal) if the forward fails.
inline std::vector<float> prefixLogits(LlamaRuntime& rt, int vocab, int n = 16) {
  const int32_t toks[16] = {1,   461, 401, 378, 455, 473, 456, 435,
                            299, 362, 409, 283, 264, 452, 288, 13};
  std::vector<BatchToken> batch;
  for (int i = 0; i < n; ++i) batch.push_back({toks[i], i, 0, true});
  std::vector<float> out(size_t(n) * size_t(vocab));
  if (Status s = rt.forward(batch, out); !s) qFatal("%s", s.error().message.c_str());
  return out;
}

// prefixLogits of `m` on `be` (a one-slot runtime of 64 positions): (16, vocab).
inline std::vector<float> prefixLogits(const Model& m, Backend& be) {
  auto rt = LlamaRuntime::create(m, be, RuntimeOptions{1, 64, 64});
  if (!rt) qFatal("%s", rt.error().message.c_str());
  return prefixLogits(**rt, m.config.vocab_size);
}

// A suite's initTestCase after PRECIS_REQUIRE_MODEL: stories260K into `model`, a CPU backend into
// `cpu`; fails the test case when either cannot be made.
inline void loadStoriesOnCpu(Model& model, std::unique_ptr<Backend>& cpu) {
  Result<Model> m = loadModel(modelPath("stories260K.bin"));
  QVERIFY2(m.ok(), m.ok() ? "" : m.error().message.c_str());
  model = std::move(*m);
  Result<std::unique_ptr<Backend>> be = createBackend("cpu", BackendOptions{});
  QVERIFY(be.ok());
  cpu = std::move(*be);
}

}  // namespace precis::test
