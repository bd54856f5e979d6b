// ForwardingBackend: a Backend that passes every call to an inner backend. The decorators that
// change one op (the quantization lab's PackedBackend, ActQuantBackend and CalibActBackend in
// engine/quant) derive from it and override only what they change.
// Tested through those decorators' suites (test_packed_backend, test_act_quant, test_calib_act).
#pragma once
#include <memory>
#include <string>

#include "engine/backend/backend.h"

namespace precis {

class ForwardingBackend : public Backend {
 public:
  explicit ForwardingBackend(Backend& inner) : inner_(inner) {}

  const DeviceInfo& device() const override { return inner_.device(); }
  bool supportsOp(Op op, DType t) const override { return inner_.supportsOp(op, t); }
  std::string kernelName(Op op, DType t) const override { return inner_.kernelName(op, t); }
  std::unique_ptr<Buffer> alloc(size_t bytes) override { return inner_.alloc(bytes); }
  void upload(Buffer& d, size_t o, const void* s, size_t b) override { inner_.upload(d, o, s, b); }
  void download(const Buffer& s, size_t o, void* d, size_t b) override { inner_.download(s, o, d, b); }
  void synchronize() override { inner_.synchronize(); }
  std::string lastError() const override { return inner_.lastError(); }
  void getRows(const TensorView& t, const TensorView& ids, const TensorView& out) override { inner_.getRows(t, ids, out); }
  void rmsNorm(const TensorView& x, const TensorView& w, float eps, const TensorView& y) override { inner_.rmsNorm(x, w, eps, y); }
  void matmul(const TensorView& w, const TensorView& x, const TensorView& y) override { inner_.matmul(w, x, y); }
  void rope(const TensorView& x, const TensorView& pos, int hd, float theta, RopeStyle s) override { inner_.rope(x, pos, hd, theta, s); }
  void storeRows(const TensorView& s, const TensorView& d, const TensorView& r) override { inner_.storeRows(s, d, r); }
  void attention(const TensorView& q, const TensorView& k, const TensorView& v, const TensorView& table,
                 const TensorView& seq, const TensorView& pos, const AttentionParams& p,
                 const TensorView& out) override {
    inner_.attention(q, k, v, table, seq, pos, p, out);
  }
  void siluMul(const TensorView& a, const TensorView& b) override { inner_.siluMul(a, b); }
  void add(const TensorView& y, const TensorView& x) override { inner_.add(y, x); }
  // quantization lab (engine/backend/lowp_ops.h)
  std::string packedKernelName(const PackedWeightsView& w, PackedActMode a) const override {
    return inner_.packedKernelName(w, a);
  }
  void matmulPacked(const PackedWeightsView& w, PackedActMode a, float amax, const TensorView& x,
                    const TensorView& y) override {
    inner_.matmulPacked(w, a, amax, x, y);
  }
  std::string lowpKernelName(LowpOp op, LowpType t) const override { return inner_.lowpKernelName(op, t); }
  std::string lowpUnsupportedReason(LowpOp op, LowpType t) const override {
    return inner_.lowpUnsupportedReason(op, t);
  }
  void quantizeActs(const ActQuantArgs& a) override { inner_.quantizeActs(a); }
  void dequantizeActs(const ActDequantArgs& a) override { inner_.dequantizeActs(a); }
  void lowpGemm(const LowpGemmArgs& a) override { inner_.lowpGemm(a); }

 protected:
  Backend& inner_;
};

}  // namespace precis
