// test_cuda_lowp_plan: the host-side decisions of the CUDA backend's low-precision ops
// (engine/backend/cuda/cuda_lowp_plan.h), checked on any machine, GPU or not: which packed-weight
// x activation-mode combinations have a kernel on sm_80 and on sm_90, the kernel names
// packedKernelName reports (what runs: fused table-decode / bit-decode GEMV, tiled GEMM, cuBLASLt
// int8 / fp8), the reasons matmulPacked gives when it refuses (int8 activations with nf4 / fp8 code
// books, FP8 W8A8 with group scales, e5m2 or integer weights, shapes and alignments cuBLASLt's fp8
// GEMM refuses, GPUs older than sm_89), and the code-book checks of lowp_checks::packedView. The
// kernels themselves are checked by test_backend_lowp on a GPU machine.
// Views here point into small host arrays: the plan reads pointers (alignment), never the data.
#include <QtTest>
#include <string>

#include "engine/backend/cuda/cuda_lowp_plan.h"

namespace precis {
namespace {

alignas(256) const uint8_t kCodes[64] = {};
alignas(256) const float kScales[16] = {};

// (rows, cols) weights of code book cb; group 0: tensor scale, -1: channel, N: group:N.
PackedWeightsView view(PackedCodebook cb, int64_t rows, int64_t cols, int64_t group, int bits = 0) {
  PackedWeightsView w;
  w.codebook = cb;
  w.bits = bits ? bits : (cb == PackedCodebook::Nf4 ? 4 : 8);
  w.rows = rows;
  w.cols = cols;
  w.group = group > 0 ? group : cols;
  w.scale_stride = group == 0 ? 0 : cols / w.group;
  w.code_stride = size_t(w.bits == 4 ? cols / 2 : cols);
  w.codes = kCodes;
  w.scales = kScales;
  return w;
}

std::string name(const PackedWeightsView& w, PackedActMode a, int major = 9, int minor = 0) {
  return cuda_lowp::packedKernelName(w, a, major, minor);
}

std::string why(const PackedWeightsView& w, PackedActMode a, int major = 9, int minor = 0) {
  return cuda_lowp::packedNoKernel(w, a, major, minor);
}

}  // namespace

class TestCudaLowpPlan : public QObject {
  Q_OBJECT
 private slots:
  // nf4 / fp8 weights with f32 activations run on every GPU: the fused GEMV where its shape
  // rules hold (else the tiled GEMM), named by how the codes are decoded.
  void codebooksWithF32Activations() {
    for (int cc : {80, 90}) {
      const int ma = cc / 10, mi = cc % 10;
      QCOMPARE(name(view(PackedCodebook::Nf4, 4096, 4096, 64), PackedActMode::F32, ma, mi),
               std::string("cuda nf4, group:64 scales x f32: fused table-decode gemv (n <= 8) / "
                           "tiled dequant gemm (n > 8)"));
      QCOMPARE(name(view(PackedCodebook::Fp8E4M3, 64, 256, -1), PackedActMode::F32, ma, mi),
               std::string("cuda fp8-e4m3, channel scales x f32: fused bit-decode gemv (n <= 8) / "
                           "tiled dequant gemm (n > 8)"));
      QCOMPARE(name(view(PackedCodebook::Fp8E5M2, 33, 128, 0), PackedActMode::F32, ma, mi),
               std::string("cuda fp8-e5m2, tensor scale x f32: fused bit-decode gemv (n <= 8) / "
                           "tiled dequant gemm (n > 8)"));
      // group:8 and rows of 72 inputs break the GEMV's 16-input chunks: tiled only
      QCOMPARE(name(view(PackedCodebook::Nf4, 40, 96, 8), PackedActMode::F32, ma, mi),
               std::string("cuda nf4, group:8 scales x f32: tiled dequant gemm"));
      QCOMPARE(name(view(PackedCodebook::Fp8E5M2, 33, 72, -1), PackedActMode::F32, ma, mi),
               std::string("cuda fp8-e5m2, channel scales x f32: tiled dequant gemm"));
      // the integer formats keep their names
      QCOMPARE(name(view(PackedCodebook::Int, 64, 256, 32, 4), PackedActMode::F32, ma, mi),
               std::string("cuda int4, group:32 scales x f32: fused dequant gemv (n <= 8) / "
                           "tiled dequant gemm (n > 8)"));
    }
  }

  // Table codes are not integers: no int8-activation kernel, with the reason.
  void codebooksWithInt8ActivationsAreRefused() {
    for (PackedCodebook cb :
         {PackedCodebook::Nf4, PackedCodebook::Fp8E4M3, PackedCodebook::Fp8E5M2})
      for (PackedActMode a : {PackedActMode::Int8Token, PackedActMode::Int8Static}) {
        const PackedWeightsView w = view(cb, 64, 256, -1);
        QCOMPARE(name(w, a), std::string());
        QVERIFY2(QString::fromStdString(why(w, a)).contains("not integers"), why(w, a).c_str());
      }
    // integer weights keep their int8 kernels
    QCOMPARE(name(view(PackedCodebook::Int, 64, 256, -1), PackedActMode::Int8Token),
             std::string("cuda int8 per-token act quantize + cublasLt int8 gemm (int32 "
                         "accumulate) + scale epilogue, int8, channel scales"));
    QCOMPARE(
        name(view(PackedCodebook::Int, 64, 256, 32, 4), PackedActMode::Int8Static),
        std::string("cuda int8 static act quantize + int4, group:32 scales x int8 int32 warp dot"));
  }

