// test_backend_lowp: the conformance rows of the quantization lab's low-precision ops
// (engine/backend/lowp_ops.h; issue 3), the companion of test_backend_ops. Every row runs on every
// backend probeBackends() finds here (CPU twins always; CUDA rows skip without a GPU, and fail
// under PRECIS_REQUIRE_CUDA=1), with seeded random inputs, against a double-precision reference
// written below from the shared per-element numerics (kernels/common/packed_quant.h, fp8.h):
//  - matmul_packed: int8 / int4, symmetric and with zero points, tensor / channel / group scales;
//    f32 activations (W8A16, W4A16) and int8 activations per token and static (W8A8, W4A8); 1..8
//    tokens (the CUDA fused GEMV) and more (the tiled GEMM), aligned and unaligned rows.
//    Budget: |got - ref| <= 1e-6 + 1e-5 * sum_k |w_k x_k| (f32 sums in any order; the int8 rows'
//    codes are the shared numerics' own, so the reference uses exactly the same codes).
//  - matmul_packed with code books, f32 activations: nf4 (4-bit), fp8-e4m3 and fp8-e5m2 (8-bit,
//    every finite code incl. subnormals) x tensor / channel / group:8|32|64 scales, GEMV-shaped
//    (n <= 8, aligned: the CUDA fused GEMV) and tiled (n > 8, unaligned, padded, group:8). The
//    weight values are packedWeightValue (table[code] * scale, exact in f32), so the budget is the
//    f32-sum one above. The CPU must run every one of these rows (its kernels exist). Four rows
//    plant NaN (and e5m2 +-inf) codes: those outputs must be NaN / the same infinity as the
//    reference's (the CUDA GEMV's exact-decode branch), the other outputs within budget.
//  - matmul_packed FP8 W8A8: fp8-e4m3 weights x fp8-e4m3 activations per token and static.
//    Reference: sum_k decode(w_k) * decode(q_k) in double (q: the shared numerics' fp8ActCode of
//    x, the very codes the backends make), times w_scale * x_scale. Budget per fp8 product sum:
//    1e-6 + kFp8SumRel * sum_k |decode(w_k) decode(q_k)| (times the scales). The products are exact
//    in f32 (4 + 4 significant bits), but fp8 tensor-core MMAs (sm_89 / sm_90) accumulate with
//    fewer bits than f32 before cuBLASLt adds their partial sums in f32 (about 14 bits reported
//    for H800 in the DeepSeek-V3 report), hence 1e-4 (~2^-13) rather than f32's 1e-5. Only CUDA
//    sm_89+ has a kernel (the CPU names none: the caller simulates); group scales, e5m2 or int
//    weights, and shapes cuBLASLt refuses have none anywhere.
//  Rows a backend names no kernel for (packedKernelName == "") must be refused by matmulPacked
//  with an error; that error is the skip's reason in the log (a silent no-op fails the row).
//  - quantize_acts (int8 / fp8-e4m3, per token and static): codes and scales bit-exact.
//  - dequantize_acts: bit-exact (one fp32 multiply).
//  - lowp_gemm: int8 (exact int32 sums, then rounded multiplies: 1e-6 * sum |x w| * scales, as
//    the CPU twin adds its 32-input chunk sums in f32), f16 (exact products, f32 sums: 1e-5 *
//    sum |x w| * scales), fp8-e4m3 (the same GEMM as FP8 W8A8 above: kFp8SumRel); shapes that
//    cuBLASLt takes and shapes it does not.
// A backend without a kernel for a row says so (an empty kernel name, with the reason) and the row
// is skipped with that reason: e.g. the fp8 GEMM on a GPU older than sm_89.
// The worst error is printed as a fraction of the budget; padding of strided outputs must stay.
#include <QtTest>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine/backend/backend.h"
#include "engine/backend/registry.h"
#include "backend_slots.h"
#include "kernels/common/fp8.h"
#include "kernels/common/packed_quant.h"

