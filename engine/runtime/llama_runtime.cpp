// LlamaRuntime implementation (see llama_runtime.h): uploads weights, owns activation buffers and
// the paged KV cache, and runs the layer loop as Backend ops.
#include "engine/runtime/llama_runtime.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>

#include "engine/runtime/kv_block_table.h"

namespace precis {

namespace {
struct DeviceTensor {
  std::unique_ptr<Buffer> buf;
  TensorView view;
};
struct LayerWeights {
  TensorView attn_norm, wq, wk, wv, wo, ffn_norm, w1, w2, w3;
};
}  // namespace

struct LlamaRuntime::Impl {
  Backend* backend = nullptr;
  LlamaConfig cfg;
  RuntimeOptions opt;
  std::vector<DeviceTensor> owned;  // every device allocation
  std::map<std::string, TensorView> weights;
  std::vector<LayerWeights> layers;
  TensorView tok_embd, out_norm, classifier;
  uint64_t weight_bytes = 0;
  // Activations, sized for opt.max_batch_tokens rows.
  TensorView x, xb, q, k, v, att, h1, h3, xg, logits;
  TensorView ids, pos, seq, rows, out_idx;
  Buffer *ids_buf = nullptr, *pos_buf = nullptr, *seq_buf = nullptr, *rows_buf = nullptr,
         *out_idx_buf = nullptr, *logits_buf = nullptr;
  std::vector<TensorView> k_cache, v_cache;  // per layer (kv_blocks * block_size, kv_dim)
  std::optional<KvBlockTable> kv;            // which blocks hold which slot's positions
  TensorView block_table;                    // (max_slots, max blocks per slot) i32, kv->packed()
  Buffer* block_table_buf = nullptr;
  uint64_t kv_bytes_per_block = 0;

  Result<TensorView> allocate(DType type, int64_t rows, int64_t cols, Buffer** buf_out = nullptr) {
    const size_t bytes = rowBytes(type, cols) * size_t(rows);
    auto buf = backend->alloc(bytes);
    if (!buf)
      return makeError("out of " + backend->device().backend + " memory allocating " +
                       std::to_string(bytes) + " bytes");
    TensorView v = makeView(buf->data(), type, rows, cols);
    if (buf_out) *buf_out = buf.get();
    owned.push_back({std::move(buf), v});
    return v;
  }

