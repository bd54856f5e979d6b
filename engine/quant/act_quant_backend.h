// Simulated activation quantization without touching the model code: a Backend decorator that
// forwards every op to an inner CPU backend and, in matmul, fake-quantizes the input activations
// x (quantize -> dequantize, int8 symmetric or OCP fp8-e4m3 saturating) before the inner kernel
// runs. Granularity: per token (dynamic, one scale per row of x) or per tensor (static: one scale
// per weight matrix, calibrated by running the model in Observe mode first).
// The classifier (weight rows == vocab_size) is left alone unless quantize_classifier.
// Only host-memory backends (the CPU) can be wrapped: create() refuses others.
// Tested by tests/quant/test_act_quant.cpp (per-token int8 error bound, static calibration, the
// runtime runs through it and its logits move by a bounded amount).
#pragma once
#include <map>
#include <memory>
#include <vector>

#include "engine/backend/backend.h"
#include "engine/core/result.h"
#include "engine/quant/scheme.h"

namespace precis {

class ActQuantBackend : public Backend {
 public:
  enum class Mode { Observe, Apply };
  struct Options {
    ActFormat format = ActFormat::Int8;
    ActGranularity granularity = ActGranularity::Token;
    int vocab_size = 0;            // matmuls whose weight has this many rows are the classifier
    bool quantize_classifier = false;
  };
  static Result<std::unique_ptr<ActQuantBackend>> create(Backend& inner, const Options& options);

  // Observe: record max |x| per weight (static calibration); matmul inputs are not changed.
  // Apply: fake-quantize inputs (Tensor granularity needs observed scales: a weight never observed
  // uses its per-call max, and unobservedWeights() counts them).
  void setMode(Mode m) { mode_ = m; }
  size_t observedWeights() const { return amax_.size(); }
  size_t unobservedCalls() const { return unobserved_; }
  double clipRate() const { return elements_ ? double(clipped_) / double(elements_) : 0; }  // Apply, static
  std::string description() const;  // "int8 per-token (dynamic) fake-quant of matmul inputs"

  const DeviceInfo& device() const override { return inner_.device(); }
  bool supportsOp(Op op, DType t) const override { return inner_.supportsOp(op, t); }
  std::string kernelName(Op op, DType t) const override;
  std::unique_ptr<Buffer> alloc(size_t bytes) override { return inner_.alloc(bytes); }
  void upload(Buffer& d, size_t o, const void* s, size_t b) override { inner_.upload(d, o, s, b); }
  void download(const Buffer& s, size_t o, void* d, size_t b) override { inner_.download(s, o, d, b); }
  void synchronize() override { inner_.synchronize(); }
  std::string lastError() const override { return inner_.lastError(); }
  void getRows(const TensorView& t, const TensorView& ids, const TensorView& out) override { inner_.getRows(t, ids, out); }
  void rmsNorm(const TensorView& x, const TensorView& w, float eps, const TensorView& y) override { inner_.rmsNorm(x, w, eps, y); }
  void matmul(const TensorView& w, const TensorView& x, const TensorView& y) override;
  void rope(const TensorView& x, const TensorView& pos, int hd, float theta, RopeStyle s) override { inner_.rope(x, pos, hd, theta, s); }
  void storeRows(const TensorView& s, const TensorView& d, const TensorView& r) override { inner_.storeRows(s, d, r); }
  void attention(const TensorView& q, const TensorView& k, const TensorView& v, const TensorView& table,
                 const TensorView& seq, const TensorView& pos, const AttentionParams& p,
                 const TensorView& out) override {
    inner_.attention(q, k, v, table, seq, pos, p, out);
  }
  void siluMul(const TensorView& a, const TensorView& b) override { inner_.siluMul(a, b); }
  void add(const TensorView& y, const TensorView& x) override { inner_.add(y, x); }

 private:
  ActQuantBackend(Backend& inner, const Options& o) : inner_(inner), opt_(o) {}
  Backend& inner_;
  Options opt_;
  Mode mode_ = Mode::Apply;
  std::map<const void*, float> amax_;  // weight data -> observed max |x|
  std::vector<float> scratch_;         // (n, in) quantized copy of x
  size_t unobserved_ = 0;
  uint64_t clipped_ = 0, elements_ = 0;
};

// Fake-quantizes one row x: (n,) in place with scale chosen from amax. Returns values clipped.
int64_t fakeQuantizeRow(ActFormat f, float* x, int64_t n, float amax);

}  // namespace precis