namespace precis {
namespace {

constexpr uint32_t kSeed = 20261126u;
constexpr float kSentinel = 1234.5f;
// Relative budget of sums of fp8-e4m3 products on tensor cores (see the header).
constexpr double kFp8SumRel = 1e-4;

enum class Kind { Packed, Quantize, Dequantize, Gemm };

struct Row {
  std::string name;
  Kind kind = Kind::Packed;
  int bits = 8;
  PackedCodebook codebook = PackedCodebook::Int;
  bool asym = false;
  bool cpu_must_run = false;  // the CPU has a kernel: a skip there fails the row
  bool specials = false;      // fp8 weights with NaN (and e5m2 +-inf) codes in rows 1, 3, 5
  int64_t group = 0;  // 0: tensor scale, -1: channel, N: group:N
  PackedActMode act = PackedActMode::F32;
  LowpType type = LowpType::Int8;
  bool static_range = false;
  bool per_channel = true;   // lowp_gemm weight scales
  bool null_scales = false;  // lowp_gemm without scales
  int64_t n = 1, out = 0, in = 0;
  int pad = 0;  // extra elements per activation / output row (strided views)
};

std::vector<Row> buildRows() {
  std::vector<Row> rows;
  struct Shape {
    int64_t n, out, in;
    int pad;
  };
  // in = 2048 and 1040 give every lane of the CUDA GEMV several 16-input chunks (1040: 65 chunks)
  const Shape shapes[] = {{1, 67, 128, 0}, {3, 64, 256, 0}, {8, 36, 64, 0}, {17, 40, 96, 3}, {2, 33, 72, 1},
                          {1, 24, 2048, 0}, {5, 20, 1040, 0}};
  auto groupName = [](int64_t group) {
    return group == 0  ? std::string("tensor")
           : group < 0 ? std::string("channel")
                       : "group:" + std::to_string(group);
  };
  auto codebookName = [](PackedCodebook cb) {
    return cb == PackedCodebook::Nf4       ? "nf4"
           : cb == PackedCodebook::Fp8E4M3 ? "fp8-e4m3"
           : cb == PackedCodebook::Fp8E5M2 ? "fp8-e5m2"
                                           : "int8";
  };
  // A matmul_packed row; integer code books take bits and asym (others: their own width).
  auto packedRow = [&](PackedCodebook cb, int64_t group, PackedActMode act, const Shape& s,
                       int bits = 8, bool asym = false) {
    Row r;
    r.kind = Kind::Packed;
    r.codebook = cb;
    r.bits = cb == PackedCodebook::Int ? bits : cb == PackedCodebook::Nf4 ? 4 : 8;
    r.asym = asym;
    r.group = group;
    r.act = act;
    r.n = s.n;
    r.out = s.out;
    r.in = s.in;
    r.pad = s.pad;
    const std::string weights = cb != PackedCodebook::Int ? std::string(codebookName(cb))
                                : std::string(r.bits == 8 ? "int8" : "int4") + (asym ? "-asym" : "");
    r.name = "matmul_packed/" + weights + " " + groupName(group) + " " +
             packedActModeName(act) + " n=" + std::to_string(s.n) +
             " out=" + std::to_string(s.out) + " in=" + std::to_string(s.in) +
             (s.pad ? " padded" : "");
    return r;
  };
  for (int bits : {8, 4})
    for (bool asym : {false, true})
      for (int64_t group : {int64_t(0), int64_t(-1), int64_t(32), int64_t(8)})
        for (PackedActMode act :
             {PackedActMode::F32, PackedActMode::Int8Token, PackedActMode::Int8Static})
          for (const Shape& s : shapes) {
            if (group > 0 && s.in % group != 0) continue;
            rows.push_back(packedRow(PackedCodebook::Int, group, act, s, bits, asym));
          }
  // Code books x f32 activations: the shapes above (GEMV-shaped and tiled) plus a tiled n = 12.
  for (PackedCodebook cb : {PackedCodebook::Nf4, PackedCodebook::Fp8E4M3, PackedCodebook::Fp8E5M2})
    for (int64_t group : {int64_t(0), int64_t(-1), int64_t(64), int64_t(32), int64_t(8)})
      for (const Shape& s : {shapes[0], shapes[1], shapes[2], shapes[3], shapes[4], shapes[5],
                             shapes[6], Shape{12, 80, 192, 0}}) {
        if (group > 0 && s.in % group != 0) continue;
        Row r = packedRow(cb, group, PackedActMode::F32, s);
        r.cpu_must_run = true;
        rows.push_back(r);
      }
  // FP8 W8A8: cuBLASLt-shaped (in, out multiples of 16; aligned and padded outputs; a GEMV-shaped
  // n = 1) and shapes or scales it refuses (out = 67, group:32), which every backend must refuse.
  for (PackedActMode act : {PackedActMode::Fp8Token, PackedActMode::Fp8Static})
    for (int64_t group : {int64_t(0), int64_t(-1), int64_t(32)})
      for (const Shape& s : {Shape{3, 64, 256, 0}, Shape{17, 48, 128, 3}, Shape{64, 96, 256, 0},
                             Shape{1, 32, 2048, 0}, Shape{8, 16, 64, 4}, Shape{1, 67, 128, 0}})
        rows.push_back(packedRow(PackedCodebook::Fp8E4M3, group, act, s));
  // fp8 weights holding NaN / inf codes (the CUDA GEMV's exact-decode branch; the tiled GEMM):
  // those rows' outputs must be NaN / the same infinity, every other row within budget.
  for (PackedCodebook cb : {PackedCodebook::Fp8E4M3, PackedCodebook::Fp8E5M2})
    for (const Shape& s : {Shape{3, 64, 256, 0}, Shape{17, 40, 96, 3}}) {
      Row r = packedRow(cb, -1, PackedActMode::F32, s);
      r.specials = true;
      r.cpu_must_run = true;
      r.name += " nan/inf codes";
      rows.push_back(r);
    }
  // Combinations with no kernel anywhere: refused with the reason.
  rows.push_back(
      packedRow(PackedCodebook::Fp8E5M2, -1, PackedActMode::Fp8Token, Shape{3, 64, 256, 0}));
  rows.push_back(packedRow(PackedCodebook::Int, -1, PackedActMode::Fp8Token, Shape{3, 64, 256, 0}));
  rows.push_back(
      packedRow(PackedCodebook::Nf4, 32, PackedActMode::Int8Token, Shape{3, 64, 256, 0}));
  rows.push_back(
      packedRow(PackedCodebook::Fp8E4M3, -1, PackedActMode::Int8Static, Shape{3, 64, 256, 0}));

  for (LowpType t : {LowpType::Int8, LowpType::Fp8E4M3})
    for (bool st : {false, true})
      for (const Shape& s : {Shape{5, 0, 100, 0}, Shape{3, 0, 1000, 2}, Shape{1, 0, 4096, 0}}) {
        Row q;
        q.kind = Kind::Quantize;
        q.type = t;
        q.static_range = st;
        q.n = s.n;
        q.in = s.in;
        q.pad = s.pad;
        q.name = std::string("quantize_acts/") + lowpTypeName(t) + (st ? " static" : " per-token") +
                 " n=" + std::to_string(s.n) + " cols=" + std::to_string(s.in) +
                 (s.pad ? " padded" : "");
        rows.push_back(q);
        if (st) continue;
        Row d = q;
        d.kind = Kind::Dequantize;
        d.name = std::string("dequantize_acts/") + lowpTypeName(t) + " n=" + std::to_string(s.n) +
                 " cols=" + std::to_string(s.in) + (s.pad ? " padded" : "");
        rows.push_back(d);
      }
  for (LowpType t : {LowpType::Int8, LowpType::Fp8E4M3, LowpType::F16})
    for (const Shape& s : {Shape{16, 64, 128, 0}, Shape{5, 30, 50, 1}, Shape{64, 96, 256, 0}})
      for (int variant = 0; variant < 3; ++variant) {
        Row g;
        g.kind = Kind::Gemm;
        g.type = t;
        g.n = s.n;
        g.out = s.out;
        g.in = s.in;
        g.pad = s.pad;
        g.per_channel = variant == 0;
        g.null_scales = variant == 2;
        g.name = std::string("lowp_gemm/") + lowpTypeName(t) + " n=" + std::to_string(s.n) +
                 " out=" + std::to_string(s.out) + " in=" + std::to_string(s.in) +
                 (s.pad ? " padded" : "") +
                 (variant == 0   ? " channel scales"
                  : variant == 1 ? " tensor scale"
                                 : " no scales");
        rows.push_back(g);
      }
  return rows;
}

// ---- device memory helpers ----

struct Dev {
  std::unique_ptr<Buffer> buf;
  void* ptr() const { return buf ? buf->data() : nullptr; }
};

Dev put(Backend& be, const void* data, size_t bytes) {
  Dev d;
  d.buf = be.alloc(std::max<size_t>(bytes, 1));
  if (d.buf && bytes) be.upload(*d.buf, 0, data, bytes);
  return d;
}
template <class T>
Dev put(Backend& be, const std::vector<T>& v) {
  return put(be, v.data(), v.size() * sizeof(T));
}
template <class T>
std::vector<T> get(Backend& be, const Dev& d, size_t count) {
  std::vector<T> v(count);
  if (count) be.download(*d.buf, 0, v.data(), count * sizeof(T));
  return v;
}

// (rows, cols) f32 with `pad` sentinel elements after each row.
std::vector<float> padded(const std::vector<float>& x, int64_t rows, int64_t cols, int pad) {
  std::vector<float> p(size_t(rows * (cols + pad)), kSentinel);
  for (int64_t r = 0; r < rows; ++r)
    std::copy_n(&x[size_t(r * cols)], cols, &p[size_t(r * (cols + pad))]);
  return p;
}

// Compared values: got vs ref within budget; padding checked separately.
struct Outcome {
  std::vector<double> got, ref, budget;
  bool pad_ok = true;
  std::string skip;     // the backend has no kernel: why (its matmulPacked error for packed rows)
  bool silent = false;  // no kernel named, yet the op reported no error
};

// Host packed weights with random codes, scales and zero points.
struct HostPacked {
  std::vector<uint8_t> codes, zeros;
  std::vector<float> scales;
  PackedWeightsView view;
};

HostPacked makePacked(const Row& r, std::mt19937& rng) {
  HostPacked h;
  PackedWeightsView& v = h.view;
  v.bits = r.bits;
  v.codebook = r.codebook;
  v.asym = r.asym;
  v.rows = r.out;
  v.cols = r.in;
  v.group = r.group > 0 ? r.group : r.in;
  v.scale_stride = r.group == 0 ? 0 : r.in / v.group;
  v.code_stride = size_t(r.bits == 8 ? r.in : r.in / 2);
  h.codes.resize(v.code_stride * size_t(r.out));
  std::uniform_int_distribution<int> byte(0, 255);
  for (uint8_t& c : h.codes) c = uint8_t(byte(rng));
  const bool table = r.codebook != PackedCodebook::Int;
  if (r.codebook == PackedCodebook::Fp8E4M3 || r.codebook == PackedCodebook::Fp8E5M2)
    for (uint8_t& c : h.codes)  // every finite code (subnormals and -0 too), no NaN / inf
      while (!std::isfinite(packedTableValue(r.codebook, c))) c = uint8_t(byte(rng));
  if (r.specials) {  // they must come out as NaN / +-inf in their rows, exactly as decoded
    const bool e5 = r.codebook == PackedCodebook::Fp8E5M2;
    h.codes[1 * v.code_stride + 5] = e5 ? 0x7c : 0x7f;    // +inf / NaN
    h.codes[3 * v.code_stride + 17] = e5 ? 0xfc : 0xff;   // -inf / -NaN
    h.codes[5 * v.code_stride + 40] = e5 ? 0x7e : 0x7f;   // NaN
  }
  if (r.bits == 8 && !r.asym && !table)
    for (uint8_t& c : h.codes)
      if (c == 0x80) c = 0x81;  // symmetric int8 never stores -128
  if (r.bits == 4 && !r.asym && !table)
    for (size_t i = 0; i < h.codes.size();
         ++i) {  // symmetric int4 stores code + 8 with code in [-7, 7]
      const int lo = std::max(1, h.codes[i] & 15), hi = std::max(1, h.codes[i] >> 4);
      h.codes[i] = uint8_t(lo | (hi << 4));
    }
  const size_t ns = r.group == 0 ? 1 : size_t(r.out * v.scale_stride);
  std::uniform_real_distribution<float> sd(0.001f, 0.02f);
  h.scales.resize(ns);
  for (float& s : h.scales) s = sd(rng);
  if (r.asym) {
    std::uniform_int_distribution<int> zd(0, r.bits == 8 ? 255 : 15);
    h.zeros.resize(ns);
    for (uint8_t& z : h.zeros) z = uint8_t(zd(rng));
  }
  v.codes = h.codes.data();
  v.scales = h.scales.data();
  v.zeros = r.asym ? h.zeros.data() : nullptr;
  return h;
}

std::vector<float> randomActs(int64_t n, int64_t cols, std::mt19937& rng) {
  std::normal_distribution<float> nd(0.f, 1.f);
  std::vector<float> x(size_t(n * cols));
  for (float& v : x) v = nd(rng);
  return x;
}

// Host twin of quantizeActs (shared numerics): codes (n, cols) and scales (n,).
void hostQuantize(LowpType t, const std::vector<float>& x, int64_t n, int64_t cols,
                  float static_amax, std::vector<uint8_t>* q, std::vector<float>* s) {
  q->assign(size_t(n * cols), 0);
  s->assign(size_t(n), 0.f);
  for (int64_t r = 0; r < n; ++r) {
    float amax = static_amax;
    if (!(amax > 0))
      for (int64_t k = 0; k < cols; ++k) amax = std::max(amax, std::fabs(x[size_t(r * cols + k)]));
    const float sc = t == LowpType::Int8 ? int8ActScale(amax) : fp8ActScale(amax),
                inv = int8ActInv(sc);
    for (int64_t k = 0; k < cols; ++k) {
      const float v = x[size_t(r * cols + k)];
      (*q)[size_t(r * cols + k)] =
          t == LowpType::Int8 ? uint8_t(int8ActCode(v, inv)) : fp8ActCode(v, inv);
    }
    (*s)[size_t(r)] = sc;
  }
}

Outcome runPacked(Backend& be, const Row& r, std::mt19937& rng) {
  Outcome o;
  HostPacked h = makePacked(r, rng);
  const std::vector<float> x = randomActs(r.n, r.in, rng);
  float static_amax = 0;
  if (packedActStatic(r.act)) {
    for (float v : x) static_amax = std::max(static_amax, std::fabs(v));
    static_amax *= 0.6f;  // some inputs clip
  }
  Dev dc = put(be, h.codes), ds = put(be, h.scales), dz = put(be, h.zeros);
  PackedWeightsView dv = h.view;
  dv.codes = static_cast<const uint8_t*>(dc.ptr());
  dv.scales = static_cast<const float*>(ds.ptr());
  dv.zeros = r.asym ? static_cast<const uint8_t*>(dz.ptr()) : nullptr;
  Dev dx = put(be, padded(x, r.n, r.in, r.pad));
  const std::vector<float> yinit(size_t(r.n * (r.out + r.pad)), kSentinel);
  Dev dy = put(be, yinit);
  const TensorView xv{dx.ptr(), DType::F32, r.n, r.in, size_t(r.in + r.pad) * 4};
  const TensorView yv{dy.ptr(), DType::F32, r.n, r.out, size_t(r.out + r.pad) * 4};
  const bool named = !be.packedKernelName(dv, r.act).empty();
  be.matmulPacked(dv, r.act, static_amax, xv, yv);
  be.synchronize();
  if (!named) {  // no kernel: the op must refuse and say why, never do nothing silently
    o.skip = be.lastError();
    o.silent = o.skip.empty();
    return o;
  }
  if (!be.lastError().empty()) return o;
  const std::vector<float> y = get<float>(be, dy, yinit.size());
  // reference: the activations the kernel sees (f32, or the shared numerics' int8 / fp8 codes);
  // fp8 rows multiply decoded codes and apply both scales after the sum, as the kernel does
  const bool fp8 = packedActFp8(r.act);
  std::vector<double> xa(x.begin(), x.end()), xscale(size_t(r.n), 1.0);
  if (r.act != PackedActMode::F32) {
    std::vector<uint8_t> q;
    std::vector<float> s;
    hostQuantize(fp8 ? LowpType::Fp8E4M3 : LowpType::Int8, x, r.n, r.in, static_amax, &q, &s);
    for (size_t i = 0; i < xa.size(); ++i)
      xa[i] =
          fp8 ? double(fp8E4M3ToFp32(q[i])) : double(int8_t(q[i])) * double(s[i / size_t(r.in)]);
    if (fp8)
      for (int64_t t = 0; t < r.n; ++t) xscale[size_t(t)] = s[size_t(t)];
  }
  for (int64_t t = 0; t < r.n; ++t)
    for (int64_t o2 = 0; o2 < r.out; ++o2) {
      double sum = 0, sabs = 0;
      for (int64_t k = 0; k < r.in; ++k) {
        const double wk = fp8 ? double(packedTableValue(r.codebook, packedRawCode(h.view, o2, k)))
                              : double(packedWeightValue(h.view, o2, k));
        const double p = wk * xa[size_t(t * r.in + k)];
        sum += p;
        sabs += std::fabs(p);
      }
      // fp8: one scale per row or tensor (FP8 W8A8 takes no groups)
      const double sc = fp8 ? double(packedScale(h.view, o2, 0)) * xscale[size_t(t)] : 1.0;
      o.got.push_back(y[size_t(t * (r.out + r.pad) + o2)]);
      o.ref.push_back(sum * sc);
      o.budget.push_back(fp8 ? (1e-6 + kFp8SumRel * sabs) * sc : 1e-6 + 1e-5 * sabs);
    }
  for (int64_t t = 0; t < r.n; ++t)
    for (int p = 0; p < r.pad; ++p)
      o.pad_ok &= y[size_t(t * (r.out + r.pad) + r.out + p)] == kSentinel;
  return o;
}

Outcome runQuantize(Backend& be, const Row& r, std::mt19937& rng) {
  Outcome o;
  if (be.lowpKernelName(LowpOp::QuantizeActs, r.type).empty()) {
    o.skip = be.lowpUnsupportedReason(LowpOp::QuantizeActs, r.type);
    return o;
  }
  std::vector<float> x = randomActs(r.n, r.in, rng);
  x[0] = 0.f;
  if (r.in > 3) x[3] = -x[2];  // a tie of magnitudes
  float static_amax = 0;
  if (r.static_range) static_amax = 1.5f;  // normal inputs beyond 1.5 saturate
  const size_t q_stride = size_t(r.in + 4 * r.pad);
  Dev dx = put(be, padded(x, r.n, r.in, r.pad));
  Dev dq = put(be, std::vector<uint8_t>(q_stride * size_t(r.n), 0xAB));
  Dev ds = put(be, std::vector<float>(size_t(r.n), 0.f));
  ActQuantArgs a;
  a.type = r.type;
  a.x = static_cast<const float*>(dx.ptr());
  a.x_stride = size_t(r.in + r.pad) * 4;
  a.q = dq.ptr();
  a.q_stride = q_stride;
  a.scales = static_cast<float*>(ds.ptr());
  a.n = r.n;
  a.cols = r.in;
  a.static_amax = static_amax;
  be.quantizeActs(a);
  be.synchronize();
  if (!be.lastError().empty()) return o;
  const std::vector<uint8_t> q = get<uint8_t>(be, dq, q_stride * size_t(r.n));
  const std::vector<float> s = get<float>(be, ds, size_t(r.n));
  std::vector<uint8_t> rq;
  std::vector<float> rs;
  hostQuantize(r.type, x, r.n, r.in, static_amax, &rq, &rs);
  for (int64_t t = 0; t < r.n; ++t) {  // exact: codes compared as integers, scales as floats
    for (int64_t k = 0; k < r.in; ++k) {
      o.got.push_back(q[size_t(t) * q_stride + size_t(k)]);
      o.ref.push_back(rq[size_t(t * r.in + k)]);
      o.budget.push_back(0);
    }
    for (size_t p = size_t(r.in); p < q_stride; ++p)
      o.pad_ok &= q[size_t(t) * q_stride + p] == 0xAB;
    o.got.push_back(s[size_t(t)]);
    o.ref.push_back(rs[size_t(t)]);
    o.budget.push_back(0);
  }
  return o;
}

Outcome runDequantize(Backend& be, const Row& r, std::mt19937& rng) {
  Outcome o;
  if (be.lowpKernelName(LowpOp::DequantizeActs, r.type).empty()) {
    o.skip = be.lowpUnsupportedReason(LowpOp::DequantizeActs, r.type);
    return o;
  }
  std::uniform_int_distribution<int> byte(0, 255);
  std::vector<uint8_t> q(size_t(r.n * r.in));
  for (uint8_t& c : q) {
    c = uint8_t(byte(rng));
    if (r.type == LowpType::Fp8E4M3 && (c & 0x7f) == 0x7f) c = 0x7e;  // no NaN codes
  }
  std::uniform_real_distribution<float> sd(0.001f, 0.1f);
  std::vector<float> s(size_t(r.n));
  for (float& v : s) v = sd(rng);
  Dev dq = put(be, q), ds = put(be, s);
  const std::vector<float> yinit(size_t(r.n * (r.in + r.pad)), kSentinel);
  Dev dy = put(be, yinit);
  ActDequantArgs a;
  a.type = r.type;
  a.q = dq.ptr();
  a.q_stride = size_t(r.in);
  a.scales = static_cast<const float*>(ds.ptr());
  a.y = static_cast<float*>(dy.ptr());
  a.y_stride = size_t(r.in + r.pad) * 4;
  a.n = r.n;
  a.cols = r.in;
  be.dequantizeActs(a);
  be.synchronize();
  if (!be.lastError().empty()) return o;
  const std::vector<float> y = get<float>(be, dy, yinit.size());
  for (int64_t t = 0; t < r.n; ++t) {
    for (int64_t k = 0; k < r.in; ++k) {
      const uint8_t c = q[size_t(t * r.in + k)];
      const float v = r.type == LowpType::Int8 ? float(int8_t(c)) : fp8E4M3ToFp32(c);
      o.got.push_back(y[size_t(t * (r.in + r.pad) + k)]);
      o.ref.push_back(mulRn(v, s[size_t(t)]));
      o.budget.push_back(0);
    }
    for (int p = 0; p < r.pad; ++p)
      o.pad_ok &= y[size_t(t * (r.in + r.pad) + r.in + p)] == kSentinel;
  }
  return o;
}

// Random codes of t: int8 in [-127, 127], fp8 finite, f16 of N(0, 1).
std::vector<uint8_t> randomCodes(LowpType t, int64_t count, std::mt19937& rng,
                                 std::vector<double>* values) {
  std::vector<uint8_t> bytes(size_t(count) * lowpTypeBytes(t));
  values->resize(size_t(count));
  std::uniform_int_distribution<int> i8(-127, 127);
  std::normal_distribution<float> nd(0.f, 1.f);
  for (int64_t i = 0; i < count; ++i) {
    if (t == LowpType::Int8) {
      const int v = i8(rng);
      bytes[size_t(i)] = uint8_t(int8_t(v));
      (*values)[size_t(i)] = v;
    } else if (t == LowpType::Fp8E4M3) {
      const uint8_t c = fp32ToFp8E4M3(nd(rng) * 8.f, true);
      bytes[size_t(i)] = c;
      (*values)[size_t(i)] = fp8E4M3ToFp32(c);
    } else {
      const uint16_t h = fp32ToFp16(nd(rng));
      std::memcpy(&bytes[size_t(2 * i)], &h, 2);
      (*values)[size_t(i)] = fp16ToFp32(h);
    }
  }
  return bytes;
}

Outcome runGemm(Backend& be, const Row& r, std::mt19937& rng) {
  Outcome o;
  if (be.lowpKernelName(LowpOp::Gemm, r.type).empty()) {
    o.skip = be.lowpUnsupportedReason(LowpOp::Gemm, r.type);
    return o;
  }
  std::vector<double> wv, xv;
  const std::vector<uint8_t> w = randomCodes(r.type, r.out * r.in, rng, &wv);
  const std::vector<uint8_t> x = randomCodes(r.type, r.n * r.in, rng, &xv);
  std::uniform_real_distribution<float> sd(0.001f, 0.05f);
  std::vector<float> ws(size_t(r.per_channel ? r.out : 1)), xs(size_t(r.n));
  for (float& v : ws) v = sd(rng);
  for (float& v : xs) v = sd(rng);
  Dev dw = put(be, w), dx = put(be, x), dws = put(be, ws), dxs = put(be, xs);
  const std::vector<float> yinit(size_t(r.n * (r.out + r.pad)), kSentinel);
  Dev dy = put(be, yinit);
  LowpGemmArgs a;
  a.type = r.type;
  a.w = dw.ptr();
  a.w_stride = size_t(r.in) * lowpTypeBytes(r.type);
  a.w_scales = r.null_scales ? nullptr : static_cast<const float*>(dws.ptr());
  a.w_per_channel = r.per_channel;
  a.x = dx.ptr();
  a.x_stride = a.w_stride;
  a.x_scales = r.null_scales ? nullptr : static_cast<const float*>(dxs.ptr());
  a.y = static_cast<float*>(dy.ptr());
  a.y_stride = size_t(r.out + r.pad) * 4;
  a.n = r.n;
  a.out = r.out;
  a.in = r.in;
  be.lowpGemm(a);
  be.synchronize();
  if (!be.lastError().empty()) return o;
  const std::vector<float> y = get<float>(be, dy, yinit.size());
  for (int64_t t = 0; t < r.n; ++t) {
    for (int64_t o2 = 0; o2 < r.out; ++o2) {
      double sum = 0, sabs = 0;
      for (int64_t k = 0; k < r.in; ++k) {
        const double p = wv[size_t(o2 * r.in + k)] * xv[size_t(t * r.in + k)];
        sum += p;
        sabs += std::fabs(p);
      }
      const double sc =
          r.null_scales ? 1.0 : double(ws[size_t(r.per_channel ? o2 : 0)]) * xs[size_t(t)];
      o.got.push_back(y[size_t(t * (r.out + r.pad) + o2)]);
      o.ref.push_back(sum * sc);
      // int8: exact int32 sums (per 16/32-input chunk on the CPU, whose chunk sums are then added
      // in f32 after scaling), then rounded multiplies; fp8/f16: f32 sums of exact products
      o.budget.push_back(r.type == LowpType::Int8      ? 1e-6 * sabs * sc
                         : r.type == LowpType::Fp8E4M3 ? (kFp8SumRel * sabs + 1e-6) * sc
                                                       : (1e-5 * sabs + 1e-6) * sc);
    }
    for (int p = 0; p < r.pad; ++p)
      o.pad_ok &= y[size_t(t * (r.out + r.pad) + r.out + p)] == kSentinel;
  }
  return o;
}

}  // namespace

class TestBackendLowp : public QObject {
  Q_OBJECT
  std::vector<Row> rows_ = buildRows();
  std::map<std::string, test::BackendSlot> backends_;

