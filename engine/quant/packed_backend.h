// Real low-bit kernels for a quantized model without touching the model code: a Backend decorator
// that runs the matmuls of packed int8 / int4 / nf4 / fp8 weights (W8A16, W4A16; with int8
// activations and integer weights W8A8, W4A8) through kernels/cpu/matmul_packed.h, reading the QuantizedModel's packed storage in place,
// and forwards everything else to the inner backend (the CPU backend, or an activation
// fake-quant decorator over it, which then only sees the matmuls of unpacked weights).
// The runtime still uploads the dequantized f32 copy that quantizeModel builds: the decorator keys
// each packed matrix by that upload's address, and Observe mode (static activation calibration)
// forwards every matmul to the inner backend so the calibration decorator sees f32 weights.
// Activations: int8 per token (dynamic) or per tensor (static clip per weight name, set after
// calibration) are quantized here and run the real int8 kernels; fp8-e4m3 activations, and int8
// activations of nf4/fp8 weights (no integer kernel for table codes), are fake-quantized here
// (fakeQuantizeRow, the simulated path's numerics) and then run the packed f32-activation kernel:
// real weights, simulated activations, and the kernel name says so.
// On the CPU backend the kernels share its thread pool. On any other backend (CUDA) the packed
// codes, scales and zero points are uploaded to it once and each matmul runs the backend's own
// matmulPacked (engine/backend/lowp_ops.h; kernels/cuda/packed_gemv.cu ...), whose name the kernel
// rows report; a weight the backend has no f32-activation kernel for stays simulated and its
// report says so. There quantized activations run the backend's kernel for them when it names one
// (int8 per token / static: W8A8, W4A8; fp8-e4m3 on fp8 weights: FP8 W8A8); otherwise they are
// fake-quantized on the device (engine/quant/backend_act_quant.h: quantizeActs + dequantizeActs,
// the same codes as fakeQuantizeRow) and the f32-activation kernel runs: real weights, simulated
// activations, and the kernel name says so. Values clipped by static ranges are not counted there.
// Tested by tests/kernels/test_packed_backend.cpp (stories260K: packed logits match the simulated
// path within stated tolerances for every format; reports, kernel names, static clips; the device
// path on a stand-in device backend equals the CPU path, fp8 and code-book activations included).
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/backend/forwarding_backend.h"
#include "engine/core/result.h"
#include "engine/quant/backend_act_quant.h"
#include "engine/quant/scheme.h"
#include "engine/quant/quantize_model.h"
#include "kernels/common/packed_quant.h"

namespace precis {

class ThreadPool;

class PackedBackend : public ForwardingBackend {
 public:
  enum class Mode { Observe, Apply };
  struct Options {
    ActFormat activations = ActFormat::None;
    ActGranularity act_granularity = ActGranularity::Token;
    int vocab_size = 0;                // matmuls whose weight has this many rows are the classifier
    bool quantize_classifier = false;  // quantize the classifier's inputs too
  };
  // One row of "what ran": a weight spec, how many tensors, the kernel, and whether its
  // activations were simulated (fake-quantized) rather than quantized for a real kernel.
  struct KernelRow {
    std::string weights;      // "int4 group:32"
    int tensors = 0;
    std::string activations;  // "f32", "int8 per-token (dynamic)", ...
    std::string kernel;
    bool activations_simulated = false;
  };

  // target: the backend whose packed kernels run: the CPU backend (its thread pool runs
  // kernels/cpu), or a device backend (CUDA: its matmulPacked). inner: where the other ops and the
  // unpacked matmuls go (target itself, or an activation decorator over the CPU). Marks the report
  // rows of the tensors that now run real kernels as not simulated, and says why for those that
  // stay simulated. q must outlive the backend; create the runtime over this backend after create().
  static Result<std::unique_ptr<PackedBackend>> create(Backend& target, Backend& inner, QuantizedModel& q,
                                                       const Options& options);

