// Static (per-tensor) activation calibration and its statistics: a Backend decorator over the CPU
// backend that, in Observe mode, records the inputs x of every matmul (a deterministic subsample
// of at most max_samples values per weight, plus exact moments and range over all of them); then
// calibrate() picks each weight's clipping range with a Calibration (max |x|, the P-th percentile
// of |x|, or the clipping ratio 1.00, 0.98, ..., 0.50 of max |x| with the smallest fake-quant MSE)
// and measures, on the calibration data, clipping and saturation rates, range, kurtosis, 6-sigma
// outliers and SQNR. In Apply mode each input row is fake-quantized (int8 / fp8-e4m3, saturating)
// with its weight's clip value, exactly as ActQuantBackend's static mode does with max ranges.
// Over a device backend (CUDA) Observe reads each input back to the host and observes it there,
// and Apply fake-quantizes with the device's quantizeActs + dequantizeActs
// (engine/quant/backend_act_quant.h: the same codes as fakeQuantizeRow).
// Weights are named by the order the runtime first multiplies them (matmulOrder), checked
// against their shapes: a runtime that changes its order makes calibrate() fail, never mislabel.
// Tested by tests/quant/test_calib_act.cpp (planted outliers: percentile/mse clip below max and
// lower error; statistics of known distributions; Apply equals ActQuantBackend for max ranges)
// and tests/quant/test_device_act_quant.cpp (the device path on a stand-in device equals the CPU's).
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/backend/forwarding_backend.h"
#include "engine/core/result.h"
#include "engine/model/model.h"
#include "engine/quant/backend_act_quant.h"
#include "engine/quant/quant_io.h"
#include "engine/quant/scheme.h"

namespace precis {

struct MatmulWeight {
  std::string name;
  int64_t rows = 0, cols = 0;  // (out, in)
};
// The Llama runtime's matmul weights in the order one forward first uses them: per layer attn_q,
// attn_k, attn_v, attn_output, ffn_gate, ffn_up, ffn_down; then the classifier (output, or
// token_embd when tied).
std::vector<MatmulWeight> matmulOrder(const Model& model);

struct ActTensorStats {
  std::string name;
  int64_t count = 0;            // values seen (all of them)
  int64_t samples = 0;          // values kept for the percentile/mse/rate measurements
  double min = 0, max = 0, absmax = 0;
  double clip = 0;              // chosen clipping value (max |x| kept)
  double clip_rate = 0;         // fraction of samples with |x| > clip
  double saturation_rate = 0;   // fraction of samples quantized to the largest code (+-clip)
  double kurtosis = 0;          // Pearson, 3 for a normal distribution (over all values)
  double outlier_rate = 0;      // fraction of samples with |x - mean| > 6 standard deviations
  double sqnr_db = 0;           // of the fake-quantized samples
};

// Picks the clip value of values x with a calibration (exposed for tests).
float chooseActClip(ActFormat f, const Calibration& c, std::vector<float> x);

class CalibActBackend : public ForwardingBackend {
 public:
  enum class Mode { Observe, Apply };
  struct Options {
    ActFormat format = ActFormat::Int8;
    Calibration calibration;
    std::vector<MatmulWeight> order;   // matmulOrder(model)
    bool quantize_classifier = false;  // the last weight of `order`
    size_t max_samples = size_t(1) << 18;
  };
  static Result<std::unique_ptr<CalibActBackend>> create(Backend& inner, const Options& options);

  void setMode(Mode m) { mode_ = m; }
  // After Observe: each observed weight's clip value (name -> clip) and fills stats().
  Result<ActClipMap> calibrate();
  // Apply with these clips (e.g. read from a file); weights without one use the per-row max.
  void setClips(const ActClipMap& clips) { clips_ = clips; }
  const std::vector<ActTensorStats>& stats() const { return stats_; }
  std::string description() const;

  std::string kernelName(Op op, DType t) const override;
  std::string lastError() const override { return error_.empty() ? inner_.lastError() : error_; }
  void matmul(const TensorView& w, const TensorView& x, const TensorView& y) override;

 private:
  struct Observed {
    std::vector<float> samples;
    size_t stride = 1, seen_mod = 0;
    int64_t count = 0;
    double s1 = 0, s2 = 0, s3 = 0, s4 = 0, min = 0, max = 0;
  };
  CalibActBackend(Backend& inner, const Options& o) : ForwardingBackend(inner), opt_(o) {}
  const MatmulWeight* nameOf(const TensorView& w);  // null (and error_ set) on a mismatch
  void observe(const MatmulWeight& mw, const float* x, int64_t rows, int64_t cols, size_t stride_floats);
  std::unique_ptr<BackendActQuant> device_;  // over a device backend: its kernels
  Options opt_;
  Mode mode_ = Mode::Apply;
  std::map<const void*, size_t> index_;  // weight data -> position in opt_.order
  std::map<std::string, Observed> observed_;
  ActClipMap clips_;
  std::vector<ActTensorStats> stats_;
  std::vector<float> scratch_;
  std::string error_;
};

}  // namespace precis
