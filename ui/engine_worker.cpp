// EngineWorker (see engine_worker.h). Runs on the engine thread only; nothing here is read from
// the GUI thread except the atomic cancel flag.
#include "ui/engine_worker.h"

#include <QFileInfo>
#include <QLocale>
#include <algorithm>
#include <chrono>
#include <optional>

#include "engine/backend/registry.h"
#include "engine/eval/evaluator.h"
#include "engine/eval/token_input.h"
#include "engine/model/loader.h"
#include "engine/model/presets.h"
#include "engine/quant/convert.h"
#include "engine/quant/sensitivity.h"
#include "engine/runtime/llama_runtime.h"
#include "engine/tokenizer/tokenizer.h"
#include "ui/eval_log.h"
#include "ui/scheme_run.h"

namespace precis::ui {

namespace {

QString q(const std::string& s) { return QString::fromStdString(s); }

int32_t bosOf(const Model& m) {
  return m.tokenizer.kind != TokenizerKind::None && m.tokenizer.bos_id >= 0 ? m.tokenizer.bos_id : 1;
}

bool anyQuantized(const Model& m) {
  return std::any_of(m.tensors.begin(), m.tensors.end(),
                     [](const WeightTensor& t) { return dtypeTraits(t.type).quantized; });
}

QString shapeString(const std::vector<int64_t>& shape) {
  QStringList parts;
  for (int64_t d : shape) parts << QString::number(d);
  return "(" + parts.join(", ") + ")";
}

ModelSummary summarize(const Model& m, const QString& label) {
  ModelSummary s;
  const LlamaConfig& c = m.config;
  s.path = label;
  s.format = q(m.format);
  s.context_length = c.context_length;
  s.vocab_size = c.vocab_size;
  s.architecture =
      QString("Llama: %1 layers, width %2, SwiGLU hidden %3\n%4 attention heads, %5 KV heads (head size %6)\n"
              "vocabulary %7, context %8 tokens, RMSNorm eps %9\nRoPE θ %10 (%11 pairs), classifier %12\n"
              "%13 parameters")
          .arg(c.n_layers).arg(c.dim).arg(c.hidden_dim).arg(c.n_heads).arg(c.n_kv_heads).arg(c.headDim())
          .arg(c.vocab_size).arg(c.context_length).arg(c.norm_eps, 0, 'g', 3).arg(c.rope_theta, 0, 'g', 6)
          .arg(c.rope_style == RopeStyle::Adjacent ? "adjacent" : "rotate-half")
          .arg(c.tied_classifier ? "tied to the embedding" : "separate")
          .arg(QLocale().toString(static_cast<qlonglong>(c.parameterCount())));
  s.has_tokenizer = m.tokenizer.kind != TokenizerKind::None;
  if (!s.has_tokenizer) {
    s.tokenizer = "none in the file: evaluate sampled tokens or a token-id file";
  } else {
    s.tokenizer = QString("%1 pieces from %2, BOS %3, EOS %4")
                      .arg(m.tokenizer.pieces.size()).arg(q(m.tokenizer.source))
                      .arg(m.tokenizer.bos_id).arg(m.tokenizer.eos_id);
    if (Result<Tokenizer> t = Tokenizer::create(m.tokenizer); !t)
      s.tokenizer += " (unusable: " + q(t.error().message) + ")";
  }
  for (const WeightTensor& t : m.tensors)
    s.tensors.push_back({q(t.name), shapeString(t.shape), dtypeName(t.type), t.bytes, t.cols()});
  if (auto it = m.metadata.find("warnings"); it != m.metadata.end()) s.warnings = q(it->second);
  return s;
}

SchemeSettings settingsOf(const EvalRequest& r) {
  SchemeSettings s;
  s.format = r.format.toStdString();
  s.granularity = r.granularity.toStdString();
  s.activations = r.activations.toStdString();
  s.act_granularity = r.act_granularity.toStdString();
  s.calibration = r.calibration.toStdString();
  for (const QString& o : r.overrides) s.overrides.push_back(o.trimmed().toStdString());
  s.include_embeddings = r.quantize_embeddings;
  return s;
}

bool hasGranularity(const QString& format) {
  Result<WeightFormat> f = parseWeightFormat(format.toStdString());
  return f && formatHasGranularity(*f);
}

// The weights column / details label of a scheme.
QString schemeLabel(const EvalRequest& r) {
  QString t = r.format;
  if (hasGranularity(r.format)) t += " " + r.granularity;
  if (r.activations != "none") t += ", act " + r.activations + (r.act_granularity == "tensor" ? " static" : " per token");
  if (r.calibration != "max") t += ", calib " + r.calibration;
  if (!r.overrides.isEmpty()) t += QString(", %1 override%2").arg(r.overrides.size()).arg(r.overrides.size() > 1 ? "s" : "");
  return t;
}

// precis-cli eval's options for this request (see ui/eval_log.h).
std::map<std::string, std::string> cliOptions(const EvalRequest& r) {
  std::map<std::string, std::string> o{{"weights", r.format.toStdString()}};
  if (hasGranularity(r.format)) o["granularity"] = r.granularity.toStdString();
  if (r.activations != "none") {
    o["activations"] = r.activations.toStdString();
    o["act-granularity"] = r.act_granularity.toStdString();
    if (r.act_granularity == "tensor") o["calib-tokens"] = std::to_string(r.calib_tokens);
  }
  if (r.calibration != "max") o["calibration"] = r.calibration.toStdString();
  if (!r.overrides.isEmpty()) o["override"] = r.overrides.join(",").toStdString();
  if (r.quantize_embeddings) o["quantize-embeddings"] = "";
  if (r.ctx > 0) o["ctx"] = std::to_string(r.ctx);
  if (r.source == EvalRequest::Source::Sample) {
    o["sample"] = std::to_string(r.sample_tokens);
    o["seed"] = std::to_string(r.seed);
  } else {
    o[r.source == EvalRequest::Source::TokenFile ? "tokens" : "text"] = QFileInfo(r.file).absoluteFilePath().toStdString();
  }
  return o;
}

// Display text of every token id the token view shows: the tokenizer's piece, or "⟨id⟩".
void fillPieces(EvalRecord& rec, const Model& m) {
  std::optional<Tokenizer> tok;
  if (m.tokenizer.kind != TokenizerKind::None)
    if (Result<Tokenizer> t = Tokenizer::create(m.tokenizer)) tok.emplace(std::move(*t));
  auto add = [&](int32_t id) {
    if (id < 0 || rec.pieces.contains(id)) return;
    const QString text = tok ? q(tok->pieceText(id)) : QString();
    rec.pieces.insert(id, text.isEmpty() ? QString("⟨%1⟩").arg(id) : text);
  };
  for (const std::vector<int32_t>& seq : rec.sequences)
    for (int32_t id : seq) add(id);
  for (const ScoredToken& t : rec.token_details) add(t.top_ref), add(t.top_test);
}

}  // namespace

struct EngineWorker::Prepared {
  std::unique_ptr<LlamaRuntime> reference;
  std::vector<std::vector<int32_t>> sequences;
  QString input;
  int ctx = 0;
};

EngineWorker::EngineWorker(std::shared_ptr<LiveBuffer> frontier, QObject* parent)
    : QObject(parent), frontier_(std::move(frontier)) {}

EngineWorker::~EngineWorker() = default;

bool EngineWorker::ensureBackend() {
  if (backend_) return true;
  start("auto");
  return backend_ != nullptr;
}

void EngineWorker::start(const QString& backend) {
  DeviceSummary d;
  for (const BackendProbe& p : probeBackends())
    d.probes << QString("%1: %2 (%3)").arg(q(p.name), p.available ? "available" : "unavailable", q(p.detail));
  Result<std::unique_ptr<Backend>> b = createBackend(backend.toStdString());
  if (!b && backend != "cpu") {
    emit failed("device", QString("%1 backend: %2. Running on the CPU instead.").arg(backend, q(b.error().message)));
    b = createBackend("cpu");
  }
  if (!b) {
    emit failed("device", q(b.error().message));
    return;
  }
  backend_ = std::move(*b);
  const DeviceInfo& info = backend_->device();
  d.backend = q(info.backend);
  d.name = q(info.name);
  d.memory_total = info.memory_total;
  d.memory_free = info.memory_free;
  d.threads = info.threads;
  d.blas = q(info.blas);
  emit deviceReady(d);
}

bool EngineWorker::setModel(Model model, const QString& label, double lo) {
  auto next = std::make_shared<Model>(std::move(model));
  std::shared_ptr<Model> reference = next;
  if (anyQuantized(*next)) {
    // The f32 reference of a quantized file: one tensor at a time, interruptible.
    auto progress = [&](int done, int total) {
      if (load_hook_) load_hook_("dequantize", done, total);
      emit progressChanged("load", lo + (1 - lo) * done / std::max(1, total),
                           QString("Dequantizing the reference: tensor %1 of %2").arg(done).arg(total));
      return !cancel_.load();
    };
    Result<Model> deq = convertWeights(*next, WeightPlan{DType::F32, true}, nullptr, progress);
    if (!deq) {
      if (cancel_.load()) emit cancelled("load");
      else emit failed("load", label + ": dequantizing the reference: " + q(deq.error().message));
      return false;
    }
    reference = std::make_shared<Model>(std::move(*deq));
  }
  model_ = std::move(next);
  reference_ = std::move(reference);
  emit modelShared(model_);
  emit modelLoaded(summarize(*model_, label));
  return true;
}

void EngineWorker::loadModel(const QString& path) {
  cancel_.store(false);
  emit progressChanged("load", 0, "Loading " + path);
  // Reading and checking every tensor takes the first 70 % of the progress when the file is stored
  // quantized (the reference is dequantized after it), all of it otherwise; the fraction is rescaled
  // below once the tensor types are known.
  LoadOptions lo;
  lo.progress = [&](int done, int total) {
    if (load_hook_) load_hook_("read", done, total);
    emit progressChanged("load", 0.7 * done / std::max(1, total),
                         QString("Loading %1: tensor %2 of %3").arg(QFileInfo(path).fileName()).arg(done).arg(total));
    return !cancel_.load();
  };
  Result<Model> m = precis::loadModel(path.toStdString(), lo);
  if (!m) {
    if (cancel_.load()) emit cancelled("load");
    else emit failed("load", q(m.error().message));
    return;
  }
  if (Status v = m->validate(); !v) {
    emit failed("load", path + ": " + q(v.error().message));
    return;
  }
  if (setModel(std::move(*m), QFileInfo(path).absoluteFilePath(), 0.7))
    emit progressChanged("load", 1, "Loaded " + path);
}

void EngineWorker::loadDemo() {
  // The built-in demo: a small Llama with deterministic random weights (engine/model/presets.h).
  // It is honest about being untrained; it exists so the workbench works with no file at hand.
  Result<LlamaConfig> c = configFromJson(
      R"({"dim": 64, "hidden_dim": 192, "n_layers": 2, "n_heads": 4, "n_kv_heads": 2, "vocab_size": 256,
          "context_length": 256})");
  if (!c) {
    emit failed("load", "demo model: " + q(c.error().message));
    return;
  }
  Result<Model> m = makeRandomModel(*c, 1);
  if (!m) {
    emit failed("load", "demo model: " + q(m.error().message));
    return;
  }
  m->format = "demo";
  cancel_.store(false);
  setModel(std::move(*m), "demo: random weights (seed 1), 2 layers, width 64");
}

