// test_backend_ops: the backend conformance harness. A table of cases (op, weight/table type,
// shapes with odd sizes, 1..64 tokens, grouped-query attention over several slots (contiguous
// and paged through shuffled block tables), both RoPE
// styles, strided views) runs on every backend that probeBackends() finds here, with seeded random
// inputs, and each output is compared with a plain double-precision scalar reference written below.
// The error of every element must stay within a budget stated per case:
//   |got - ref| <= atol + rtol*|ref| + dot * sum_k |x_k w_k| + blk * sum_k amax32(x)_k |w_k|
// (the last two terms only for matmul: rounding of activations/weights to 16 bits, or to q8_0
// blocks, scales with the products being summed). The worst error is printed as a fraction of the
// budget. Padding of strided outputs must be left untouched. Unavailable backends are skipped with
// the reason (the CUDA rows on a machine without a GPU) unless PRECIS_REQUIRE_CUDA=1.
// PRECIS_BENCH_OPS=1 also times each case.
#include <QtTest>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine/backend/backend.h"
#include "engine/backend/registry.h"
#include "backend_slots.h"

namespace precis {
namespace {

constexpr uint32_t kSeed = 20240611u;
constexpr float kSentinel = 1234.5f;  // fills the padding of strided outputs

struct Tol {
  double atol = 0, rtol = 0;  // elementwise part
  double dot = 0;             // times sum_k |x_k w_k|            (matmul)
  double blk = 0;             // times sum_k amax32(x)_k |w_k|    (matmul, 8-bit block activations)
};

struct Case {
  std::string name;
  Op op = Op::Add;
  DType type = DType::F32;  // weight / table type
  int n = 1;                // tokens (activation rows)
  int a = 0;                // dim, in, width
  int b = 0;                // matmul out, get_rows vocab, store_rows destination rows
  int heads = 0, kv_heads = 0, head_dim = 0, slot_count = 0, ctx = 0;
  int block_size = 0;       // attention: KV block rows (ctx = one contiguous block per slot)
  RopeStyle style = RopeStyle::Adjacent;
  int pad = 0;              // extra f32 elements per activation row: strided views
  Tol tol;
};

// Error budgets. Elementwise f32 ops: a few ulps of f32 (rtol 1e-5). RoPE: atol 2e-4 because a
// backend may form the angle in f32, which at positions < 512 is off by up to ~1.2e-4 rad.
// Attention: f32 scores, softmax and sums over up to 300 positions (observed ~1e-7). get_rows: exact (shared numerics).
// Matmul, per weight type, the loosest path any backend may take:
//   f32: f32 sums (dot 1e-5); f16: activations rounded to f16 (2^-11); bf16: to bf16 (2^-8);
//   q8_0/q4_0: weights and activations rounded to f16 on the cuBLAS path (2 * 2^-11), or
//   activations quantized to q8_0 blocks on the CPU (<= amax/254 + amax * 2^-11 per element: 5e-3).
Tol matmulTol(DType t) {
  const double u16 = std::ldexp(1.0, -11), ubf16 = std::ldexp(1.0, -8);
  switch (t) {
    case DType::F16: return {1e-6, 0, u16 + 1e-5, 0};
    case DType::BF16: return {1e-6, 0, ubf16 + 1e-5, 0};
    case DType::Q8_0:
    case DType::Q4_0: return {1e-6, 0, 2 * u16 + 1e-5, 5e-3};
    default: return {1e-6, 0, 1e-5, 0};
  }
}

std::string shapeName(const Case& c) {
  std::string s = std::string(opName(c.op)) + "/" + dtypeName(c.type) + " n=" + std::to_string(c.n);
  switch (c.op) {
    case Op::MatMul: s += " out=" + std::to_string(c.b) + " in=" + std::to_string(c.a); break;
    case Op::GetRows: s += " vocab=" + std::to_string(c.b) + " dim=" + std::to_string(c.a); break;
    case Op::StoreRows: s += " R=" + std::to_string(c.b) + " w=" + std::to_string(c.a); break;
    case Op::Rope:
      s += std::string(c.style == RopeStyle::Half ? " half" : " adjacent") + " heads=" +
           std::to_string(c.heads) + " hd=" + std::to_string(c.head_dim);
      break;
    case Op::Attention:
      s += " heads=" + std::to_string(c.heads) + "/" + std::to_string(c.kv_heads) + " hd=" +
           std::to_string(c.head_dim) + " slots=" + std::to_string(c.slot_count) + " ctx=" + std::to_string(c.ctx) +
           (c.block_size == c.ctx ? " contiguous" : " paged block=" + std::to_string(c.block_size));
      break;
    default: s += " dim=" + std::to_string(c.a); break;
  }
  if (c.pad) s += " strided";
  return s;
}

// Designated initializers leave the other fields of a case at their defaults on purpose.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
std::vector<Case> buildCases() {
  std::vector<Case> cs;
  const DType all[] = {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0};
  const Tol f32{1e-6, 1e-5, 0, 0};
  for (DType t : all)
    for (int n : {1, 17}) {
      Case c{.op = Op::GetRows, .type = t, .n = n, .a = 96, .b = 50};
      cs.push_back(c);
    }
  cs.push_back(Case{.op = Op::GetRows, .type = DType::F32, .n = 3, .a = 37, .b = 11, .pad = 3});
  for (int n : {1, 3, 17, 64})
    for (int dim : {64, 37}) cs.push_back(Case{.op = Op::RmsNorm, .n = n, .a = dim, .tol = f32});
  cs.push_back(Case{.op = Op::RmsNorm, .n = 5, .a = 1000, .pad = 5, .tol = f32});
  for (DType t : all)
    for (int n : {1, 3, 8, 17, 64}) {
      const bool q = dtypeTraits(t).quantized;
      cs.push_back(Case{.op = Op::MatMul, .type = t, .n = n, .a = q ? 96 : 37, .b = 67, .tol = matmulTol(t)});
    }
  for (DType t : all) {
    cs.push_back(Case{.op = Op::MatMul, .type = t, .n = 64, .a = 512, .b = 256, .tol = matmulTol(t)});
    cs.push_back(Case{.op = Op::MatMul, .type = t, .n = 5, .a = 256, .b = 33, .pad = 7, .tol = matmulTol(t)});
  }
  // The fused q8_0/q4_0 GEMV (CUDA, n <= 8) walks a row in steps of 8 blocks: whole and partial steps,
  // aligned and unaligned (padded) activations.
  for (DType t : {DType::Q8_0, DType::Q4_0})
    for (int n : {1, 5, 8}) {
      cs.push_back(Case{.op = Op::MatMul, .type = t, .n = n, .a = 2048 + 288, .b = 40, .tol = matmulTol(t)});
      cs.push_back(Case{.op = Op::MatMul, .type = t, .n = n, .a = 288, .b = 9, .pad = 3, .tol = matmulTol(t)});
    }
  const Tol rope{2e-4, 1e-5, 0, 0};
  for (RopeStyle st : {RopeStyle::Adjacent, RopeStyle::Half}) {
    cs.push_back(Case{.op = Op::Rope, .n = 1, .heads = 4, .head_dim = 16, .style = st, .tol = rope});
    cs.push_back(Case{.op = Op::Rope, .n = 17, .heads = 3, .head_dim = 10, .style = st, .tol = rope});
    cs.push_back(Case{.op = Op::Rope, .n = 64, .heads = 2, .head_dim = 64, .style = st, .pad = 4, .tol = rope});
  }
  for (int n : {1, 17}) cs.push_back(Case{.op = Op::StoreRows, .n = n, .a = 48, .b = 40});
  cs.push_back(Case{.op = Op::StoreRows, .n = 5, .a = 33, .b = 9, .pad = 2});
  const Tol att{2e-6, 2e-5, 0, 0};
  // block_size == ctx: one contiguous block per slot; smaller: a paged cache whose block tables
  // point at shuffled blocks of a shared pool (with spare blocks nobody uses).
  cs.push_back(Case{.op = Op::Attention, .n = 1, .heads = 8, .kv_heads = 4, .head_dim = 16, .slot_count = 1, .ctx = 32, .block_size = 32, .tol = att});
  cs.push_back(Case{.op = Op::Attention, .n = 3, .heads = 4, .kv_heads = 4, .head_dim = 64, .slot_count = 2, .ctx = 40, .block_size = 40, .tol = att});
  cs.push_back(Case{.op = Op::Attention, .n = 17, .heads = 8, .kv_heads = 2, .head_dim = 32, .slot_count = 3, .ctx = 64, .block_size = 64, .tol = att});
  cs.push_back(Case{.op = Op::Attention, .n = 64, .heads = 4, .kv_heads = 1, .head_dim = 64, .slot_count = 4, .ctx = 300, .block_size = 300, .tol = att});
  cs.push_back(Case{.op = Op::Attention, .n = 9, .heads = 6, .kv_heads = 3, .head_dim = 8, .slot_count = 2, .ctx = 20, .block_size = 20, .pad = 3, .tol = att});
  cs.push_back(Case{.op = Op::Attention, .n = 1, .heads = 8, .kv_heads = 4, .head_dim = 16, .slot_count = 1, .ctx = 32, .block_size = 1, .tol = att});
  cs.push_back(Case{.op = Op::Attention, .n = 17, .heads = 8, .kv_heads = 2, .head_dim = 32, .slot_count = 3, .ctx = 64, .block_size = 16, .tol = att});
  cs.push_back(Case{.op = Op::Attention, .n = 64, .heads = 4, .kv_heads = 1, .head_dim = 64, .slot_count = 4, .ctx = 300, .block_size = 16, .tol = att});
  cs.push_back(Case{.op = Op::Attention, .n = 9, .heads = 6, .kv_heads = 3, .head_dim = 8, .slot_count = 5, .ctx = 20, .block_size = 7, .pad = 3, .tol = att});
  // Decode shapes (few tokens, long context): the CUDA split path, several splits of 128 positions.
  cs.push_back(Case{.op = Op::Attention, .n = 2, .heads = 32, .kv_heads = 4, .head_dim = 64, .slot_count = 2, .ctx = 700, .block_size = 16, .tol = att});
  cs.push_back(Case{.op = Op::Attention, .n = 5, .heads = 8, .kv_heads = 8, .head_dim = 48, .slot_count = 5, .ctx = 260, .block_size = 260, .pad = 2, .tol = att});
  for (Op op : {Op::SiluMul, Op::Add})
    for (int n : {1, 17, 64}) {
      const Tol t = op == Op::Add ? Tol{0, 1.2e-7, 0, 0} : f32;  // add: one f32 rounding
      cs.push_back(Case{.op = op, .n = n, .a = n == 17 ? 37 : 172, .pad = n == 17 ? 3 : 0, .tol = t});
    }
  for (Case& c : cs) c.name = shapeName(c);
  return cs;
}
#pragma GCC diagnostic pop

// ---- host tensors ----

std::vector<float> uniform(std::mt19937& rng, size_t count, float lo, float hi) {
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(count);
  for (float& x : v) x = d(rng);
  return v;
}

// Rows of `cols` floats -> packed rows of type t (the format's reference from_float).
std::vector<uint8_t> pack(DType t, const std::vector<float>& f, int64_t rows, int64_t cols) {
  std::vector<uint8_t> out(rowBytes(t, cols) * rows);
  for (int64_t r = 0; r < rows; ++r)
    dtypeTraits(t).from_float(f.data() + r * cols, out.data() + r * rowBytes(t, cols), cols);
  return out;
}
std::vector<float> unpack(DType t, const std::vector<uint8_t>& p, int64_t rows, int64_t cols) {
  std::vector<float> out(size_t(rows * cols));
  for (int64_t r = 0; r < rows; ++r)
    dtypeTraits(t).to_float(p.data() + r * rowBytes(t, cols), out.data() + r * cols, cols);
  return out;
}
std::vector<uint8_t> bytesOf(const void* p, size_t n) {
  const auto* b = static_cast<const uint8_t*>(p);
  return std::vector<uint8_t>(b, b + n);
}

// A tensor on a backend: its buffer and a view with `pad` extra elements per row (f32/i32 only).
struct Dev {
  std::unique_ptr<Buffer> buf;
  TensorView view;
};

Dev upload(Backend& be, DType t, int64_t rows, int64_t cols, const std::vector<uint8_t>& packed, int pad = 0) {
  const size_t rb = rowBytes(t, cols);
  const size_t stride = rb + size_t(pad) * 4;
  std::vector<uint8_t> staged(std::max<size_t>(1, stride * rows));
  for (int64_t r = 0; r < rows; ++r) {
    std::memcpy(staged.data() + r * stride, packed.data() + r * rb, rb);
    for (int p = 0; p < pad; ++p) std::memcpy(staged.data() + r * stride + rb + p * 4, &kSentinel, 4);
  }
  Dev d;
  d.buf = be.alloc(staged.size());
  if (!d.buf) return d;
  be.upload(*d.buf, 0, staged.data(), staged.size());
  d.view = TensorView{d.buf->data(), t, rows, cols, stride};
  return d;
}
Dev uploadF32(Backend& be, const std::vector<float>& f, int64_t rows, int64_t cols, int pad = 0) {
  return upload(be, DType::F32, rows, cols, bytesOf(f.data(), f.size() * 4), pad);
}
Dev uploadI32(Backend& be, const std::vector<int32_t>& v) {
  return upload(be, DType::I32, int64_t(v.size()), 1, bytesOf(v.data(), v.size() * 4));
}

// Downloads an f32 tensor; *pad_ok is false if any padding element lost its sentinel.
std::vector<float> downloadF32(Backend& be, const Dev& d, bool* pad_ok) {
  const TensorView& v = d.view;
  std::vector<uint8_t> raw(d.buf->size());
  be.download(*d.buf, 0, raw.data(), raw.size());
  std::vector<float> out(size_t(v.rows * v.cols));
  *pad_ok = true;
  for (int64_t r = 0; r < v.rows; ++r) {
    std::memcpy(out.data() + r * v.cols, raw.data() + r * v.stride, size_t(v.cols) * 4);
    for (size_t o = size_t(v.cols) * 4; o + 4 <= v.stride && r * v.stride + o + 4 <= raw.size(); o += 4) {
      float s;
      std::memcpy(&s, raw.data() + r * v.stride + o, 4);
      if (s != kSentinel) *pad_ok = false;
    }
  }
  return out;
}

// ---- scalar references (double precision) ----

struct Expect {
  std::vector<double> ref;
  std::vector<double> extra;  // per element: dot/blk part of the budget (matmul), else 0
};

void refMatmul(const std::vector<float>& w, const std::vector<float>& x, int n, int out, int in,
               const Tol& tol, Expect* e) {
  e->ref.assign(size_t(n) * out, 0.0);
  e->extra.assign(size_t(n) * out, 0.0);
  for (int t = 0; t < n; ++t) {
    std::vector<double> amax(size_t(in), 0.0);  // |x| max of the 32-element block holding k
    for (int k0 = 0; k0 < in; k0 += 32) {
      double m = 0;
      for (int k = k0; k < std::min(in, k0 + 32); ++k) m = std::max(m, double(std::fabs(x[t * in + k])));
      for (int k = k0; k < std::min(in, k0 + 32); ++k) amax[k] = m;
    }
    for (int o = 0; o < out; ++o) {
      double s = 0, sabs = 0, sblk = 0;
      for (int k = 0; k < in; ++k) {
        const double xv = x[t * in + k], wv = w[size_t(o) * in + k];
        s += xv * wv;
        sabs += std::fabs(xv * wv);
        sblk += amax[k] * std::fabs(wv);
      }
      e->ref[t * out + o] = s;
      e->extra[t * out + o] = tol.dot * sabs + tol.blk * sblk;
    }
  }
}

void refRope(std::vector<double>& x, const std::vector<int32_t>& pos, int n, int heads, int hd,
             double theta, RopeStyle style) {
  const int half = hd / 2, cols = heads * hd;
  for (int t = 0; t < n; ++t)
    for (int h = 0; h < heads; ++h)
      for (int i = 0; i < half; ++i) {
        const double ang = pos[t] * std::pow(theta, -2.0 * i / hd);
        const int ia = style == RopeStyle::Half ? i : 2 * i, ib = style == RopeStyle::Half ? i + half : 2 * i + 1;
        double& a = x[size_t(t) * cols + h * hd + ia];
        double& b = x[size_t(t) * cols + h * hd + ib];
        const double na = a * std::cos(ang) - b * std::sin(ang), nb = a * std::sin(ang) + b * std::cos(ang);
        a = na;
        b = nb;
      }
}

// Position p of sequence s is cache row table[s][p / block_size] * block_size + p % block_size.
void refAttention(const std::vector<float>& q, const std::vector<float>& k, const std::vector<float>& v,
                  const std::vector<int32_t>& table, int table_cols, const std::vector<int32_t>& seq,
                  const std::vector<int32_t>& pos, const Case& c, double scale, std::vector<double>* out) {
  const int qcols = c.heads * c.head_dim, kvcols = c.kv_heads * c.head_dim;
  out->assign(size_t(c.n) * qcols, 0.0);
  for (int t = 0; t < c.n; ++t)
    for (int h = 0; h < c.heads; ++h) {
      const int kvh = h / (c.heads / c.kv_heads);
      const auto row = [&](int p) {
        return int64_t(table[size_t(seq[t]) * table_cols + p / c.block_size]) * c.block_size + p % c.block_size;
      };
      std::vector<double> s(size_t(pos[t]) + 1);
      double m = -INFINITY;
      for (int p = 0; p <= pos[t]; ++p) {
        double dot = 0;
        for (int d = 0; d < c.head_dim; ++d)
          dot += double(q[size_t(t) * qcols + h * c.head_dim + d]) * k[row(p) * kvcols + kvh * c.head_dim + d];
        s[p] = dot * scale;
        m = std::max(m, s[p]);
      }
      double sum = 0;
      for (double& e : s) sum += (e = std::exp(e - m));
      for (int d = 0; d < c.head_dim; ++d) {
        double acc = 0;
        for (int p = 0; p <= pos[t]; ++p) acc += s[p] * v[row(p) * kvcols + kvh * c.head_dim + d];
        (*out)[size_t(t) * qcols + h * c.head_dim + d] = acc / sum;
      }
    }
}

// ---- one case on one backend ----

struct Run {
  std::function<void()> op;  // queues the op once
  Dev* result = nullptr;     // the tensor to compare
  Expect expect;
  double bytes = 0, flops = 0;  // for the benchmark mode
  std::vector<Dev> keep;        // every tensor of the case
};

// Builds the inputs of case c with `rng`, uploads them to `be`, and computes the reference.
Run prepare(Backend& be, const Case& c, std::mt19937& rng) {
  Run r;
  r.keep.reserve(8);
  auto add = [&](Dev d) -> Dev& { r.keep.push_back(std::move(d)); return r.keep.back(); };
  const int n = c.n;
  switch (c.op) {
    case Op::GetRows: {
      const auto tf = uniform(rng, size_t(c.b) * c.a, -2.f, 2.f);
      const auto table = pack(c.type, tf, c.b, c.a);
      const auto exact = unpack(c.type, table, c.b, c.a);
      std::vector<int32_t> ids(n);
      for (int32_t& id : ids) id = int32_t(rng() % uint32_t(c.b));
      Dev& dt = add(upload(be, c.type, c.b, c.a, table));
      Dev& di = add(uploadI32(be, ids));
      Dev& dout = add(uploadF32(be, std::vector<float>(size_t(n) * c.a, 0.f), n, c.a, c.pad));
      for (int t = 0; t < n; ++t)
        for (int j = 0; j < c.a; ++j) r.expect.ref.push_back(exact[size_t(ids[t]) * c.a + j]);
      r.op = [&be, &dt, &di, &dout] { be.getRows(dt.view, di.view, dout.view); };
      r.result = &dout;
      r.bytes = double(rowBytes(c.type, c.a)) * n + 4.0 * n * c.a;
      break;
    }
    case Op::RmsNorm: {
      const auto x = uniform(rng, size_t(n) * c.a, -3.f, 3.f);
      const auto w = uniform(rng, size_t(c.a), 0.5f, 1.5f);
      Dev& dx = add(uploadF32(be, x, n, c.a, c.pad));
      Dev& dw = add(uploadF32(be, w, 1, c.a));
      Dev& dy = add(uploadF32(be, std::vector<float>(x.size(), 0.f), n, c.a, c.pad));
      const double eps = 1e-5;
      for (int t = 0; t < n; ++t) {
        double ss = 0;
        for (int j = 0; j < c.a; ++j) ss += double(x[t * c.a + j]) * x[t * c.a + j];
        const double inv = 1.0 / std::sqrt(ss / c.a + eps);
        for (int j = 0; j < c.a; ++j) r.expect.ref.push_back(x[t * c.a + j] * inv * w[j]);
      }
      r.op = [&be, &dx, &dw, &dy] { be.rmsNorm(dx.view, dw.view, 1e-5f, dy.view); };
      r.result = &dy;
      r.bytes = 8.0 * n * c.a;
      break;
    }
    case Op::MatMul: {
      const auto wf = uniform(rng, size_t(c.b) * c.a, -1.f, 1.f);
      const auto wp = pack(c.type, wf, c.b, c.a);
      const auto x = uniform(rng, size_t(n) * c.a, -1.f, 1.f);
      Dev& dw = add(upload(be, c.type, c.b, c.a, wp));
      Dev& dx = add(uploadF32(be, x, n, c.a, c.pad));
      Dev& dy = add(uploadF32(be, std::vector<float>(size_t(n) * c.b, 0.f), n, c.b, c.pad));
      refMatmul(unpack(c.type, wp, c.b, c.a), x, n, c.b, c.a, c.tol, &r.expect);
      r.op = [&be, &dw, &dx, &dy] { be.matmul(dw.view, dx.view, dy.view); };
      r.result = &dy;
      r.bytes = double(wp.size()) + 4.0 * n * (c.a + c.b);
      r.flops = 2.0 * n * c.a * c.b;
      break;
    }
    case Op::Rope: {
      const int cols = c.heads * c.head_dim;
      const auto x = uniform(rng, size_t(n) * cols, -1.f, 1.f);
      std::vector<int32_t> pos(n);
      for (int32_t& p : pos) p = int32_t(rng() % 512u);
      pos[0] = 511;
      Dev& dx = add(uploadF32(be, x, n, cols, c.pad));
      Dev& dp = add(uploadI32(be, pos));
      r.expect.ref.assign(x.begin(), x.end());
      refRope(r.expect.ref, pos, n, c.heads, c.head_dim, 10000.0, c.style);
      const int hd = c.head_dim;
      const RopeStyle st = c.style;
      r.op = [&be, &dx, &dp, hd, st] { be.rope(dx.view, dp.view, hd, 10000.f, st); };
      r.result = &dx;
      r.bytes = 8.0 * n * cols;
      break;
    }
    case Op::StoreRows: {
      const auto src = uniform(rng, size_t(n) * c.a, -1.f, 1.f);
      const auto dst = uniform(rng, size_t(c.b) * c.a, -1.f, 1.f);
      std::vector<int32_t> rows(size_t(c.b));
      for (int i = 0; i < c.b; ++i) rows[i] = i;
      std::shuffle(rows.begin(), rows.end(), rng);
      rows.resize(n);  // distinct destinations
      Dev& ds = add(uploadF32(be, src, n, c.a, c.pad));
      Dev& dd = add(uploadF32(be, dst, c.b, c.a, c.pad));
      Dev& dr = add(uploadI32(be, rows));
      r.expect.ref.assign(dst.begin(), dst.end());
      for (int i = 0; i < n; ++i)
        for (int j = 0; j < c.a; ++j) r.expect.ref[size_t(rows[i]) * c.a + j] = src[i * c.a + j];
      r.op = [&be, &ds, &dd, &dr] { be.storeRows(ds.view, dd.view, dr.view); };
      r.result = &dd;
      r.bytes = 8.0 * n * c.a;
      break;
    }
    case Op::Attention: {
      const int qcols = c.heads * c.head_dim, kvcols = c.kv_heads * c.head_dim;
      const bool contiguous = c.block_size == c.ctx;
      const int table_cols = (c.ctx + c.block_size - 1) / c.block_size;
      // Paged: a pool with spare blocks, each sequence's blocks drawn from a shuffled order.
      const int blocks = c.slot_count * table_cols + (contiguous ? 0 : 3);
      std::vector<int32_t> order(static_cast<size_t>(blocks));
      for (int b = 0; b < blocks; ++b) order[size_t(b)] = b;
      if (!contiguous) std::shuffle(order.begin(), order.end(), rng);
      std::vector<int32_t> table(size_t(c.slot_count) * table_cols);
      for (size_t i = 0; i < table.size(); ++i) table[i] = order[i];
      const int64_t cache_rows = int64_t(blocks) * c.block_size;
      const auto q = uniform(rng, size_t(n) * qcols, -1.f, 1.f);
      const auto k = uniform(rng, size_t(cache_rows) * kvcols, -1.f, 1.f);
      const auto v = uniform(rng, size_t(cache_rows) * kvcols, -1.f, 1.f);
      std::vector<int32_t> seq(n), pos(n);
      for (int t = 0; t < n; ++t) {
        seq[t] = int32_t(rng() % uint32_t(c.slot_count));
        pos[t] = int32_t(rng() % uint32_t(c.ctx));
      }
      pos[0] = c.ctx - 1;  // the whole slot
      if (n > 1) pos[1] = 0;  // a single position
      Dev& dq = add(uploadF32(be, q, n, qcols, c.pad));
      Dev& dk = add(uploadF32(be, k, cache_rows, kvcols, c.pad));
      Dev& dv = add(uploadF32(be, v, cache_rows, kvcols, c.pad));
      Dev& dt = add(upload(be, DType::I32, c.slot_count, table_cols, bytesOf(table.data(), table.size() * 4)));
      Dev& ds = add(uploadI32(be, seq));
      Dev& dp = add(uploadI32(be, pos));
      Dev& dout = add(uploadF32(be, std::vector<float>(q.size(), 0.f), n, qcols, c.pad));
      AttentionParams p;
      p.n_heads = c.heads;
      p.n_kv_heads = c.kv_heads;
      p.head_dim = c.head_dim;
      p.block_size = c.block_size;
      p.scale = 1.f / std::sqrt(float(c.head_dim));
      refAttention(q, k, v, table, table_cols, seq, pos, c, p.scale, &r.expect.ref);
      r.op = [&be, &dq, &dk, &dv, &dt, &ds, &dp, &dout, p] {
        be.attention(dq.view, dk.view, dv.view, dt.view, ds.view, dp.view, p, dout.view);
      };
      r.result = &dout;
      double rows_read = 0;
      for (int t = 0; t < n; ++t) rows_read += pos[t] + 1;
      r.bytes = 8.0 * rows_read * kvcols;
      r.flops = 4.0 * rows_read * qcols;
      break;
    }
    case Op::SiluMul:
    case Op::Add: {
      const auto a = uniform(rng, size_t(n) * c.a, -6.f, 6.f);
      const auto b = uniform(rng, size_t(n) * c.a, -2.f, 2.f);
      Dev& da = add(uploadF32(be, a, n, c.a, c.pad));
      Dev& db = add(uploadF32(be, b, n, c.a, c.pad));
      for (size_t i = 0; i < a.size(); ++i)
        r.expect.ref.push_back(c.op == Op::Add ? double(a[i]) + b[i]
                                               : a[i] / (1.0 + std::exp(-double(a[i]))) * b[i]);
      if (c.op == Op::Add)
        r.op = [&be, &da, &db] { be.add(da.view, db.view); };
      else
        r.op = [&be, &da, &db] { be.siluMul(da.view, db.view); };
      r.result = &da;
      r.bytes = 12.0 * n * c.a;
      break;
    }
    case Op::Count: break;
  }
  if (r.expect.extra.empty()) r.expect.extra.assign(r.expect.ref.size(), 0.0);
  return r;
}

double benchMicroseconds(Backend& be, const std::function<void()>& op) {
  using Clock = std::chrono::steady_clock;
  for (int i = 0; i < 3; ++i) op();
  be.synchronize();
  int reps = 0;
  const auto t0 = Clock::now();
  double elapsed = 0;
  while (reps < 1000 && elapsed < 0.05) {
    for (int i = 0; i < 10; ++i) op();
    reps += 10;
    be.synchronize();
    elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  }
  return elapsed * 1e6 / reps;
}

}  // namespace

class TestBackendOps : public QObject {
  Q_OBJECT

