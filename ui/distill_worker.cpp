// DistillWorker (see distill_worker.h). Runs on its own thread; reads only the shared const teacher.
#include "ui/distill_worker.h"

#include <QElapsedTimer>
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "engine/backend/registry.h"
#include "engine/eval/evaluator.h"
#include "engine/eval/token_input.h"
#include "engine/log/envelope.h"
#include "engine/log/run_recorder.h"
#include "engine/model/gguf_writer.h"
#include "engine/runtime/llama_runtime.h"
#include "engine/model/loader.h"
#include "engine/train/distill.h"
#include "engine/train/quant_aware.h"
#include "engine/train/train_data.h"
#include "engine/train/trainer.h"

namespace precis::ui {

namespace {

QString q(const std::string& s) { return QString::fromStdString(s); }

int32_t bosOf(const Model& m) {
  return m.tokenizer.kind != TokenizerKind::None && m.tokenizer.bos_id >= 0 ? m.tokenizer.bos_id : 1;
}

std::string num(double v) { return QString::number(v, 'g', 12).toStdString(); }

}  // namespace

DistillWorker::DistillWorker(std::shared_ptr<LiveBuffer> live, QObject* parent)
    : QObject(parent), live_(std::move(live)) {}

void DistillWorker::run(const DistillRequest& req, const ModelPtr& teacher) {
  cancel_.store(false);
  QElapsedTimer clock;
  clock.start();
  auto fail = [&](const std::string& message) { emit failed(q(message)); };
  if (!teacher) return fail("no model is loaded: open a teacher first (File > Open)");
  const LlamaConfig& tc = teacher->config;
  if (req.ctx < 2 || req.ctx > tc.context_length)
    return fail("context " + std::to_string(req.ctx) + ": must be 2 .. the teacher's context of " +
                std::to_string(tc.context_length));
  if (req.batch < 1 || req.steps < 1) return fail("batch and steps must be at least 1");
  if (req.alpha < 0 || req.alpha > 1) return fail("alpha " + num(req.alpha) + ": must be in [0, 1]");
  if (req.temperature <= 0) return fail("temperature " + num(req.temperature) + ": must be positive");

  if (req.warmup > req.steps) return fail("warm-up " + std::to_string(req.warmup) + ": at most the steps");
  if (req.min_lr_ratio < 0 || req.min_lr_ratio > 1)
    return fail("minimum learning rate " + num(req.min_lr_ratio) + ": a fraction of the learning rate in [0, 1]");
  if (req.clip < 0) return fail("gradient clip " + num(req.clip) + ": must be 0 (off) or positive");
  if ((req.checkpoints || req.resume) && req.out.isEmpty())
    return fail("checkpoints and resume use the output file (Write to): choose one");
  if (req.checkpoint_every < 0) return fail("checkpoint every " + std::to_string(req.checkpoint_every) + ": must be 0 or more");
  const std::string out_path = req.out.toStdString();
  std::optional<QuantScheme> scheme;
  if (!req.quantize.isEmpty()) {
    Result<QuantScheme> s = quantAwareSchemeFrom(req.quantize.toStdString(), req.granularity.toStdString(),
                                                 req.calibration.toStdString(), req.quantize_embeddings);
    if (!s) return fail(s.error().message);
    scheme = *s;
  }

  emit progressChanged(0, "Building the student");
  Result<TrainParams> student = makeError("");
  const std::string teacher_name = teacher->path.empty() ? "demo" : teacher->path;
  if (!req.student_file.isEmpty()) {
    const std::string sp = req.student_file.toStdString();
    Result<Model> sm = loadModel(sp);
    if (!sm) return fail(sm.error().message);
    student = studentFromFile(*teacher, *sm, teacher_name, sp);
    if (!student) return fail(student.error().message);
    if (req.ctx > student->config.context_length)
      return fail("context " + std::to_string(req.ctx) + " exceeds the student's context of " +
                  std::to_string(student->config.context_length) + " (" + sp + ")");
  } else if (!req.student_config.isEmpty()) {  // a fresh shape, as distill --student-config
    const std::string cp = req.student_config.toStdString();
    Result<LlamaConfig> c = configFileWithVocab(cp, tc.vocab_size);
    if (!c) return fail("student config: " + c.error().message);
    if (req.ctx > c->context_length)
      return fail("context " + std::to_string(req.ctx) + " exceeds the student's context of " +
                  std::to_string(c->context_length) + " (" + cp + ")");
    student = TrainParams::init(*c, req.seed);
  } else {
    Result<TrainParams> tp = TrainParams::fromModel(*teacher);
    if (!tp) return fail("teacher: " + tp.error().message);
    Result<StudentSpec> spec = parseStudentSpec(req.student.toStdString(), tc.n_layers);
    if (!spec) return fail(spec.error().message);
    student = studentFromTeacher(*tp, *spec);
    if (!student) return fail(student.error().message);
  }
  std::optional<QuantAwarePlan> plan;
  if (scheme) {
    Result<QuantAwarePlan> pl = planQuantAware(*student, *scheme);
    if (!pl) return fail(pl.error().message);
    plan = std::move(*pl);
  }

  BackendOptions bo;
  bo.threads = req.threads;
  Result<std::unique_ptr<Backend>> backend = createBackend("cpu", bo);
  if (!backend) return fail(backend.error().message);

  // Data.
  TokenSplit split;
  std::string data_desc;
  const std::string file = req.file.toStdString();
  if (req.source == DistillRequest::Source::Sample) {
    const int n = std::min(tc.context_length, std::max(req.ctx + 1, 256));
    if (req.sample_sequences < 2) return fail("sampled data: give at least 2 sequences (one is held out)");
    RuntimeOptions so;
    so.max_slots = 1;
    so.max_ctx = n;
    Result<std::unique_ptr<LlamaRuntime>> srt = LlamaRuntime::create(*teacher, **backend, so);
    if (!srt) return fail("teacher runtime: " + srt.error().message);
    std::vector<std::vector<int32_t>> seqs;
    for (int i = 0; i < req.sample_sequences; ++i) {
      if (cancel_.load()) break;
      emit progressChanged(0, QString("Sampling training text from the teacher: %1 of %2").arg(i + 1)
                                  .arg(req.sample_sequences));
      Result<std::vector<int32_t>> s = sampleSequence(**srt, bosOf(*teacher), n, req.seed + uint64_t(i));
      if (!s) return fail(s.error().message);
      seqs.push_back(std::move(*s));
    }
    split = splitSequences(seqs, 1.0 / req.sample_sequences);
    data_desc = std::to_string(req.sample_sequences) + " x " + std::to_string(n) +
                " tokens sampled from the teacher (seed " + std::to_string(req.seed) + ")";
  } else {
    std::unique_ptr<Tokenizer> tok;
    const bool token_file = req.source == DistillRequest::Source::TokenFile;
    if (!token_file) {
      if (teacher->tokenizer.kind == TokenizerKind::None)
        return fail(teacher->path + ": the teacher carries no tokenizer; use a token-id file or sampled data");
      Result<Tokenizer> t = Tokenizer::create(teacher->tokenizer);
      if (!t) return fail(t.error().message);
      tok = std::make_unique<Tokenizer>(std::move(*t));
    }
    Result<TokenSplit> s = loadTrainingData(file, token_file, tok.get(), tc.vocab_size, 0.1);
    if (!s) return fail(s.error().message);
    split = std::move(*s);
    data_desc = (token_file ? "token file " : "text file ") + file;
  }

  RuntimeOptions ro;
  ro.max_slots = req.batch;
  ro.max_ctx = req.ctx;
  ro.max_batch_tokens = req.batch * req.ctx;
  Result<std::unique_ptr<LlamaRuntime>> rt = LlamaRuntime::create(*teacher, **backend, ro);
  if (!rt) return fail("teacher runtime: " + rt.error().message);
  TrainOptions o;
  o.batch = req.batch;
  o.ctx = req.ctx;
  o.steps = req.steps;
  o.adam.lr = float(req.lr);
  o.warmup = req.warmup >= 0 ? req.warmup : std::max(1, req.steps / 20);
  o.min_lr_ratio = float(req.min_lr_ratio);
  o.clip = req.clip;
  if (plan) o.weight_transform = fakeQuantTransform(*plan);
  o.distill = {float(req.alpha), float(req.temperature)};
  o.eval_every = req.eval_every;
  o.seed = req.seed;
  o.threads = req.threads;
  const int64_t student_params = student->config.parameterCount();
  Result<std::unique_ptr<Trainer>> trainer =
      Trainer::create(std::move(*student), o, std::move(split.train), std::move(split.heldout), runtimeTeacher(**rt));
  if (!trainer) return fail(trainer.error().message);
  int64_t resumed_from = 0;
  if (req.resume) {  // as distill --resume: the checkpoint's weights, optimizer state and step
    const std::string optim = out_path + ".optim";
    if (Status s = (*trainer)->loadOptimizerState(optim); !s)
      return fail("resume: " + s.error().message + " (Resume continues the run that wrote " + out_path + ")");
    resumed_from = (*trainer)->stepsDone();
    if (resumed_from >= req.steps)
      return fail("resume: " + optim + " is already at step " + std::to_string(resumed_from) + " of " +
                  std::to_string(req.steps) + "; raise the steps to train further");
  }

  std::unique_ptr<RunStore> store;
  std::unique_ptr<RunRecorder> rec;
  std::string log_error;
  if (req.log.enabled) {
    Result<std::string> path =
        resolveDbPath(req.log.path.toStdString(), [](const char* k) { return std::getenv(k); }, true);
    if (!path) return fail("experiment log: " + path.error().message);
    Result<std::unique_ptr<RunStore>> s = RunStore::open(*path);
    if (!s) return fail("experiment log: " + s.error().message);
    store = std::move(*s);
    std::map<std::string, std::string> params{
        {"teacher", teacher->path.empty() ? "demo" : teacher->path},
        {"student", !req.student_file.isEmpty()     ? "file " + req.student_file.toStdString()
                    : !req.student_config.isEmpty() ? "config " + req.student_config.toStdString()
                                                    : req.student.toStdString()},
        {"temperature", num(req.temperature)},
        {"alpha", num(req.alpha)},
        {"steps", std::to_string(req.steps)},
        {"lr", num(req.lr)},
        {"warmup", std::to_string(o.warmup)},
        {"min-lr", num(req.min_lr_ratio)},
        {"clip", num(req.clip)},
        {"batch", std::to_string(req.batch)},
        {"ctx", std::to_string(req.ctx)},
        {"eval-every", std::to_string(req.eval_every)},
        {"data", data_desc},
        {"seed", std::to_string(req.seed)}};
    if (!req.out.isEmpty()) params["out"] = req.out.toStdString();
    if (req.checkpoints) params["checkpoint-every"] = std::to_string(req.checkpoint_every);
    if (req.resume) params["resume"] = std::to_string(resumed_from);
    if (scheme) {
      params["quantize"] = req.quantize.toStdString();
      params["granularity"] = granularityName(scheme->weights);
      params["calibration"] = calibrationName(scheme->calibration);
      if (req.quantize_embeddings) params["quantize-embeddings"] = "";
    }
    EnvelopeInputs in;
    in.device = &(*backend)->device();
    in.model_path = teacher->path;
    if (req.source != DistillRequest::Source::Sample) in.data_path = file;
    in.seed = req.seed;
    for (const auto& [k, v] : params)
      if (k != "teacher") in.knobs[k] = v;
    Result<nlohmann::ordered_json> env = collectEnvelope(in);
    if (!env) return fail("experiment log: " + env.error().message);
    rec = std::make_unique<RunRecorder>(*store);
    if (Status s = rec->start("distill", params, nlohmann::json(*env)); !s)
      return fail("experiment log: " + s.error().message);
    if (Status s = store->setTags(rec->id(), {{"precis.source", "workbench"}}); !s)
      return fail("experiment log: " + s.error().message);
  }
  auto logMetrics = [&](const std::map<std::string, double>& m, int64_t step) {
    if (!rec) return;
    Status s = rec->logMetrics(m, step);
    if (!s && log_error.empty()) log_error = s.error().message;
  };

  DistillResult result;
  result.steps = req.steps;
  result.teacher_params = tc.parameterCount();
  result.student_params = student_params;
  result.data = q(data_desc);
  result.resumed_from = resumed_from;
  Status checkpoint_error;
  auto checkpoint = [&] {
    if (!checkpoint_error) return;  // the first failure is reported
    std::error_code ec;
    const std::filesystem::path parent = std::filesystem::path(out_path).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    checkpoint_error = (*trainer)->saveCheckpoint(out_path, teacher->tokenizer, "precis-student");
  };
  auto onEval = [&](const EvalMetrics& e) {
    bool first = live_->append({kHeldoutKl, QPointF(double(e.step), e.kl)});
    live_->append({kHeldoutAgreement, QPointF(double(e.step), e.agreement)});
    if (first) emit dataAvailable();
    result.heldout_kl = e.kl;
    result.heldout_agreement = e.agreement;
    result.heldout_ppl = e.perplexity;
    logMetrics({{"heldout_ce", e.ce}, {"heldout_ppl", e.perplexity}, {"heldout_kl", e.kl},
                {"heldout_agreement", e.agreement}},
               e.step);
  };
  emit progressChanged(0, "Evaluating the student before training");
  Result<EvalMetrics> e0 = (*trainer)->evaluate();
  if (!e0) return fail(e0.error().message);
  result.initial_kl = e0->kl;
  onEval(*e0);

  TrainCallbacks cb;
  cb.should_stop = [this] { return cancel_.load(); };
  cb.on_step = [&](const StepMetrics& m) {
    bool first = live_->append({kLoss, QPointF(double(m.step), m.loss)});
    live_->append({kKl, QPointF(double(m.step), m.kl)});
    live_->append({kAgreement, QPointF(double(m.step), m.agreement)});
    if (first) emit dataAvailable();
    emit progressChanged(double(m.step) / double(req.steps),
                         QString("step %1/%2: loss %3, KL %4, agreement %5 %, %6 tokens/s")
                             .arg(m.step).arg(req.steps).arg(m.loss, 0, 'f', 4).arg(m.kl, 0, 'f', 4)
                             .arg(100 * m.agreement, 0, 'f', 1).arg(m.tokens_per_s, 0, 'f', 0));
    logMetrics({{"loss", m.loss}, {"ce", m.ce}, {"kl", m.kl}, {"agreement", m.agreement}, {"lr", m.lr},
                {"grad_norm", m.grad_norm}, {"tokens_per_s", m.tokens_per_s}},
               m.step);
    if (req.checkpoints && req.checkpoint_every > 0 && m.step % req.checkpoint_every == 0 && m.step < req.steps)
      checkpoint();
    if (step_hook_) step_hook_(m.step);
  };
  cb.on_eval = onEval;
  if (Status s = (*trainer)->run(cb); !s) return fail(s.error().message);
  result.steps_done = (*trainer)->stepsDone();
  result.cancelled = (*trainer)->cancelled();
  if (!log_error.empty()) return fail("experiment log: " + log_error);
  if (result.cancelled && req.checkpoints) {  // as distill on Ctrl-C: resume continues from here
    emit progressChanged(double(result.steps_done) / double(req.steps), "Writing the checkpoint " + req.out);
    checkpoint();
    result.checkpoint = req.out;
  }
  if (!checkpoint_error) return fail("checkpoint: " + checkpoint_error.error().message);

  if (!result.cancelled && req.checkpoints) checkpoint();  // OUT.optim: a later resume with more steps continues
  if (!checkpoint_error) return fail("checkpoint: " + checkpoint_error.error().message);
  if (!result.cancelled && !req.out.isEmpty()) {
    emit progressChanged(1, "Writing " + req.out);
    const std::string out = req.out.toStdString();
    std::error_code ec;
    const std::filesystem::path parent = std::filesystem::path(out).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    if (scheme) {  // the quantized student, as precis-cli distill --quantize writes it
      Result<QuantizedModel> qm = quantizedStudent((*trainer)->params(), *scheme, teacher->tokenizer, "precis-student");
      if (!qm) return fail(out + ": quantizing the student: " + qm.error().message);
      if (Status s = writeGguf(qm->model, out); !s) return fail(s.error().message);
      result.quantized = q(plan->summary + (qm->report.simulated_tensors
                                                ? " (GGUF has no such type: stored as f32 values on the format's grid)"
                                                : ""));
    } else if (Status s = writeGguf((*trainer)->params().toModel(teacher->tokenizer, "precis-student"), out); !s) {
      return fail(s.error().message);
    }
    result.student_path = req.out;
    if (rec) {
      Result<std::string> digest = sha256Path(out);
      if (!digest) return fail(digest.error().message);
      const int64_t bytes = int64_t(std::filesystem::file_size(out, ec));
      if (Status s = store->addArtifact(rec->id(), {out, "weights", *digest, bytes}); !s)
        return fail("experiment log: " + s.error().message);
    }
  }
  result.seconds = clock.elapsed() / 1000.0;
  if (rec) {
    logMetrics({{"initial_kl", result.initial_kl}, {"student_params", double(result.student_params)},
                {"teacher_params", double(result.teacher_params)}, {"seconds", result.seconds}},
               0);
    if (Status s = rec->finish(result.cancelled ? RunStatus::Interrupted : RunStatus::Finished); !s)
      return fail("experiment log: " + s.error().message);
    result.log_run = rec->id();
  }
  emit finished(result);
}

}  // namespace precis::ui