  // FP8 W8A8: fp8-e4m3 weights with a tensor or channel scale, shapes cuBLASLt's fp8 GEMM takes,
  // on sm_89 and newer.
  void fp8W8A8Runs() {
    for (int cc : {89, 90, 100}) {
      const int ma = cc / 10, mi = cc % 10;
      QCOMPARE(name(view(PackedCodebook::Fp8E4M3, 4096, 4096, -1), PackedActMode::Fp8Token, ma, mi),
               std::string("cuda fp8-e4m3 per-token act quantize + cublasLt fp8-e4m3 gemm (f32 "
                           "accumulate) + scale epilogue, fp8-e4m3, channel scales"));
      QCOMPARE(name(view(PackedCodebook::Fp8E4M3, 48, 128, 0), PackedActMode::Fp8Static, ma, mi),
               std::string("cuda fp8-e4m3 static act quantize + cublasLt fp8-e4m3 gemm (f32 "
                           "accumulate) + scale epilogue, fp8-e4m3, tensor scale"));
    }
  }

  // Everything else with fp8 activations has no kernel: "" and a reason naming the cause.
  void fp8W8A8RefusalsNameTheCause() {
    struct Case {
      PackedWeightsView w;
      int cc;
      const char* expect;
    };
    PackedWeightsView misaligned = view(PackedCodebook::Fp8E4M3, 64, 256, -1);
    misaligned.codes = kCodes + 8;
    PackedWeightsView long_rows = view(PackedCodebook::Fp8E4M3, 64, 256, -1);
    long_rows.code_stride = 264;
    const Case cases[] = {
        {view(PackedCodebook::Fp8E4M3, 64, 256, -1), 80, "sm_89"},
        {view(PackedCodebook::Fp8E4M3, 64, 256, -1), 86, "sm_86"},
        {view(PackedCodebook::Fp8E4M3, 64, 256, 32), 90, "group:32"},
        {view(PackedCodebook::Fp8E5M2, 64, 256, -1), 90, "fp8-e5m2"},
        {view(PackedCodebook::Int, 64, 256, -1), 90, "not int8"},
        {view(PackedCodebook::Int, 64, 256, 32, 4), 90, "not int4"},
        {view(PackedCodebook::Nf4, 64, 256, -1), 90, "not nf4"},
        {view(PackedCodebook::Fp8E4M3, 67, 128, -1), 90, "multiples of 16"},
        {view(PackedCodebook::Fp8E4M3, 64, 72, -1), 90, "multiples of 16"},
        {misaligned, 90, "16-byte aligned"},
        {long_rows, 90, "16-byte aligned"},
    };
    for (const Case& c : cases)
      for (PackedActMode a : {PackedActMode::Fp8Token, PackedActMode::Fp8Static}) {
        QCOMPARE(name(c.w, a, c.cc / 10, c.cc % 10), std::string());
        const QString reason = QString::fromStdString(why(c.w, a, c.cc / 10, c.cc % 10));
        QVERIFY2(reason.contains(c.expect), qPrintable(reason + " (expected: " + c.expect + ")"));
      }
    QCOMPARE(cuda_lt::fp8DeviceProblem(8, 9), std::string());
    QCOMPARE(cuda_lt::fp8DeviceProblem(12, 0), std::string());
    QVERIFY(!cuda_lt::fp8DeviceProblem(8, 6).empty());
  }

  // A code book with the wrong bit width or zero points is a bad view on every backend.
  void badCodebookViews() {
    PackedWeightsView nf4_8 = view(PackedCodebook::Nf4, 64, 256, -1, 8);
    QCOMPARE(lowp_checks::packedView(nf4_8), std::string("nf4 codes are 4-bit, not 8-bit"));
    QCOMPARE(name(nf4_8, PackedActMode::F32), std::string());
    PackedWeightsView fp8_4 = view(PackedCodebook::Fp8E4M3, 64, 256, -1, 4);
    QCOMPARE(lowp_checks::packedView(fp8_4), std::string("fp8-e4m3 codes are 8-bit, not 4-bit"));
    PackedWeightsView asym = view(PackedCodebook::Fp8E5M2, 64, 256, -1);
    asym.asym = true;
    asym.zeros = kCodes;
    QCOMPARE(lowp_checks::packedView(asym), std::string("fp8-e5m2 weights have no zero points"));
    QCOMPARE(name(asym, PackedActMode::F32), std::string());
  }
};

}  // namespace precis

QTEST_GUILESS_MAIN(precis::TestCudaLowpPlan)
#include "test_cuda_lowp_plan.moc"
