// Trainer (see trainer.h).
#include "engine/train/trainer.h"

#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>

#include "engine/model/gguf_writer.h"
#include "engine/runtime/llama_runtime.h"
#include "engine/train/device_train_graph.h"
#include "engine/train/llama_train.h"
#include "engine/train/train_loss.h"

namespace precis {
namespace {

uint64_t mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

constexpr uint32_t kOptimMagic = 0x4F505250;  // "PRPO"

}  // namespace

TeacherFn runtimeTeacher(LlamaRuntime& rt) {
  return [&rt](std::span<const int32_t> tokens, int batch, int ctx, float* logits) -> Status {
    std::vector<BatchToken> bt;
    bt.reserve(tokens.size());
    for (int b = 0; b < batch; ++b)
      for (int t = 0; t < ctx; ++t) bt.push_back({tokens[size_t(b * ctx + t)], t, b, true});
    return rt.forward(bt, std::span<float>(logits, size_t(batch) * size_t(ctx) * size_t(rt.config().vocab_size)));
  };
}

struct Trainer::Impl {
  TrainOptions opt;
  TrainParams params, grads, effective;
  std::unique_ptr<AdamW> adam;
  std::unique_ptr<ThreadPool> pool;
  std::unique_ptr<TrainGraph> graph;         // the CPU path
  std::shared_ptr<TrainBackend> device;       // the device path: DeviceTrainGraph on `device`
  std::unique_ptr<DeviceTrainGraph> dgraph;
  std::string backend_note;
  bool host_stale = false;   // the device holds newer weights/moments than params / adam
  bool device_stale = false; // the host's weights were handed out for writing: upload before use
  std::vector<int32_t> train, heldout;
  TeacherFn teacher;
  std::vector<int32_t> inputs, labels;
  std::vector<float> teacher_logits;
  std::vector<float> eval_teacher;  // cached held-out teacher logits
  bool eval_teacher_ready = false;
  int64_t step = 0;
  bool cancelled = false;

  const TrainParams& forwardParams() const { return opt.weight_transform ? effective : params; }

  // Copies the device's weights and moments to the host when they are newer.
  void syncHost() {
    if (!dgraph || !host_stale) return;
    dgraph->downloadParams(params);
    dgraph->downloadMoments(adam->m(), adam->v());
    host_stale = false;
  }
  void syncDevice() {
    if (!dgraph || !device_stale) return;
    dgraph->uploadParams(params);
    device_stale = false;
  }
  Status deviceStatus(const char* what) const {
    if (!dgraph || dgraph->error().empty()) return {};
    return makeError(std::string("trainer: ") + what + " on " + device->name() + ": " + dgraph->error());
  }