void EngineWorker::computeHistogram(const HistogramRequest& request) {
  if (!model_) return;
  const WeightTensor* t = model_->find(request.tensor.toStdString());
  if (!t) {
    emit failed("histogram", request.tensor + ": no such tensor in the model");
    return;
  }
  Result<std::vector<float>> v = tensorValues(*t);
  if (!v) {
    emit failed("histogram", q(v.error().message));
    return;
  }
  DType f = DType::Q4_0;
  if (!parseDType(request.format.toUtf8().constData(), &f) || f == DType::I32) {
    emit failed("histogram", request.format + ": not a weight format");
    return;
  }
  HistogramResult r;
  r.tensor = request.tensor;
  r.stored_type = dtypeName(t->type);
  r.histogram = precis::ui::computeHistogram(*v, request.bins);
  r.grid = computeQuantGrid(*v, t->shape.size() >= 2 ? t->cols() : static_cast<int64_t>(v->size()), f);
  emit histogramReady(r);
}

Result<std::unique_ptr<EngineWorker::Prepared>> EngineWorker::prepare(const EvalRequest& req, int) {
  if (!model_) return makeError("no model is loaded: open one first (File > Open)");
  if (!backend_ && !ensureBackend()) return makeError("no backend could be created");
  const LlamaConfig& cfg = model_->config;
  auto p = std::make_unique<Prepared>();
  p->ctx = req.ctx > 0 ? std::min(req.ctx, cfg.context_length) : cfg.context_length;
  if (p->ctx < 2) return makeError("context must be at least 2 tokens");
  if (req.source == EvalRequest::Source::Sample && (req.sample_tokens < 2 || req.sample_tokens > cfg.context_length))
    return makeError(QString("sample of %1 tokens: must be 2 .. the model's context of %2")
                         .arg(req.sample_tokens).arg(cfg.context_length).toStdString());
  RuntimeOptions ro;
  ro.max_slots = 1;
  ro.max_ctx = std::max(p->ctx, req.source == EvalRequest::Source::Sample ? req.sample_tokens + 1 : 0);
  ro.max_ctx = std::min(ro.max_ctx, cfg.context_length);
  Result<std::unique_ptr<LlamaRuntime>> rt = LlamaRuntime::create(*reference_, *backend_, ro);
  if (!rt) return makeError("reference runtime: " + rt.error().message);
  p->reference = std::move(*rt);
  const std::string file = req.file.toStdString();
  if (req.source == EvalRequest::Source::TokenFile) {
    Result<std::vector<std::vector<int32_t>>> seqs = readTokenFile(file, cfg.vocab_size);
    if (!seqs) return makeError(seqs.error().message);
    p->sequences = std::move(*seqs);
    p->input = "token file " + req.file;
  } else if (req.source == EvalRequest::Source::TextFile) {
    if (model_->tokenizer.kind == TokenizerKind::None)
      return makeError(model_->path + ": the model carries no tokenizer; evaluate sampled tokens or a token file");
    Result<Tokenizer> tok = Tokenizer::create(model_->tokenizer);
    if (!tok) return makeError(tok.error().message);
    Result<std::string> text = readTextFile(file);
    if (!text) return makeError(text.error().message);
    p->sequences.push_back(tok->encode(*text, true));
    p->input = "text file " + req.file;
  } else {
    Result<std::vector<int32_t>> seq = sampleSequence(*p->reference, bosOf(*model_), req.sample_tokens, req.seed);
    if (!seq) return makeError(seq.error().message);
    p->sequences.push_back(std::move(*seq));
    p->input = QString("%1 tokens sampled from the reference (seed %2)").arg(req.sample_tokens).arg(req.seed);
  }
  return p;
}

