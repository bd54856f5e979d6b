// Simulated activation quantization without touching the model code: a Backend decorator that
// forwards every op to an inner CPU backend and, in matmul, fake-quantizes the input activations
// x (quantize -> dequantize, int8 symmetric or OCP fp8-e4m3 saturating) before the inner kernel
// runs. Granularity: per token (dynamic, one scale per row of x) or per tensor (static: one scale
// per weight matrix, calibrated by running the model in Observe mode first).
// The classifier (weight rows == vocab_size) is left alone unless quantize_classifier.
// Over the CPU backend the rows are fake-quantized on the host (fakeQuantizeRow, clipped values
// counted); over a device backend (CUDA) by the device's quantizeActs + dequantizeActs
// (engine/quant/backend_act_quant.h: the same codes), and Observe reads the inputs back to the host.
// Tested by tests/quant/test_act_quant.cpp (per-token int8 error bound, static calibration, the
// runtime runs through it and its logits move by a bounded amount) and
// tests/quant/test_device_act_quant.cpp (the device path on a stand-in device equals the CPU path).
#pragma once
#include <map>
#include <memory>
#include <vector>

#include "engine/backend/forwarding_backend.h"
#include "engine/core/result.h"
#include "engine/quant/backend_act_quant.h"
#include "engine/quant/scheme.h"

namespace precis {

class ActQuantBackend : public ForwardingBackend {
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

  std::string kernelName(Op op, DType t) const override;
  std::string lastError() const override { return error_.empty() ? inner_.lastError() : error_; }
  void matmul(const TensorView& w, const TensorView& x, const TensorView& y) override;

 private:
  ActQuantBackend(Backend& inner, const Options& o) : ForwardingBackend(inner), opt_(o) {}
  void deviceMatmul(const TensorView& w, const TensorView& x, const TensorView& y);
  Options opt_;
  std::unique_ptr<BackendActQuant> device_;  // over a device backend: its kernels
  std::string error_;
  Mode mode_ = Mode::Apply;
  std::map<const void*, float> amax_;  // weight data -> observed max |x|
  std::vector<float> scratch_;         // (n, in) quantized copy of x
  size_t unobserved_ = 0;
  uint64_t clipped_ = 0, elements_ = 0;
};

// Fake-quantizes one row x: (n,) in place with scale chosen from amax. Returns values clipped.
int64_t fakeQuantizeRow(ActFormat f, float* x, int64_t n, float amax);

}  // namespace precis