 private slots:
  void initTestCase() {
    backends_ = test::openBackendSlots();
    QVERIFY2(backends_.count("cpu") && backends_["cpu"].backend,
             "the CPU backend must always exist");
  }

  void ops_data() {
    QTest::addColumn<QString>("backend");
    QTest::addColumn<int>("index");
    for (const char* name : {"cpu", "cuda"})
      for (size_t i = 0; i < rows_.size(); ++i)
        QTest::newRow(
            qPrintable(QString("%1: %2").arg(name, QString::fromStdString(rows_[i].name))))
            << QString(name) << int(i);
  }

  void ops() {
    QFETCH(QString, backend);
    QFETCH(int, index);
    const Row& r = rows_[size_t(index)];
    QString skip, fail;
    Backend* bp = test::rowBackend(backends_, backend, &skip, &fail);
    if (!fail.isEmpty()) QFAIL(qPrintable(fail));
    if (!bp) QSKIP(qPrintable(skip));
    Backend& be = *bp;
    const uint32_t seed = kSeed + uint32_t(index) * 7919u;
    std::mt19937 rng(seed);
    Outcome o;
    switch (r.kind) {
      case Kind::Packed:
        o = runPacked(be, r, rng);
        break;
      case Kind::Quantize:
        o = runQuantize(be, r, rng);
        break;
      case Kind::Dequantize:
        o = runDequantize(be, r, rng);
        break;
      case Kind::Gemm:
        o = runGemm(be, r, rng);
        break;
    }
    if (o.silent)
      QFAIL(qPrintable(backend + " names no kernel for " + QString::fromStdString(r.name) +
                       ", yet matmulPacked reported no error"));
    if (!o.skip.empty()) {
      if (r.cpu_must_run && backend == "cpu")
        QFAIL(qPrintable("the CPU must run " + QString::fromStdString(r.name) + ": " +
                         QString::fromStdString(o.skip)));
      QSKIP(qPrintable(backend + ": " + QString::fromStdString(o.skip)));
    }
    QVERIFY2(be.lastError().empty(), qPrintable(QString("seed %1: backend error: %2")
                                                    .arg(seed)
                                                    .arg(QString::fromStdString(be.lastError()))));
    QVERIFY2(
        o.pad_ok,
        qPrintable(QString("seed %1: the op wrote into the padding of a strided view").arg(seed)));
    QVERIFY(!o.got.empty());
    double worst = 0;
    size_t wi = 0;
    for (size_t i = 0; i < o.got.size(); ++i) {
      const double err = std::fabs(o.got[i] - o.ref[i]);
      double frac = o.budget[i] > 0 ? err / o.budget[i] : (err == 0 ? 0 : INFINITY);
      if (!std::isfinite(o.got[i]) || !std::isfinite(o.ref[i]))  // NaN <-> NaN, inf <-> same inf
        frac = (std::isnan(o.got[i]) && std::isnan(o.ref[i])) || o.got[i] == o.ref[i] ? 0 : INFINITY;
      if (frac > worst) {
        worst = frac;
        wi = i;
      }
    }
    const QString detail =
        QString("%1 on %2: worst error %3 of the budget at element %4 (got %5, ref %6); seed %7")
            .arg(QString::fromStdString(r.name), backend)
            .arg(worst, 0, 'g', 3)
            .arg(wi)
            .arg(o.got[wi], 0, 'g', 9)
            .arg(o.ref[wi], 0, 'g', 9)
            .arg(seed);
    if (qEnvironmentVariableIsSet("PRECIS_TEST_VERBOSE")) qInfo("%s", qPrintable(detail));
    QVERIFY2(worst <= 1.0, qPrintable(detail));
  }