  void fillWindow(const std::vector<int32_t>& stream, int64_t start, int b) {
    const int T = opt.ctx;
    for (int t = 0; t < T; ++t) {
      inputs[size_t(b * T + t)] = stream[size_t(start + t)];
      labels[size_t(b * T + t)] = stream[size_t(start + t + 1)];
    }
  }
};

Trainer::Trainer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Trainer::~Trainer() = default;

Result<std::unique_ptr<Trainer>> Trainer::create(TrainParams init, const TrainOptions& o, std::vector<int32_t> train,
                                                 std::vector<int32_t> heldout, TeacherFn teacher) {
  if (Status s = init.config.validate(); !s) return makeError("trainer: " + s.error().message);
  if (o.batch < 1 || o.ctx < 2) return makeError("trainer: batch must be >= 1 and ctx >= 2");
  if (o.ctx > init.config.context_length)
    return makeError("trainer: ctx " + std::to_string(o.ctx) + " exceeds the model's context length " +
                     std::to_string(init.config.context_length));
  if (int64_t(train.size()) < o.ctx + 1)
    return makeError("trainer: training data has " + std::to_string(train.size()) + " tokens, need at least ctx + 1 = " +
                     std::to_string(o.ctx + 1));
  if (int64_t(heldout.size()) < o.ctx + 1)
    return makeError("trainer: held-out data has " + std::to_string(heldout.size()) +
                     " tokens, need at least ctx + 1 = " + std::to_string(o.ctx + 1));
  if (!teacher && o.distill.alpha != 0.f) return makeError("trainer: alpha > 0 needs a teacher");
  if (o.distill.alpha < 0.f || o.distill.alpha > 1.f) return makeError("trainer: alpha must be in [0, 1]");
  if (!(o.distill.temperature > 0.f)) return makeError("trainer: temperature must be > 0");
  const int V = init.config.vocab_size;
  for (const std::vector<int32_t>* s : {&train, &heldout})
    for (int32_t t : *s)
      if (t < 0 || t >= V)
        return makeError("trainer: token id " + std::to_string(t) + " is outside the vocabulary of " + std::to_string(V));
  auto impl = std::make_unique<Impl>();
  impl->opt = o;
  impl->grads = TrainParams::zeros(init.config);
  if (o.weight_transform) impl->effective = TrainParams::zeros(init.config);
  impl->params = std::move(init);
  impl->adam = std::make_unique<AdamW>(impl->params, o.adam);
  impl->pool = std::make_unique<ThreadPool>(o.threads);
  if (o.train_backend) {
    impl->device = o.train_backend;
  } else if (o.backend != "cpu") {
    Result<std::unique_ptr<TrainBackend>> be =
        createTrainBackend(o.backend, TrainBackendOptions{o.threads, 0, o.tf32}, &impl->backend_note);
    if (!be) return makeError("trainer: " + be.error().message);
    if ((*be)->name() != "cpu") impl->device = std::move(*be);  // "auto" without CUDA: the CPU path
  }
  if (impl->device) {
    if (o.weight_transform || o.activations != ActFormat::None)
      return makeError("trainer: quantization-aware training runs on the CPU only (training backend \"cpu\")");
    Result<std::unique_ptr<DeviceTrainGraph>> g =
        DeviceTrainGraph::create(*impl->device, impl->params, o.batch, o.ctx);
    if (!g) return makeError("trainer: " + g.error().message);
    impl->dgraph = std::move(*g);
  } else {
    impl->graph = std::make_unique<TrainGraph>(impl->params.config, o.batch, o.ctx);
    impl->graph->setActivationQuant(o.activations, o.quantize_classifier_input);
  }
  impl->train = std::move(train);
  impl->heldout = std::move(heldout);
  impl->teacher = std::move(teacher);
  const size_t N = size_t(o.batch) * size_t(o.ctx);
  impl->inputs.resize(N);
  impl->labels.resize(N);
  if (impl->teacher) impl->teacher_logits.resize(N * size_t(V));
  return std::unique_ptr<Trainer>(new Trainer(std::move(impl)));
}

namespace {

// A step whose loss or gradient norm is not finite stops training with advice.
Status checkFinite(double grad_norm, const LossStats& ls, int64_t step) {
  if (std::isfinite(grad_norm) && std::isfinite(ls.loss)) return {};
  return makeError("trainer: loss or gradient became non-finite at step " + std::to_string(step + 1) +
                   " (lower the learning rate)");
}

// Fills a finished step's metrics (its grad_norm is already set); `tokens` = batch x ctx.
void finishMetrics(StepMetrics& sm, const LossStats& ls, float lr, int64_t step, int64_t tokens,
                   std::chrono::steady_clock::time_point t0) {
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  sm.step = step;
  sm.loss = ls.loss;
  sm.ce = ls.ce;
  sm.kl = ls.kl;
  sm.agreement = ls.agreement;
  sm.lr = lr;
  sm.tokens_per_s = secs > 0 ? double(tokens) / secs : 0;
}

}  // namespace

Result<StepMetrics> Trainer::step() {
  Impl& m = *impl_;
  const auto t0 = std::chrono::steady_clock::now();
  const int B = m.opt.batch, T = m.opt.ctx, V = m.params.config.vocab_size;
  const int64_t span = int64_t(m.train.size()) - T - 1;
  for (int b = 0; b < B; ++b) {
    const uint64_t h = mix(m.opt.seed ^ mix(uint64_t(m.step) * 1000003ull + uint64_t(b)));
    m.fillWindow(m.train, span > 0 ? int64_t(h % uint64_t(span + 1)) : 0, b);
  }
  if (m.teacher)
    if (Status s = m.teacher(m.inputs, B, T, m.teacher_logits.data()); !s) return makeError("teacher: " + s.error().message);
  if (m.dgraph) return deviceStep(t0);
  if (m.opt.weight_transform) m.opt.weight_transform(m.params, m.effective);
  const TrainParams& fp = m.forwardParams();
  m.graph->forward(*m.pool, fp, m.inputs.data());
  const LossStats ls = batchLoss(*m.pool, m.graph->logits(), m.teacher ? m.teacher_logits.data() : nullptr,
                                 m.labels.data(), int64_t(B) * T, V, m.opt.distill, m.graph->dlogits());
  std::fill(m.grads.data.begin(), m.grads.data.end(), 0.f);
  m.graph->backward(*m.pool, fp, m.grads);
  StepMetrics sm;
  sm.grad_norm = clipGradNorm(m.grads, m.opt.clip);
  if (Status s = checkFinite(sm.grad_norm, ls, m.step); !s) return s.error();
  const float lr = scheduledLr(m.opt.adam.lr, m.step, m.opt.warmup, m.opt.steps, m.opt.min_lr_ratio);
  m.adam->step(m.params, m.grads, lr, m.pool.get());
  ++m.step;
  finishMetrics(sm, ls, lr, m.step, int64_t(B) * T, t0);
  return sm;
}

Result<EvalMetrics> Trainer::evaluate() {
  Impl& m = *impl_;
  const int B = m.opt.batch, T = m.opt.ctx, V = m.params.config.vocab_size;
  const int64_t avail = (int64_t(m.heldout.size()) - 1) / T;
  const int64_t windows = std::max<int64_t>(1, std::min<int64_t>(m.opt.eval_windows, avail));
  if (m.teacher && !m.eval_teacher_ready) {
    m.eval_teacher.assign(size_t(windows) * size_t(T) * size_t(V), 0.f);
    for (int64_t w0 = 0; w0 < windows; w0 += B) {
      for (int b = 0; b < B; ++b) m.fillWindow(m.heldout, std::min(w0 + b, windows - 1) * T, b);
      if (Status s = m.teacher(m.inputs, B, T, m.teacher_logits.data()); !s) return makeError("teacher: " + s.error().message);
      const int64_t n = std::min<int64_t>(B, windows - w0);
      std::memcpy(m.eval_teacher.data() + size_t(w0) * size_t(T) * size_t(V), m.teacher_logits.data(),
                  size_t(n) * size_t(T) * size_t(V) * 4);
    }
    m.eval_teacher_ready = true;
  }
  if (m.opt.weight_transform) m.opt.weight_transform(m.params, m.effective);
  EvalMetrics em;
  em.step = m.step;
  m.syncDevice();
  for (int64_t w0 = 0; w0 < windows; w0 += B) {
    for (int b = 0; b < B; ++b) m.fillWindow(m.heldout, std::min(w0 + b, windows - 1) * T, b);
    const int64_t rows = std::min<int64_t>(B, windows - w0) * T;
    const float* teacher = m.teacher ? m.eval_teacher.data() + size_t(w0) * size_t(T) * size_t(V) : nullptr;
    LossStats ls;
    if (m.dgraph) {
      m.dgraph->forward(m.inputs);
      ls = m.dgraph->loss(teacher, std::span<const int32_t>(m.labels.data(), size_t(rows)), {0.f, 1.f}, false);
      if (Status s = m.deviceStatus("evaluation"); !s) return s.error();
    } else {
      m.graph->forward(*m.pool, m.forwardParams(), m.inputs.data());
      ls = batchLoss(*m.pool, m.graph->logits(), teacher, m.labels.data(), rows, V, {0.f, 1.f}, nullptr);
    }
    em.ce += ls.ce * double(rows);
    em.kl += ls.kl * double(rows);
    em.agreement += ls.agreement * double(rows);
    em.tokens += rows;
  }
  em.ce /= double(em.tokens);
  em.kl /= double(em.tokens);
  em.agreement /= double(em.tokens);
  em.perplexity = std::exp(em.ce);
  return em;
}

Status Trainer::run(const TrainCallbacks& cb) {
  Impl& m = *impl_;
  while (m.step < m.opt.steps) {
    if (cb.should_stop && cb.should_stop()) {
      m.cancelled = true;
      return {};
    }
    Result<StepMetrics> sm = step();
    if (!sm) return sm.error();
    if (cb.on_step) cb.on_step(*sm);
    const bool last = m.step == m.opt.steps;
    if (last || (m.opt.eval_every > 0 && m.step % m.opt.eval_every == 0)) {
      Result<EvalMetrics> em = evaluate();
      if (!em) return em.error();
      if (cb.on_eval) cb.on_eval(*em);
    }
  }
  return {};
}

Result<StepMetrics> Trainer::deviceStep(std::chrono::steady_clock::time_point t0) {
  Impl& m = *impl_;
  const int B = m.opt.batch, T = m.opt.ctx;
  m.syncDevice();
  DeviceTrainGraph& g = *m.dgraph;
  g.forward(m.inputs);
  const LossStats ls = g.loss(m.teacher ? m.teacher_logits.data() : nullptr, m.labels, m.opt.distill, true);
  g.backward();
  StepMetrics sm;
  sm.grad_norm = g.clipGradNorm(m.opt.clip);
  if (Status s = m.deviceStatus("training step"); !s) return s.error();
  if (Status s = checkFinite(sm.grad_norm, ls, m.step); !s) return s.error();
  const float lr = scheduledLr(m.opt.adam.lr, m.step, m.opt.warmup, m.opt.steps, m.opt.min_lr_ratio);
  m.adam->setSteps(m.adam->steps() + 1);
  g.adamwStep(m.opt.adam, lr, m.adam->steps());
  g.backend().synchronize();  // the step's time includes the device's work
  if (Status s = m.deviceStatus("AdamW update"); !s) return s.error();
  m.host_stale = true;
  ++m.step;
  finishMetrics(sm, ls, lr, m.step, int64_t(B) * T, t0);
  return sm;
}

int64_t Trainer::stepsDone() const { return impl_->step; }
bool Trainer::cancelled() const { return impl_->cancelled; }
std::string Trainer::backendName() const {
  if (!impl_->device) return "cpu";
  return impl_->device->name() + ": " + impl_->device->deviceName();
}
std::string Trainer::backendNote() const { return impl_->backend_note; }
const TrainParams& Trainer::params() const {
  impl_->syncHost();
  return impl_->params;
}
TrainParams& Trainer::mutableParams() {
  impl_->syncHost();
  impl_->device_stale = impl_->dgraph != nullptr;
  return impl_->params;
}
const TrainOptions& Trainer::options() const { return impl_->opt; }

Status Trainer::saveCheckpoint(const std::string& path, const TokenizerData& tokenizer, const std::string& name) const {
  Impl& m = *impl_;  // refreshes the fake-quantized copy; the training state is unchanged
  m.syncHost();
  if (m.opt.weight_transform) m.opt.weight_transform(m.params, m.effective);
  const TrainParams& w = m.opt.weight_transform ? m.effective : m.params;
  if (Status s = writeGguf(w.toModel(tokenizer, name), path); !s) return s;
  const std::string op = path + ".optim";
  const std::string tmp = op + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    if (!out) return makeError(op + ": cannot write optimizer state");
    const uint32_t magic = kOptimMagic, version = 1;
    const int64_t step = m.step, count = m.params.count();
    out.write(reinterpret_cast<const char*>(&magic), 4);
    out.write(reinterpret_cast<const char*>(&version), 4);
    out.write(reinterpret_cast<const char*>(&step), 8);
    out.write(reinterpret_cast<const char*>(&count), 8);
    // The fp32 master weights too: with quantization-aware training the GGUF holds the quantized
    // weights, and resuming needs the master copy.
    out.write(reinterpret_cast<const char*>(m.params.data.data()), std::streamsize(count * 4));
    out.write(reinterpret_cast<const char*>(m.adam->m().data()), std::streamsize(count * 4));
    out.write(reinterpret_cast<const char*>(m.adam->v().data()), std::streamsize(count * 4));
    if (!out) return makeError(op + ": write failed");
  }
  if (std::rename(tmp.c_str(), op.c_str()) != 0) return makeError(op + ": cannot rename from " + tmp);
  return {};
}