 private:
  std::vector<Case> cases_ = buildCases();
  std::map<std::string, test::BackendSlot> backends_;

  Backend* backendFor(const QString& name) {
    auto it = backends_.find(name.toStdString());
    if (it == backends_.end()) return nullptr;
    return it->second.backend.get();
  }

 private slots:
  void initTestCase() {
    backends_ = test::openBackendSlots();
    QVERIFY2(backends_.count("cpu") && backends_["cpu"].backend, "the CPU backend must always exist");
  }

  void ops_data() {
    QTest::addColumn<QString>("backend");
    QTest::addColumn<int>("index");
    for (const char* name : {"cpu", "cuda"})
      for (size_t i = 0; i < cases_.size(); ++i)
        QTest::newRow(qPrintable(QString("%1: %2").arg(name, QString::fromStdString(cases_[i].name))))
            << QString(name) << int(i);
  }

  void ops() {
    QFETCH(QString, backend);
    QFETCH(int, index);
    const Case& c = cases_[size_t(index)];
    QString skip, fail;
    Backend* bp = test::rowBackend(backends_, backend, &skip, &fail);
    if (!fail.isEmpty()) QFAIL(qPrintable(fail));
    if (!bp) QSKIP(qPrintable(skip));
    Backend& be = *bp;
    if (!be.supportsOp(c.op, c.type)) QSKIP(qPrintable(backend + " does not support " + QString::fromStdString(c.name)));
    const DTypeTraits& tr = dtypeTraits(c.type);
    if (!tr.to_float || !tr.from_float) QSKIP("format has no reference conversion yet");

    const uint32_t seed = kSeed + uint32_t(index) * 7919u;
    std::mt19937 rng(seed);
    Run run = prepare(be, c, rng);
    for (const Dev& d : run.keep) QVERIFY2(d.buf, "backend alloc failed");
    run.op();
    be.synchronize();
    QVERIFY2(be.lastError().empty(), qPrintable(QString("seed %1: backend error: %2").arg(seed).arg(
                                         QString::fromStdString(be.lastError()))));
    bool pad_ok = true;
    const std::vector<float> got = downloadF32(be, *run.result, &pad_ok);
    QVERIFY2(pad_ok, qPrintable(QString("seed %1: the op wrote into the padding of a strided view").arg(seed)));
    QCOMPARE(got.size(), run.expect.ref.size());

    double worst = 0;
    size_t worst_i = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      const double ref = run.expect.ref[i];
      const double err = std::fabs(double(got[i]) - ref);
      const double budget = c.tol.atol + c.tol.rtol * std::fabs(ref) + run.expect.extra[i];
      double frac = budget > 0 ? err / budget : (err == 0 ? 0 : INFINITY);
      if (std::isnan(got[i]) || std::isnan(ref)) frac = INFINITY;
      if (frac > worst) {
        worst = frac;
        worst_i = i;
      }
    }
    const double ref = run.expect.ref[worst_i];
    const QString detail =
        QString("%1 on %2 [%3]: worst error %4 of the budget at element %5 (got %6, ref %7); seed %8")
            .arg(QString::fromStdString(c.name), backend, QString::fromStdString(be.kernelName(c.op, c.type)))
            .arg(worst, 0, 'g', 3).arg(worst_i).arg(double(got[worst_i]), 0, 'g', 9).arg(ref, 0, 'g', 9).arg(seed);
    qInfo("%s", qPrintable(detail));
    QVERIFY2(worst <= 1.0, qPrintable(detail));