  Result<TensorView> uploadWeight(const WeightTensor& t) {
    const int64_t cols = t.cols(), rows = t.rows();
    auto v = allocate(t.type, rows, cols);
    if (!v) return v.error();
    backend->upload(*owned.back().buf, 0, t.data, t.bytes);
    weight_bytes += t.bytes;
    return v;
  }
};

LlamaRuntime::LlamaRuntime(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LlamaRuntime::~LlamaRuntime() = default;

Result<std::unique_ptr<LlamaRuntime>> LlamaRuntime::create(const Model& model, Backend& backend,
                                                           const RuntimeOptions& options) {
  if (Status s = model.validate(); !s) return s.error();
  auto impl = std::make_unique<Impl>();
  Impl& m = *impl;
  m.backend = &backend;
  m.cfg = model.config;
  m.opt = options;
  if (m.opt.max_ctx <= 0) m.opt.max_ctx = m.cfg.context_length;
  if (m.opt.max_slots <= 0) return makeError("runtime: max_slots must be positive");
  if (m.opt.max_batch_tokens <= 0) return makeError("runtime: max_batch_tokens must be positive");
  if (m.opt.kv_block_size <= 0) return makeError("runtime: kv_block_size must be positive");
  if (m.opt.kv_blocks < 0) return makeError("runtime: kv_blocks must not be negative");
  m.opt.kv_block_size = std::min(m.opt.kv_block_size, m.opt.max_ctx);
  const int blocks_per_slot = (m.opt.max_ctx + m.opt.kv_block_size - 1) / m.opt.kv_block_size;
  if (m.opt.kv_blocks == 0) m.opt.kv_blocks = m.opt.max_slots * blocks_per_slot;
  for (const WeightTensor& t : model.tensors)
    if (!backend.supportsOp(t.shape.size() == 1 ? Op::RmsNorm : Op::MatMul, t.type))
      return makeError("backend " + backend.device().backend + " cannot run " + t.name + " stored as " +
                       dtypeName(t.type));

  for (const WeightTensor& t : model.tensors) {
    auto v = m.uploadWeight(t);
    if (!v) return v.error();
    m.weights[t.name] = *v;
  }
  auto w = [&](const std::string& n) { return m.weights.at(n); };
  m.tok_embd = w(kTokenEmbd);
  m.out_norm = w(kOutputNorm);
  m.classifier = m.cfg.tied_classifier ? m.tok_embd : w(kOutput);
  for (int l = 0; l < m.cfg.n_layers; ++l) {
    auto lw = [&](const char* part) { return w(layerTensorName(l, part)); };
    m.layers.push_back({lw("attn_norm"), lw("attn_q"), lw("attn_k"), lw("attn_v"), lw("attn_output"),
                        lw("ffn_norm"), lw("ffn_gate"), lw("ffn_down"), lw("ffn_up")});
  }

  const int64_t B = m.opt.max_batch_tokens, d = m.cfg.dim, kv = m.cfg.kvDim(), h = m.cfg.hidden_dim;
  struct Spec { TensorView* dst; DType t; int64_t rows, cols; Buffer** buf = nullptr; };
  const Spec specs[] = {
      {&m.x, DType::F32, B, d},    {&m.xb, DType::F32, B, d},   {&m.q, DType::F32, B, d},
      {&m.k, DType::F32, B, kv},   {&m.v, DType::F32, B, kv},   {&m.att, DType::F32, B, d},
      {&m.h1, DType::F32, B, h},   {&m.h3, DType::F32, B, h},   {&m.xg, DType::F32, B, d},
      {&m.logits, DType::F32, B, m.cfg.vocab_size, &m.logits_buf},
      {&m.ids, DType::I32, B, 1, &m.ids_buf},   {&m.pos, DType::I32, B, 1, &m.pos_buf},
      {&m.seq, DType::I32, B, 1, &m.seq_buf},   {&m.rows, DType::I32, B, 1, &m.rows_buf},
      {&m.out_idx, DType::I32, B, 1, &m.out_idx_buf}};
  for (const Spec& s : specs) {
    auto v = m.allocate(s.t, s.rows, s.cols, s.buf);
    if (!v) return v.error();
    *s.dst = *v;
  }
  m.kv.emplace(m.opt.max_slots, m.opt.max_ctx, m.opt.kv_block_size, m.opt.kv_blocks);
  auto bt = m.allocate(DType::I32, m.opt.max_slots, blocks_per_slot, &m.block_table_buf);
  if (!bt) return bt.error();
  m.block_table = *bt;
  const int64_t cache_rows = int64_t(m.opt.kv_blocks) * m.opt.kv_block_size;
  m.kv_bytes_per_block = 2ull * uint64_t(m.cfg.n_layers) * uint64_t(m.opt.kv_block_size) * uint64_t(kv) * 4;
  for (int l = 0; l < m.cfg.n_layers; ++l) {
    auto kc = m.allocate(DType::F32, cache_rows, kv);
    if (!kc) return kc.error();
    auto vc = m.allocate(DType::F32, cache_rows, kv);
    if (!vc) return vc.error();
    m.k_cache.push_back(*kc);
    m.v_cache.push_back(*vc);
  }
  return std::unique_ptr<LlamaRuntime>(new LlamaRuntime(std::move(impl)));
}

Status LlamaRuntime::forward(std::span<const BatchToken> batch, std::span<float> logits) {
  Impl& m = *impl_;
  const LlamaConfig& c = m.cfg;
  size_t wanted = 0;
  for (const BatchToken& t : batch) {
    if (t.token < 0 || t.token >= c.vocab_size)
      return makeError("token id " + std::to_string(t.token) + " is outside the vocabulary [0, " +
                       std::to_string(c.vocab_size) + ")");
    if (t.pos < 0 || t.pos >= m.opt.max_ctx)
      return makeError("position " + std::to_string(t.pos) + " is outside the context [0, " +
                       std::to_string(m.opt.max_ctx) + ")");
    if (t.slot < 0 || t.slot >= m.opt.max_slots)
      return makeError("sequence slot " + std::to_string(t.slot) + " is outside [0, " +
                       std::to_string(m.opt.max_slots) + ")");
    wanted += t.logits ? 1 : 0;
  }
  if (logits.size() < wanted * size_t(c.vocab_size))
    return makeError("logits buffer too small: " + std::to_string(logits.size()) + " floats for " +
                     std::to_string(wanted) + " tokens");

  // KV blocks: every slot of the batch must cover its highest position; all or nothing.
  KvBlockTable& kv = *m.kv;
  std::map<int32_t, int32_t> reach;  // slot -> positions to cover
  for (const BatchToken& t : batch) reach[t.slot] = std::max(reach[t.slot], t.pos + 1);
  int need = 0;
  for (const auto& [slot, positions] : reach)
    need += std::max(0, (positions + kv.blockSize() - 1) / kv.blockSize() - kv.held(slot));
  if (need > kv.freeBlocks())
    return makeError("KV cache full: the batch needs " + std::to_string(need) + " more blocks of " +
                     std::to_string(kv.blockSize()) + " positions but only " +
                     std::to_string(kv.freeBlocks()) + " of " + std::to_string(kv.totalBlocks()) +
                     " are free (release finished slots or raise kv_blocks)");
  for (const auto& [slot, positions] : reach) kv.ensure(slot, positions);

  Backend& be = *m.backend;
  if (kv.dirty()) {
    be.upload(*m.block_table_buf, 0, kv.packed().data(), kv.packed().size() * 4);
    kv.clearDirty();
  }
  const AttentionParams ap{c.n_heads, c.n_kv_heads, c.headDim(), kv.blockSize(),
                           1.0f / std::sqrt(float(c.headDim()))};
  float* out = logits.data();
  std::vector<int32_t> ids, pos, seq, rows, out_idx;
  for (size_t first = 0; first < batch.size(); first += size_t(m.opt.max_batch_tokens)) {
    const int64_t n = std::min<int64_t>(m.opt.max_batch_tokens, int64_t(batch.size() - first));
    ids.clear(); pos.clear(); seq.clear(); rows.clear(); out_idx.clear();
    for (int64_t i = 0; i < n; ++i) {
      const BatchToken& t = batch[first + size_t(i)];
      ids.push_back(t.token);
      pos.push_back(t.pos);
      seq.push_back(t.slot);
      rows.push_back(int32_t(kv.row(t.slot, t.pos)));
      if (t.logits) out_idx.push_back(int32_t(i));
    }
    auto put = [&](Buffer* buf, const std::vector<int32_t>& src) {
      be.upload(*buf, 0, src.data(), src.size() * 4);
    };
    put(m.ids_buf, ids); put(m.pos_buf, pos); put(m.seq_buf, seq); put(m.rows_buf, rows);
    if (!out_idx.empty()) put(m.out_idx_buf, out_idx);

    const TensorView x = m.x.rowRange(0, n), xb = m.xb.rowRange(0, n), q = m.q.rowRange(0, n),
                     k = m.k.rowRange(0, n), v = m.v.rowRange(0, n), att = m.att.rowRange(0, n),
                     h1 = m.h1.rowRange(0, n), h3 = m.h3.rowRange(0, n);
    const TensorView vids = m.ids.rowRange(0, n), vpos = m.pos.rowRange(0, n),
                     vseq = m.seq.rowRange(0, n), vrows = m.rows.rowRange(0, n);
    be.getRows(m.tok_embd, vids, x);
    for (int l = 0; l < c.n_layers; ++l) {
      const LayerWeights& L = m.layers[size_t(l)];
      be.rmsNorm(x, L.attn_norm, c.norm_eps, xb);
      be.matmul(L.wq, xb, q);
      be.matmul(L.wk, xb, k);
      be.matmul(L.wv, xb, v);
      be.rope(q, vpos, c.headDim(), c.rope_theta, c.rope_style);
      be.rope(k, vpos, c.headDim(), c.rope_theta, c.rope_style);
      be.storeRows(k, m.k_cache[size_t(l)], vrows);
      be.storeRows(v, m.v_cache[size_t(l)], vrows);
      be.attention(q, m.k_cache[size_t(l)], m.v_cache[size_t(l)], m.block_table, vseq, vpos, ap, att);
      be.matmul(L.wo, att, xb);
      be.add(x, xb);
      be.rmsNorm(x, L.ffn_norm, c.norm_eps, xb);
      be.matmul(L.w1, xb, h1);
      be.matmul(L.w3, xb, h3);
      be.siluMul(h1, h3);
      be.matmul(L.w2, h1, xb);
      be.add(x, xb);
    }
    const int64_t n_out = int64_t(out_idx.size());
    if (n_out == 0) continue;
    const TensorView xg = m.xg.rowRange(0, n_out), lg = m.logits.rowRange(0, n_out);
    be.getRows(x, m.out_idx.rowRange(0, n_out), xg);
    be.rmsNorm(xg, m.out_norm, c.norm_eps, xg);
    be.matmul(m.classifier, xg, lg);
    be.download(*m.logits_buf, 0, out, size_t(n_out) * size_t(c.vocab_size) * 4);
    out += n_out * c.vocab_size;
  }
  be.synchronize();
  if (std::string err = be.lastError(); !err.empty())
    return makeError(be.device().backend + " backend failed: " + err);
  return {};
}

void LlamaRuntime::releaseSlot(int slot) {
  if (slot >= 0 && slot < impl_->opt.max_slots) impl_->kv->release(slot);
}
void LlamaRuntime::releaseAllSlots() { impl_->kv->releaseAll(); }

KvCacheInfo LlamaRuntime::kvCache() const {
  const KvBlockTable& kv = *impl_->kv;
  return {kv.blockSize(), kv.totalBlocks(), kv.usedBlocks(),
          impl_->kv_bytes_per_block * uint64_t(kv.totalBlocks()), impl_->kv_bytes_per_block};
}

const std::vector<int32_t>& LlamaRuntime::kvBlocksOf(int slot) const { return impl_->kv->table(slot); }

const LlamaConfig& LlamaRuntime::config() const { return impl_->cfg; }
const RuntimeOptions& LlamaRuntime::options() const { return impl_->opt; }
Backend& LlamaRuntime::backend() { return *impl_->backend; }
uint64_t LlamaRuntime::weightBytes() const { return impl_->weight_bytes; }

std::vector<KernelUse> LlamaRuntime::kernelsUsed() const {
  const Impl& m = *impl_;
  std::set<DType> matmul_types, table_types{m.tok_embd.type};
  for (const LayerWeights& L : m.layers)
    for (const TensorView* t : {&L.wq, &L.wk, &L.wv, &L.wo, &L.w1, &L.w2, &L.w3})
      matmul_types.insert(t->type);
  matmul_types.insert(m.classifier.type);
  std::vector<KernelUse> out;
  for (DType t : matmul_types)
    out.push_back({"matmul", std::string(dtypeName(t)) + " weights, f32 activations",
                   m.backend->kernelName(Op::MatMul, t)});
  for (DType t : table_types)
    out.push_back({"get_rows", std::string(dtypeName(t)) + " table -> f32",
                   m.backend->kernelName(Op::GetRows, t)});
  for (Op op : {Op::RmsNorm, Op::Rope, Op::Attention, Op::SiluMul, Op::Add, Op::StoreRows})
    out.push_back({opName(op), "f32", m.backend->kernelName(op, DType::F32)});
  return out;
}

}  // namespace precis