Result<EvalRecord> EngineWorker::runOne(Prepared& p, const EvalRequest& req, const QString& task,
                                        double lo, double hi) {
  Result<QuantScheme> scheme = schemeFromSettings(settingsOf(req));
  if (!scheme) return makeError(scheme.error().message);
  EvalLog log;
  if (req.log) {
    const bool sample = req.source == EvalRequest::Source::Sample;
    if (Status s = log.start(req.db.toStdString(), model_->path, cliOptions(req), backend_->device(), p.sequences,
                             sample ? std::optional<uint64_t>(req.seed) : std::nullopt,
                             sample ? std::string() : req.file.toStdString());
        !s)
      return makeError("experiment log: " + s.error().message);
  }
  const QString label = schemeLabel(req);
  // Quantization takes the first 30 % of this run's progress, the evaluation the rest.
  const double mid = lo + 0.3 * (hi - lo);
  auto conversion = [&](int done, int total) {
    if (conversion_hook_) conversion_hook_(done, total);
    emit progressChanged(task, lo + (mid - lo) * done / std::max(1, total),
                         QString("Quantizing to %1: tensor %2 of %3").arg(label).arg(done).arg(total));
    return !cancel_.load();
  };
  RuntimeOptions ro;
  ro.max_slots = 1;
  ro.max_ctx = p.ctx;
  const std::vector<int32_t>& first = p.sequences.front();
  const std::vector<int32_t> calib(first.begin(), first.begin() + std::min<size_t>(first.size(), size_t(req.calib_tokens)));
  Result<SchemeRun> run = buildSchemeRun(*model_, *scheme, *backend_, ro, calib, SchemeRunOptions{false, true, conversion});
  if (cancel_.load()) {
    if (Status s = log.interrupt(); !s) return makeError("experiment log: " + s.error().message);
    return makeError("evaluation cancelled");
  }
  if (!run) return makeError(label.toStdString() + ": " + run.error().message);
  EvalOptions eo;
  eo.ctx = p.ctx;
  eo.bos = bosOf(*model_);
  eo.threads = 0;
  eo.keep_tokens = true;  // the token view
  eo.progress = [&](double f) {
    emit progressChanged(task, mid + (hi - mid) * f, QString("Evaluating %1: %2 %").arg(label).arg(int(100 * f)));
    return !cancel_.load();
  };
  Result<EvalResult> r = precis::evaluate(*p.reference, *run->runtime, p.sequences, eo);
  if (!r) {
    if (cancel_.load())
      if (Status s = log.interrupt(); !s) return makeError("experiment log: " + s.error().message);
    return makeError(r.error().message);
  }
  const ModelQuantReport& qr = run->quantized.report;
  const ConvertReport report = toConvertReport(qr);
  EvalRecord rec;
  if (req.log) {
    if (Status s = log.finish(*r, report, evalRunMetrics(*r, report)); !s)
      return makeError("experiment log: " + s.error().message);
    rec.log_run = log.runId();
  }
  rec.id = next_run_++;
  rec.format = req.format;
  rec.scheme = label;
  rec.quantize_embeddings = req.quantize_embeddings;
  rec.input = p.input;
  rec.stats = r->stats;
  rec.tokens_scored = r->tokens_scored;
  rec.windows = r->windows;
  rec.ctx = r->ctx;
  rec.bits_per_weight = qr.bits_per_weight;
  rec.bytes = qr.bytes;
  std::map<std::string, int> simulated;  // weight spec -> tensors stored packed, run dequantized
  for (const TensorQuantReport& t : qr.tensors)
    if (t.simulated) ++simulated[t.to];
  for (const auto& [spec, n] : simulated)
    rec.kernels << QString("matmul: %1 weights (%2 tensors) dequantized to f32: simulated").arg(q(spec)).arg(n);
  if (run->packed)
    for (const PackedBackend::KernelRow& k : run->packed->kernelRows())
      rec.kernels << QString("matmul: %1 weights (%2 tensors, packed), %3 activations -> %4%5")
                         .arg(q(k.weights)).arg(k.tensors).arg(q(k.activations)).arg(q(k.kernel))
                         .arg(k.activations_simulated ? " (activations simulated)" : "");
  if (run->act)
    rec.kernels << QString(run->packed ? "activations of the unpacked matmuls: " : "activations: ") +
                       q(run->act->description()) + " (simulated)";
  if (run->calib)  // static ranges: calibrated, then the packed int8 kernels (or the fake-quant) use them
    rec.kernels << QString("activation ranges: %1 on %2").arg(q(run->calib->description())).arg(q(run->calib_desc));
  for (const KernelUse& k : run->runtime->kernelsUsed()) rec.kernels << q(k.op + ": " + k.types + " -> " + k.kernel);
  for (const TensorDecision& d : report.tensors)
    if (!d.reason.empty()) rec.kept << q(d.name + " as " + dtypeName(d.to) + ": " + d.reason);
  rec.backend = q(backend_->device().backend + " (" + backend_->device().name + ")");
  rec.seconds = r->seconds;
  rec.tokens_per_s = r->test_seconds > 0 ? double(r->tokens_forwarded) / r->test_seconds : 0;
  rec.sequences = p.sequences;
  rec.token_details = std::move(r->token_details);
  fillPieces(rec, *model_);
  return rec;
}