  // Bad arguments are errors that name the op, never silent no-ops (every backend).
  void badArgumentsAreReported() {
    for (auto& [name, slot] : backends_) {
      if (!slot.backend) continue;
      auto fresh = createBackend(name);
      QVERIFY(fresh.ok());
      Backend& be = *fresh.value();
      std::vector<uint8_t> codes(64 * 10, 1);
      std::vector<float> scales(10, 0.01f);
      Dev dc = put(be, codes), ds = put(be, scales), dx = put(be, std::vector<float>(3 * 60, 1.f)),
          dy = put(be, std::vector<float>(3 * 10, 0.f));
      PackedWeightsView w;
      w.bits = 8;
      w.rows = 10;
      w.cols = 64;
      w.group = 64;
      w.scale_stride = 1;
      w.code_stride = 64;
      w.codes = static_cast<const uint8_t*>(dc.ptr());
      w.scales = static_cast<const float*>(ds.ptr());
      // x has 60 columns, w 64: a shape mismatch
      be.matmulPacked(w, PackedActMode::F32, 0.f, TensorView{dx.ptr(), DType::F32, 3, 60, 240},
                      TensorView{dy.ptr(), DType::F32, 3, 10, 40});
      be.synchronize();
      const QString err = QString::fromStdString(be.lastError());
      QVERIFY2(err.contains("matmul_packed") && err.contains("shapes"),
               qPrintable(name.c_str() + QString(": ") + err));
    }
  }
};

}  // namespace precis

QTEST_GUILESS_MAIN(precis::TestBackendLowp)
#include "test_backend_lowp.moc"
