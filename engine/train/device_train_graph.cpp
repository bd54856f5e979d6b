// DeviceTrainGraph (see device_train_graph.h). forward() and backward() follow TrainGraph's
// llama_train.cpp line by line, so the two can be read side by side.
#include "engine/train/device_train_graph.h"

#include <cmath>

namespace precis {

DeviceTrainGraph::DeviceTrainGraph(TrainBackend& be, const TrainParams& layout, int batch, int ctx)
    : be_(be), B_(batch), T_(ctx), P_(layout.count()) {
  layout_.config = layout.config;
  layout_.tensors = layout.tensors;
}

DeviceTrainGraph::~DeviceTrainGraph() {
  be_.synchronize();
}

float* DeviceTrainGraph::array(int64_t count) {
  std::unique_ptr<Buffer> b = be_.alloc(size_t(count) * sizeof(float));
  if (!b) {
    out_of_memory_ = true;
    return nullptr;
  }
  buffers_.push_back(std::move(b));
  return static_cast<float*>(buffers_.back()->data());
}

Result<std::unique_ptr<DeviceTrainGraph>> DeviceTrainGraph::create(TrainBackend& be,
                                                                   const TrainParams& init,
                                                                   int batch, int ctx) {
  const LlamaConfig& c = init.config;
  if (batch < 1 || ctx < 1) return makeError("device training graph: batch and ctx must be >= 1");
  std::unique_ptr<DeviceTrainGraph> g(new DeviceTrainGraph(be, init, batch, ctx));
  const int64_t N = int64_t(batch) * ctx, D = c.dim, KV = c.kvDim(), H = c.hidden_dim,
                V = c.vocab_size, P = init.count();
  g->params_ = g->array(P);
  g->grads_ = g->array(P);
  g->m_ = g->array(P);
  g->v_ = g->array(P);
  g->pos_ = reinterpret_cast<int32_t*>(g->array(N));
  g->layers_.resize(size_t(c.n_layers));
  for (Layer& L : g->layers_) {
    L.x = g->array(N * D);
    L.rstd1 = g->array(N);
    L.xn1 = g->array(N * D);
    L.q = g->array(N * D);
    L.k = g->array(N * KV);
    L.v = g->array(N * KV);
    L.probs = g->array(int64_t(batch) * c.n_heads * ctx * ctx);
    L.ao = g->array(N * D);
    L.xmid = g->array(N * D);
    L.rstd2 = g->array(N);
    L.xn2 = g->array(N * D);
    L.g = g->array(N * H);
    L.u = g->array(N * H);
    L.h = g->array(N * H);
  }
  g->xfinal_ = g->array(N * D);
  g->rstdf_ = g->array(N);
  g->xnf_ = g->array(N * D);
  g->logits_ = g->array(N * V);
  g->dlogits_ = g->array(N * V);
  g->dx_ = g->array(N * D);
  g->dxn_ = g->array(N * D);
  g->dq_ = g->array(N * D);
  g->dk_ = g->array(N * KV);
  g->dv_ = g->array(N * KV);
  g->dao_ = g->array(N * D);
  g->dh_ = g->array(N * H);
  g->dg_ = g->array(N * H);
  g->du_ = g->array(N * H);
  if (g->out_of_memory_)
    return makeError("device training graph: out of memory on " + be.name() + " (" +
                     be.deviceName() + ") for " + std::to_string(init.count()) +
                     " parameters, batch " + std::to_string(batch) + " x ctx " +
                     std::to_string(ctx) + ": " + be.lastError());
  std::vector<int32_t> pos(static_cast<size_t>(N));
  for (int64_t i = 0; i < N; ++i) pos[size_t(i)] = int32_t(i % ctx);
  be.upload(g->pos_, pos.data(), pos.size() * sizeof(int32_t));
  g->uploadParams(init);
  be.synchronize();
  if (!be.lastError().empty()) return makeError("device training graph: " + be.lastError());
  return g;
}

const float* DeviceTrainGraph::w(const char* name) const {
  return params_ + layout_.find(name)->offset;
}
float* DeviceTrainGraph::gw(const char* name) {
  return grads_ + layout_.find(name)->offset;
}
const float* DeviceTrainGraph::w(int l, const char* part) const {
  return w(layerTensorName(l, part).c_str());
}
float* DeviceTrainGraph::gw(int l, const char* part) {
  return gw(layerTensorName(l, part).c_str());
}

void DeviceTrainGraph::forward(std::span<const int32_t> tokens) {
  const LlamaConfig& c = layout_.config;
  const int64_t N = int64_t(B_) * T_, D = c.dim, KV = c.kvDim(), H = c.hidden_dim, V = c.vocab_size;
  tokens_.assign(tokens.begin(), tokens.end());
  const bool half = c.rope_style == RopeStyle::Half;
  const cpu::TrainAttnShape as{B_,           T_,          c.n_heads,
                               c.n_kv_heads, c.headDim(), 1.0f / std::sqrt(float(c.headDim()))};
  const float* emb = w(kTokenEmbd);
  float* x = layers_.empty() ? xfinal_ : layers_[0].x;
  be_.embeddingForward(emb, tokens, x, D);
  for (int l = 0; l < c.n_layers; ++l) {
    Layer& L = layers_[size_t(l)];
    be_.rmsNormForward(L.x, w(l, "attn_norm"), c.norm_eps, L.xn1, L.rstd1, N, D);
    be_.linearForward(L.xn1, w(l, "attn_q"), L.q, N, D, D);
    be_.linearForward(L.xn1, w(l, "attn_k"), L.k, N, D, KV);
    be_.linearForward(L.xn1, w(l, "attn_v"), L.v, N, D, KV);
    be_.rope(L.q, pos_, N, c.n_heads, c.headDim(), c.rope_theta, half, 1.f);
    be_.rope(L.k, pos_, N, c.n_kv_heads, c.headDim(), c.rope_theta, half, 1.f);
    be_.attentionForward(L.q, L.k, L.v, as, L.probs, L.ao);
    be_.linearForward(L.ao, w(l, "attn_output"), L.xmid, N, D, D);
    be_.add(L.xmid, L.x, N * D);
    be_.rmsNormForward(L.xmid, w(l, "ffn_norm"), c.norm_eps, L.xn2, L.rstd2, N, D);
    be_.linearForward(L.xn2, w(l, "ffn_gate"), L.g, N, D, H);
    be_.linearForward(L.xn2, w(l, "ffn_up"), L.u, N, D, H);
    be_.swigluForward(L.g, L.u, L.h, N * H);
    float* next = l + 1 < c.n_layers ? layers_[size_t(l) + 1].x : xfinal_;
    be_.linearForward(L.h, w(l, "ffn_down"), next, N, H, D);
    be_.add(next, L.xmid, N * D);
  }
  be_.rmsNormForward(xfinal_, w(kOutputNorm), c.norm_eps, xnf_, rstdf_, N, D);
  be_.linearForward(xnf_, c.tied_classifier ? emb : w(kOutput), logits_, N, D, V);
}

LossStats DeviceTrainGraph::loss(const float* teacher, std::span<const int32_t> labels,
                                 const cpu::DistillParams& p, bool with_grad) {
  const int64_t V = layout_.config.vocab_size, rows = int64_t(labels.size());
  LossStats st;
  st.rows = rows;
  if (rows == 0) return st;
  const float* dev_teacher = nullptr;
  if (teacher) {
    if (!teacher_) teacher_ = array(int64_t(B_) * T_ * V);
    if (!teacher_) return st;  // out of memory: the backend's error says so
    be_.upload(teacher_, teacher, size_t(rows) * size_t(V) * sizeof(float));
    dev_teacher = teacher_;
  }
  if (with_grad) be_.zero(dlogits_, size_t(B_) * size_t(T_) * size_t(V) * sizeof(float));
  const LossSums s = be_.distillLoss(logits_, dev_teacher, labels, V, p, 1.f / float(rows),
                                     with_grad ? dlogits_ : nullptr);
  st.loss = s.loss / double(rows);
  st.ce = s.ce / double(rows);
  st.kl = s.kl / double(rows);
  st.agreement = s.agree / double(rows);
  return st;
}

void DeviceTrainGraph::backward() {
  const LlamaConfig& c = layout_.config;
  const int64_t N = int64_t(B_) * T_, D = c.dim, KV = c.kvDim(), H = c.hidden_dim, V = c.vocab_size;
  const size_t fb = sizeof(float);
  const bool half = c.rope_style == RopeStyle::Half;
  const cpu::TrainAttnShape as{B_,           T_,          c.n_heads,
                               c.n_kv_heads, c.headDim(), 1.0f / std::sqrt(float(c.headDim()))};
  const char* cls_name = c.tied_classifier ? kTokenEmbd : kOutput;
  be_.zero(grads_, size_t(P_) * fb);
  // Classifier and final norm.
  be_.zero(dxn_, size_t(N * D) * fb);
  be_.linearBackwardInput(dlogits_, w(cls_name), dxn_, N, D, V);
  be_.linearBackwardWeight(dlogits_, xnf_, gw(cls_name), N, D, V);
  be_.zero(dx_, size_t(N * D) * fb);
  be_.rmsNormBackward(dxn_, xfinal_, w(kOutputNorm), rstdf_, dx_, gw(kOutputNorm), N, D);
  // dx_ holds d loss / d (residual stream after layer l).
  for (int l = c.n_layers - 1; l >= 0; --l) {
    Layer& L = layers_[size_t(l)];
    // Feed-forward: next = xmid + down(silu(gate xn2) * up xn2).
    be_.zero(dh_, size_t(N * H) * fb);
    be_.linearBackwardInput(dx_, w(l, "ffn_down"), dh_, N, H, D);
    be_.linearBackwardWeight(dx_, L.h, gw(l, "ffn_down"), N, H, D);
    be_.swigluBackward(dh_, L.g, L.u, dg_, du_, N * H);
    be_.zero(dxn_, size_t(N * D) * fb);
    be_.linearBackwardInput(dg_, w(l, "ffn_gate"), dxn_, N, D, H);
    be_.linearBackwardInput(du_, w(l, "ffn_up"), dxn_, N, D, H);
    be_.linearBackwardWeight(dg_, L.xn2, gw(l, "ffn_gate"), N, D, H);
    be_.linearBackwardWeight(du_, L.xn2, gw(l, "ffn_up"), N, D, H);
    be_.rmsNormBackward(dxn_, L.xmid, w(l, "ffn_norm"), L.rstd2, dx_, gw(l, "ffn_norm"), N, D);
    // Attention: xmid = x + wo(attn(rope(wq xn1), rope(wk xn1), wv xn1)).
    be_.zero(dao_, size_t(N * D) * fb);
    be_.linearBackwardInput(dx_, w(l, "attn_output"), dao_, N, D, D);
    be_.linearBackwardWeight(dx_, L.ao, gw(l, "attn_output"), N, D, D);
    be_.attentionBackward(dao_, L.q, L.k, L.v, L.probs, as, dq_, dk_, dv_);
    be_.rope(dq_, pos_, N, c.n_heads, c.headDim(), c.rope_theta, half, -1.f);
    be_.rope(dk_, pos_, N, c.n_kv_heads, c.headDim(), c.rope_theta, half, -1.f);
    be_.zero(dxn_, size_t(N * D) * fb);
    be_.linearBackwardInput(dq_, w(l, "attn_q"), dxn_, N, D, D);
    be_.linearBackwardInput(dk_, w(l, "attn_k"), dxn_, N, D, KV);
    be_.linearBackwardInput(dv_, w(l, "attn_v"), dxn_, N, D, KV);
    be_.linearBackwardWeight(dq_, L.xn1, gw(l, "attn_q"), N, D, D);
    be_.linearBackwardWeight(dk_, L.xn1, gw(l, "attn_k"), N, D, KV);
    be_.linearBackwardWeight(dv_, L.xn1, gw(l, "attn_v"), N, D, KV);
    be_.rmsNormBackward(dxn_, L.x, w(l, "attn_norm"), L.rstd1, dx_, gw(l, "attn_norm"), N, D);
  }
  be_.embeddingBackward(dx_, tokens_, gw(kTokenEmbd), D);
}

double DeviceTrainGraph::clipGradNorm(double max_norm) {
  const double norm = std::sqrt(be_.sumSquares(grads_, P_));
  if (max_norm > 0 && norm > max_norm) be_.scale(grads_, float(max_norm / (norm + 1e-6)), P_);
  return norm;
}

void DeviceTrainGraph::adamwStep(const AdamWConfig& config, float lr, int64_t step) {
  for (const ParamTensor& t : layout_.tensors) {
    const AdamWElementParams a = adamwElementParams(config, lr, step, t.shape.size() >= 2);
    be_.adamw(params_ + t.offset, grads_ + t.offset, m_ + t.offset, v_ + t.offset, t.size, a);
  }
}

void DeviceTrainGraph::uploadParams(const TrainParams& p) {
  be_.upload(params_, p.data.data(), p.data.size() * sizeof(float));
}
void DeviceTrainGraph::downloadParams(TrainParams& p) {
  be_.download(p.data.data(), params_, p.data.size() * sizeof(float));
}
void DeviceTrainGraph::downloadGrads(TrainParams& g) {
  be_.download(g.data.data(), grads_, g.data.size() * sizeof(float));
}
void DeviceTrainGraph::uploadMoments(const std::vector<float>& m, const std::vector<float>& v) {
  be_.upload(m_, m.data(), m.size() * sizeof(float));
  be_.upload(v_, v.data(), v.size() * sizeof(float));
}
void DeviceTrainGraph::downloadMoments(std::vector<float>& m, std::vector<float>& v) {
  be_.download(m.data(), m_, m.size() * sizeof(float));
  be_.download(v.data(), v_, v.size() * sizeof(float));
}
void DeviceTrainGraph::downloadLogits(std::vector<float>& logits) {
  const size_t n = size_t(B_) * size_t(T_) * size_t(layout_.config.vocab_size);
  logits.resize(n);
  be_.download(logits.data(), logits_, n * sizeof(float));
}

}  // namespace precis
