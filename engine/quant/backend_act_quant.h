// Activation fake-quant and observation on the backend that holds the activations (issue 3:
// activation quantization simulated on CUDA rather than refused). The quantization lab's
// decorators (ActQuantBackend, CalibActBackend, PackedBackend) fake-quantize matmul inputs on the
// host with fakeQuantizeRow when they wrap the CPU backend; over a device backend they use this:
//  - apply(): x (n, in) f32 in the backend's memory -> the backend's own quantizeActs then
//    dequantizeActs (engine/backend/lowp_ops.h; kernels/cuda/act_quant.cu on CUDA) into a
//    contiguous scratch (n, in) f32 of that backend: the same codes and values as fakeQuantizeRow
//    (int8ActScale / int8ActCode, fp8ActScale / fp8ActCode in packed_quant.h are its rule), one
//    scale per token, or one static range with saturation beyond it.
//  - download(): x copied to host floats (n * in, contiguous), for calibration and statistics,
//    which observe the values on the host exactly as on the CPU.
// Values clipped by a static range are not counted on a device (the CPU path counts them).
// Tested by tests/quant/test_device_act_quant.cpp (on a stand-in device backend that runs the
// CPU twins: equal to fakeQuantizeRow bit for bit; the decorators' device paths match the CPU).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "engine/backend/backend.h"
#include "engine/core/result.h"
#include "engine/quant/scheme.h"

namespace precis {

// A Buffer naming memory a backend already owns (rows of a TensorView the caller did not
// allocate), so that it can go through Backend::download / upload. Owns nothing.
class BorrowedBuffer final : public Buffer {
 public:
  BorrowedBuffer(void* data, size_t bytes) : data_(data), bytes_(bytes) {}
  void* data() override { return data_; }
  size_t size() const override { return bytes_; }

 private:
  void* data_;
  size_t bytes_;
};

// The low-precision code type of an activation format (int8 or fp8-e4m3).
LowpType actLowpType(ActFormat f);

class BackendActQuant {
 public:
  explicit BackendActQuant(Backend& be) : be_(be) {}
  // For a decorator over `be`: null over the CPU backend (its host path runs), else a
  // BackendActQuant on be, or an error starting with `what` when be cannot quantize to f.
  static Result<std::unique_ptr<BackendActQuant>> forDevice(Backend& be, ActFormat f, const std::string& what);

  // dequantize(quantize(x)) in this object's scratch (valid until the next apply), a contiguous
  // (n, in) f32 view of the backend's memory; static_amax > 0: one range for every token, else
  // each token's max |x|. On failure the view's data is null and error() says why.
  TensorView apply(ActFormat f, const TensorView& x, float static_amax);
  // x copied to the host, contiguous (valid until the next download); empty with error() set on failure.
  const std::vector<float>& download(const TensorView& x);
  // The kernels apply() runs ("cuda quantize f32 -> int8 ... + cuda dequantize int8 -> f32"),
  // or "" when the backend has none for f.
  std::string kernelName(ActFormat f) const;
  const std::string& error() const { return error_; }

 private:
  void* grow(std::unique_ptr<Buffer>& b, size_t bytes);
  Backend& be_;
  std::unique_ptr<Buffer> codes_, scales_, out_;  // (n, in) codes, (n,) scales, (n, in) f32
  std::vector<float> host_;
  std::string error_;
};

}  // namespace precis