void EngineWorker::evaluate(const EvalRequest& request) {
  cancel_.store(false);
  Result<std::unique_ptr<Prepared>> p = prepare(request, request.sample_tokens);
  if (!p) {
    emit failed("evaluate", q(p.error().message));
    return;
  }
  Result<EvalRecord> r = runOne(**p, request, "evaluate", 0, 1);
  if (!r) {
    if (cancel_.load()) emit cancelled("evaluate");
    else emit failed("evaluate", q(r.error().message));
    return;
  }
  if (frontier_->append({0, QPointF(r->bits_per_weight, r->stats.kl.mean), r->id})) emit frontierDataAvailable();
  emit evaluationFinished(*r);
}

void EngineWorker::sweep(const EvalRequest& request, const QStringList& formats) {
  cancel_.store(false);
  const int total = static_cast<int>(formats.size());
  const int sweep_id = next_sweep_++;
  Result<std::unique_ptr<Prepared>> p = prepare(request, request.sample_tokens);
  if (!p) {
    emit failed("sweep", q(p.error().message));
    emit sweepFinished(false, 0, total);
    return;
  }
  int done = 0;
  for (int i = 0; i < total; ++i) {
    if (cancel_.load()) break;
    EvalRequest one = request;
    one.format = formats[i];
    Result<EvalRecord> r = runOne(**p, one, "sweep", double(i) / total, double(i + 1) / total);
    if (!r) {
      if (cancel_.load()) break;
      emit failed("sweep", formats[i] + ": " + q(r.error().message));
      continue;
    }
    ++done;
    r->sweep = QString("sweep %1: %2 of %3").arg(sweep_id).arg(i + 1).arg(total);
    if (frontier_->append({0, QPointF(r->bits_per_weight, r->stats.kl.mean), r->id})) emit frontierDataAvailable();
    emit evaluationFinished(*r);
    emit sweepPointFinished(*r, i, total);
  }
  const bool was_cancelled = cancel_.load() && done < total;
  if (was_cancelled) emit cancelled("sweep");
  emit sweepFinished(was_cancelled, done, total);
}

