// The CPU twins of the quantization lab's low-precision ops (engine/backend/lowp_ops.h), used by
// the CPU backend's overrides: the packed int8/int4 kernels of kernels/cpu/matmul_packed.h for
// matmulPacked and int8 lowpGemm, the shared per-element numerics (packed_quant.h, fp8.h) for
// activation quantize/dequantize, and fp8/f16 GEMMs as decode-to-f32 + OpenBLAS sgemm.
// Every function returns "" or the error (the backend keeps the first one in lastError()).
// Tested by tests/kernels/test_backend_lowp.cpp (every op vs a double-precision reference).
#pragma once
#include <string>

#include "engine/backend/backend.h"

namespace precis {

class ThreadPool;

namespace cpu_lowp {

std::string packedKernelName(const PackedWeightsView& w, PackedActMode a);
std::string matmulPacked(ThreadPool& pool, const PackedWeightsView& w, PackedActMode a,
                         float static_amax, const TensorView& x, const TensorView& y);
std::string lowpKernelName(LowpOp op, LowpType t);
std::string lowpUnsupportedReason(LowpOp op, LowpType t);
std::string quantizeActs(ThreadPool& pool, const ActQuantArgs& a);
std::string dequantizeActs(ThreadPool& pool, const ActDequantArgs& a);
std::string lowpGemm(ThreadPool& pool, const LowpGemmArgs& a);

}  // namespace cpu_lowp
}  // namespace precis