  // Observe: every matmul goes to the inner backend unchanged (for static calibration).
  void setMode(Mode m) { mode_ = m; }
  // Static (per-tensor) activation clip values by weight name; a weight without one uses its
  // per-token max for that call (as the simulated static path does).
  void setStaticClips(std::map<std::string, float> clips) {
    clips_ = std::move(clips);
    chooseDeviceModes();
  }
  std::vector<KernelRow> kernelRows() const;
  // Whether some activations have been fake-quantized so far (simulated): fp8 activations, int8
  // activations of nf4/fp8 weights, or the quantized inputs of weights that run unpacked (kept in
  // f32, or a format without a kernel) and went to the inner decorator. Ask after the forwards.
  bool activationsSimulated() const { return fake_ran_ || inner_quantized_; }
  size_t packedTensors() const { return entries_.size(); }
  // Values clipped by static int8/fp8 activation scales in the packed matmuls (counted on the CPU
  // only), and all values quantized.
  uint64_t clippedActivations() const { return clipped_; }
  uint64_t quantizedActivations() const { return act_values_; }

  // Matmuls of unpacked weights: the inner backend's kernel, or the CPU backend's when no input of
  // theirs has been fake-quantized (e.g. only the classifier, whose inputs stay f32).
  std::string kernelName(Op op, DType t) const override {
    return op == Op::MatMul && !inner_quantized_ ? cpu_.kernelName(op, t) : inner_.kernelName(op, t);
  }
  std::string lastError() const override { return error_.empty() ? inner_.lastError() : error_; }
  void upload(Buffer& d, size_t o, const void* s, size_t b) override;
  void matmul(const TensorView& w, const TensorView& x, const TensorView& y) override;

 private:
  struct Entry {
    std::string name;
    std::string spec;  // weightSpecName
    PackedWeightsView view;  // host storage (CPU kernels), or the device copy (device backends)
    std::vector<std::unique_ptr<Buffer>> device;  // codes, scales, zero points on a device backend
    // Device backends: the activation mode matmulPacked runs, and whether the activations are
    // fake-quantized first (quantized, but the backend has no kernel for them with this weight).
    PackedActMode mode = PackedActMode::F32;
    bool fake = false;
  };
  PackedBackend(Backend& target, Backend& inner, ThreadPool* pool, const Options& o)
      : ForwardingBackend(inner), cpu_(target), pool_(pool), opt_(o) {}
  bool quantizesInputsOf(const Entry& e) const;
  // The device path's activation mode for e: the quantized mode when the backend has a kernel for
  // it with e's weights, else F32 (and e.fake when the inputs are quantized).
  void chooseDeviceMode(Entry& e) const;
  void chooseDeviceModes();
  float staticClip(const Entry& e) const;  // 0 when e has none (per-token ranges)
  void deviceMatmul(const Entry& e, const TensorView& x, const TensorView& y);
  // Uploads q's packed storage to the device backend; the device view, or why not.
  Result<PackedWeightsView> uploadPacked(const PackedWeightsView& host, Entry& e);
  bool int8Kernel(const Entry& e) const;  // int8 activations run the integer kernel for e

  Backend& cpu_;      // the target backend (named for its first use: the CPU)
  ThreadPool* pool_;  // the CPU backend's pool; null on a device backend
  Options opt_;
  Mode mode_ = Mode::Apply;
  std::map<std::string, float> clips_;
  std::vector<Entry> entries_;
  std::map<const void*, size_t> by_source_;  // host data of the model tensor -> entry
  std::map<const void*, size_t> by_device_;  // uploaded weight address -> entry
  std::vector<float> xcopy_;                 // (n, in) contiguous (and for fp8, fake-quantized) inputs
  std::vector<int8_t> xq_;                   // (n, in) int8 activation codes
  std::vector<float> xs_;                    // (n,) their scales
  std::unique_ptr<BackendActQuant> device_acts_;  // device backends: fake-quant of activations
  std::string error_;
  uint64_t clipped_ = 0, act_values_ = 0;
  bool fake_ran_ = false, inner_quantized_ = false;
};

}  // namespace precis
