// A stand-in device backend for tests: the CPU backend under another name (device().backend ==
// "stand-in"), so that the engine's device paths (packed weights uploaded through alloc/upload,
// the backend's own low-precision ops, activations read back with download) run on a machine
// without a GPU, on the CPU twins of the CUDA kernels. Counts the calls that only device paths make.
// Used by tests/kernels/test_packed_backend.cpp and tests/quant/test_device_act_quant.cpp.
#pragma once
#include "engine/backend/forwarding_backend.h"

namespace precis::test {

struct StandInDevice : ForwardingBackend {
  explicit StandInDevice(Backend& cpu) : ForwardingBackend(cpu) {
    info = cpu.device();
    info.backend = "stand-in";
  }
  const DeviceInfo& device() const override { return info; }
  void matmulPacked(const PackedWeightsView& w, PackedActMode a, float amax, const TensorView& x,
                    const TensorView& y) override {
    ++packed_calls;
    ForwardingBackend::matmulPacked(w, a, amax, x, y);
  }
  void quantizeActs(const ActQuantArgs& a) override {
    ++quantize_calls;
    ForwardingBackend::quantizeActs(a);
  }
  void download(const Buffer& src, size_t offset, void* dst, size_t bytes) override {
    ++downloads;
    ForwardingBackend::download(src, offset, dst, bytes);
  }
  DeviceInfo info;
  int packed_calls = 0, quantize_calls = 0, downloads = 0;
};

}  // namespace precis::test