void EngineWorker::sensitivity(const EvalRequest& request) {
  cancel_.store(false);
  Result<std::unique_ptr<Prepared>> p = prepare(request, request.sample_tokens);
  if (!p) {
    emit failed("sensitivity", q(p.error().message));
    return;
  }
  Result<QuantScheme> scheme = schemeFromSettings(settingsOf(request));
  if (!scheme) {
    emit failed("sensitivity", q(scheme.error().message));
    return;
  }
  SensitivityOptions so;
  so.spec = scheme->weights;
  so.calibration = scheme->calibration;
  so.include_embeddings = request.quantize_embeddings;
  so.eval.ctx = (*p)->ctx;
  so.eval.bos = bosOf(*model_);
  so.progress = [&](double f) {
    emit progressChanged("sensitivity", f, QString("Sensitivity to %1: %2 %").arg(q(weightSpecName(so.spec))).arg(int(100 * f)));
    return !cancel_.load();
  };
  RuntimeOptions ro;
  ro.max_slots = 1;
  ro.max_ctx = (*p)->ctx;
  const auto t0 = std::chrono::steady_clock::now();
  Result<std::vector<SensitivityRow>> rows =
      tensorSensitivity(*reference_, *(*p)->reference, *backend_, ro, (*p)->sequences, so);
  if (!rows) {
    if (cancel_.load()) emit cancelled("sensitivity");
    else emit failed("sensitivity", q(rows.error().message));
    return;
  }
  SensitivityResult r;
  r.spec = q(weightSpecName(so.spec));
  r.input = (*p)->input;
  r.rows = std::move(*rows);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  emit sensitivityFinished(r);
}

}  // namespace precis::ui