    if (qEnvironmentVariableIntValue("PRECIS_BENCH_OPS") == 1) {
      const double us = benchMicroseconds(be, run.op);
      qInfo("bench %s on %s: %.2f us, %.1f GB/s%s", c.name.c_str(), qPrintable(backend), us,
            run.bytes / us * 1e-3,
            run.flops > 0 ? qPrintable(QString(", %1 GFLOP/s").arg(run.flops / us * 1e-3, 0, 'f', 1)) : "");
      QVERIFY2(be.lastError().empty(), be.lastError().c_str());
    }
  }

  // A kernel that meets a bad index must say so through lastError() (CUDA: a status bit read at
  // synchronize), and the following ops must not run.
  void cudaReportsBadIndices() {
    auto it = backends_.find("cuda");
    if (it == backends_.end() || !it->second.probe.available)
      QSKIP(it == backends_.end() ? "cuda backend not known" : qPrintable("cuda unavailable: " +
                                                                          QString::fromStdString(it->second.probe.detail)));
    auto made = createBackend("cuda");  // a fresh backend: this one ends in the failed state
    QVERIFY2(made.ok(), made.ok() ? "" : made.error().message.c_str());
    Backend& be = *made.value();
    const std::vector<float> table(4 * 32, 1.f);
    Dev dt = uploadF32(be, table, 4, 32);
    Dev di = uploadI32(be, {2, 4});  // 4 is outside the table
    Dev dout = uploadF32(be, std::vector<float>(2 * 32, 0.f), 2, 32);
    be.getRows(dt.view, di.view, dout.view);
    be.synchronize();
    const QString err = QString::fromStdString(be.lastError());
    QVERIFY2(err.contains("get_rows"), qPrintable("lastError: " + err));
    be.add(dout.view, dout.view);  // a no-op now
    QCOMPARE(QString::fromStdString(be.lastError()), err);
  }
};

}  // namespace precis

QTEST_GUILESS_MAIN(precis::TestBackendOps)
#include "test_backend_ops.moc"