Status Trainer::loadOptimizerState(const std::string& op) {
  Impl& m = *impl_;
  std::ifstream in(op, std::ios::binary);
  if (!in) return makeError(op + ": cannot open optimizer state");
  uint32_t magic = 0, version = 0;
  int64_t step = 0, count = 0;
  in.read(reinterpret_cast<char*>(&magic), 4);
  in.read(reinterpret_cast<char*>(&version), 4);
  in.read(reinterpret_cast<char*>(&step), 8);
  in.read(reinterpret_cast<char*>(&count), 8);
  if (!in || magic != kOptimMagic || version != 1) return makeError(op + ": not a Precis optimizer state file");
  if (count != m.params.count())
    return makeError(op + ": holds " + std::to_string(count) + " parameters, the model has " +
                     std::to_string(m.params.count()));
  in.read(reinterpret_cast<char*>(m.params.data.data()), std::streamsize(count * 4));
  in.read(reinterpret_cast<char*>(m.adam->m().data()), std::streamsize(count * 4));
  in.read(reinterpret_cast<char*>(m.adam->v().data()), std::streamsize(count * 4));
  if (!in) return makeError(op + ": truncated");
  m.step = step;
  m.adam->setSteps(step);
  if (m.dgraph) {
    m.dgraph->uploadParams(m.params);
    m.dgraph->uploadMoments(m.adam->m(), m.adam->v());
    m.host_stale = m.device_stale = false;
    if (Status s = m.deviceStatus("restoring the optimizer state"); !s) return s;
  }
  return {};
}

}  // namespace precis
