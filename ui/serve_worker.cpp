// ServeWorker (see serve_worker.h). Runs on its own thread; reads only the shared const model.
#include "ui/serve_worker.h"

#include <algorithm>
#include <cstdlib>
#include <map>

#include "engine/backend/registry.h"
#include "engine/log/envelope.h"
#include "engine/log/run_recorder.h"
#include "engine/quant/convert.h"
#include "engine/quant/packed_backend.h"
#include "engine/quant/scheme_run.h"
#include "engine/serve/executors.h"
#include "ui/serve_plan.h"

namespace precis::ui {

namespace {

QString q(const std::string& s) { return QString::fromStdString(s); }

int32_t bosOf(const Model& m) {
  return m.tokenizer.kind != TokenizerKind::None && m.tokenizer.bos_id >= 0 ? m.tokenizer.bos_id : 1;
}

// A quantization-lab weight format (packed low-bit kernels), as opposed to a GGUF/float cast.
bool isLabWeights(const QString& w) {
  return !QStringList{"f32", "f16", "bf16", "q8_0", "q4_0"}.contains(w);
}

// The params precis-cli serve-sim records, spelled as its options (without "--").
std::map<std::string, std::string> cliParams(const ServeRequest& r, const std::string& model, const char* policy,
                                             const std::string& workload) {
  std::map<std::string, std::string> p{{"model", model}, {"policy", policy}, {"workload", workload}};
  const auto num = [](double v) { return QString::number(v, 'g', 12).toStdString(); };
  p["max-batch"] = std::to_string(r.max_batch);
  p["batch-window"] = num(r.batch_window_ms);
  p["token-budget"] = std::to_string(r.token_budget);
  if (r.chunked_prefill) p["chunked-prefill"] = "";
  if (r.kv_blocks > 0) p["kv-blocks"] = std::to_string(r.kv_blocks);
  if (r.block_size != 16) p["block-size"] = std::to_string(r.block_size);
  if (r.max_queue != 1024) p["max-queue"] = std::to_string(r.max_queue);
  if (r.shed) p["shed"] = "";
  if (r.clock != "measured") p["clock"] = r.clock.toStdString();
  if (r.arrival == "trace") {
    p["trace"] = r.trace_file.toStdString();
  } else {
    if (r.arrival == "closed") p["concurrency"] = std::to_string(r.concurrency);
    else p["rate"] = num(r.rate);
    if (r.arrival == "bursty") p["bursty"] = num(r.burst_on) + "," + num(r.burst_off);
    p["requests"] = std::to_string(r.requests);
    p["prompt-len"] = r.prompt_len.toStdString();
    p["output-len"] = r.output_len.toStdString();
  }
  if (r.ttft_target_ms > 0) p["ttft-target"] = num(r.ttft_target_ms);
  if (r.tpot_target_ms > 0) p["tpot-target"] = num(r.tpot_target_ms);
  p["seed"] = std::to_string(r.seed);
  p["weights"] = r.weights.toStdString();
  if (isLabWeights(r.weights)) p["granularity"] = r.granularity.toStdString();
  if (!r.plan_file.isEmpty()) p["plan"] = r.plan_file.toStdString();
  p["backend"] = r.backend.toStdString();
  if (r.threads > 0) p["threads"] = std::to_string(r.threads);
  if (!r.quality_file.isEmpty()) {
    p["quality"] = r.quality_file.toStdString();
    p["quality-max-kl"] = num(r.quality_max_kl);
    p["quality-min-top1"] = num(r.quality_min_top1);
  }
  return p;
}

}  // namespace

Result<Workload> buildServeWorkload(const ServeRequest& r, int vocab_size, int32_t bos) {
  WorkloadSpec ws;
  ws.requests = r.requests;
  ws.rate = r.rate;
  ws.seed = r.seed;
  ws.ttft_target = r.ttft_target_ms / 1000.0;
  ws.tpot_target = r.tpot_target_ms / 1000.0;
  ws.vocab_size = vocab_size;
  ws.bos = bos;
  if (r.arrival == "trace") {
    if (r.trace_file.isEmpty()) return makeError("trace file: choose one (Load… beside the trace file)");
    return loadTrace(r.trace_file.toStdString(), ws);
  }
  if (r.requests < 1) return makeError("requests: give at least 1");
  if (r.arrival == "closed") {
    ws.arrival = ArrivalKind::ClosedLoop;
    ws.concurrency = r.concurrency;
  } else if (r.arrival == "bursty") {
    ws.arrival = ArrivalKind::Bursty;
    ws.burst_on = r.burst_on;
    ws.burst_off = r.burst_off;
  } else if (r.arrival != "poisson") {
    return makeError("arrival '" + r.arrival.toStdString() + "': not poisson, bursty, closed or trace");
  }
  Result<LengthDist> p = LengthDist::parse(r.prompt_len.toStdString(), "prompt length");
  if (!p) return p.error();
  Result<LengthDist> o = LengthDist::parse(r.output_len.toStdString(), "output length");
  if (!o) return o.error();
  ws.prompt_len = *p;
  ws.output_len = *o;
  return makeWorkload(ws);
}

ServeWorker::ServeWorker(std::shared_ptr<LiveBuffer> live, QObject* parent) : QObject(parent), live_(std::move(live)) {}

void ServeWorker::run(const ServeRequest& req, const ModelPtr& stored) {
  cancel_.store(false);
  const int total = static_cast<int>(req.policies.size());
  auto fail = [&](const std::string& message) {
    emit failed(q(message));
    emit finished(false, 0, total);
  };
  if (!stored) return fail("no model is loaded: open one first (File > Open)");
  std::vector<BatchPolicy> policies;
  for (const QString& name : req.policies) {
    Result<BatchPolicy> p = parseBatchPolicy(name.toStdString());
    if (!p) return fail("policy: " + p.error().message);
    policies.push_back(*p);
  }
  if (policies.empty()) return fail("choose at least one policy");
  if (req.clock != "measured" && req.clock != "model")
    return fail("clock '" + req.clock.toStdString() + "': not measured or model");
  Result<Workload> workload = buildServeWorkload(req, stored->config.vocab_size, bosOf(*stored));
  if (!workload) return fail(workload.error().message);

  // Weights, as serve-sim --weights converts them: float/GGUF casts here; lab formats through the
  // quantization lab's scheme path (packed low-bit kernels) once the backend exists, below.
  const Model* model = stored.get();
  Model converted;
  QualityInput quality;
  std::optional<QuantScheme> lab_scheme;
  if (isLabWeights(req.weights) || !req.plan_file.isEmpty()) {
    Result<QuantScheme> sc = serveScheme(req);
    if (!sc) return fail(sc.error().message);
    lab_scheme = *sc;
  } else if (req.weights != "f32") {
    DType f = DType::F32;
    if (!parseDType(req.weights.toUtf8().constData(), &f) || f == DType::I32)
      return fail("weights '" + req.weights.toStdString() + "': not one of f32, f16, bf16, q8_0, q4_0");
    emit progressChanged(0, "Converting the weights to " + req.weights);
    Result<Model> c = convertWeights(*stored, WeightPlan{f, false}, nullptr);
    if (!c) return fail("converting to " + req.weights.toStdString() + ": " + c.error().message);
    converted = std::move(*c);
    model = &converted;
  } else {
    quality = {true, 1.0, 0.0, 1.0, "the stored weights themselves (the reference: KL 0, top-1 1)"};
  }
  if (!req.quality_file.isEmpty()) {  // as serve-sim --quality: the measured quality of these weights
    Result<QualityInput> qi =
        qualityFromEvalJson(req.quality_file.toStdString(), req.quality_max_kl, req.quality_min_top1);
    if (!qi) return fail(qi.error().message);
    quality = *qi;
  }
  int longest = 0;
  for (const Request& r : workload->requests) longest = std::max(longest, int(r.prompt.size()) + r.output_len);
  if (longest > model->config.context_length)
    return fail("a request needs " + std::to_string(longest) + " positions (prompt + output); the model's context is " +
                std::to_string(model->config.context_length));
  const int ctx = longest;

  std::vector<SchedulerConfig> configs;
  for (BatchPolicy p : policies) {
    SchedulerConfig c;
    c.policy = p;
    c.max_batch = req.max_batch;
    c.batch_window = req.batch_window_ms / 1000.0;
    c.token_budget = req.token_budget;
    c.chunked_prefill = req.chunked_prefill;
    c.kv_blocks = req.kv_blocks;
    c.block_size = req.block_size;
    c.max_queue = req.max_queue;
    c.shed = req.shed;
    c.max_ctx = ctx;
    if (Status s = Scheduler::validate(c); !s) return fail(s.error().message);
    configs.push_back(c);
  }
  BackendOptions bo;
  bo.threads = req.threads;
  Result<std::unique_ptr<Backend>> backend = createBackend(req.backend.toStdString(), bo);
  if (!backend) return fail(backend.error().message);
  Backend* serve_backend = backend->get();  // the lab's decorators over it, for lab formats
  std::optional<SchemeRun> lab;
  QStringList kernels;
  QString served = req.weights == "f32" ? QString("f32 as stored")
                                         : QString("%1, converted as serve-sim --weights %1 converts").arg(req.weights);
  if (lab_scheme) {
    emit progressChanged(0, req.plan_file.isEmpty() ? "Quantizing the weights to " + req.weights
                                                    : "Quantizing the weights with the plan " + req.plan_file);
    RuntimeOptions lro;
    lro.max_slots = 1;
    lro.max_ctx = ctx;
    // Each policy gets its own runtime below, over the lab's decorators (as serve-sim).
    Result<SchemeRun> sr = buildSchemeRun(*model, *lab_scheme, **backend, lro, std::vector<int32_t>{},
                                          SchemeRunOptions{false, false, {}});
    if (!sr) return fail("weights " + req.weights.toStdString() + ": " + sr.error().message);
    lab = std::move(*sr);
    serve_backend = lab->backend;
    model = &lab->quantized.model;
    if (lab->packed)
      for (const PackedBackend::KernelRow& k : lab->packed->kernelRows())
        kernels << q(k.weights + " (" + std::to_string(k.tensors) + " tensors): " + k.kernel);
    for (const TensorQuantReport& t : lab->quantized.report.tensors)
      if (t.simulated && t.quantized) kernels << q(t.name + ": " + t.to + " simulated (" + t.reason + ")");
    served = servedWeightsSummary(lab->quantized.report);
  }
  // Each policy's measured run gets a runtime whose paged KV cache is exactly its block budget
  // (runtimeOptionsFor), as serve-sim's; the cost-model clock measures a grid of steps first.
  const int batch_tokens = std::max(512, req.token_budget);
  std::optional<CostModel> cost;
  if (req.clock == "model") {
    emit progressChanged(0, "Measuring steps for the cost model (serve-sim --clock model)");
    Result<CostModel> cm = calibrateForPolicies(*model, *serve_backend, configs, batch_tokens, StepTimer::Wall,
                                                [this] { return cancel_.load(); });
    if (!cm && cancel_.load()) {  // Stop during the calibration: nothing ran, nothing is logged
      emit finished(true, 0, total);
      return;
    }
    if (!cm) return fail("cost model: " + cm.error().message);
    cost = *cm;
  }

  std::unique_ptr<RunStore> store;
  if (req.log.enabled) {
    Result<std::string> path =
        resolveDbPath(req.log.path.toStdString(), [](const char* k) { return std::getenv(k); }, true);
    if (!path) return fail("experiment log: " + path.error().message);
    Result<std::unique_ptr<RunStore>> s = RunStore::open(*path);
    if (!s) return fail("experiment log: " + s.error().message);
    store = std::move(*s);
  }
  const std::string model_label = stored->path.empty() ? "demo" : stored->path;

  int completed = 0;
  const double all_requests = double(workload->requests.size()) * double(configs.size());
  for (size_t pi = 0; pi < configs.size(); ++pi) {
    const SchedulerConfig& cfg = configs[pi];
    const int base = int(pi) * kServeSeriesPerPolicy;
    std::unique_ptr<RunRecorder> rec;
    std::string log_error;
    SimOptions so;
    so.charge_host_time = !cost;  // measured: what a real server pays (as serve-sim --clock measured)
    so.cancelled = [this] { return cancel_.load(); };
    const double total_blocks = Scheduler::kvBlocksFor(cfg);
    int64_t step = 0;
    long long tokens_out = 0;
    int done_requests = 0;
    if (store) {
      rec = std::make_unique<RunRecorder>(*store);
      const auto params = cliParams(req, model_label, batchPolicyName(cfg.policy), workload->description);
      EnvelopeInputs in;
      in.device = &(*backend)->device();
      in.model_path = stored->path;
      in.seed = req.seed;
      if (req.arrival == "trace") in.data_path = req.trace_file.toStdString();
      for (const auto& [k, v] : params)
        if (k != "model") in.knobs[k] = v;
      Result<nlohmann::ordered_json> env = collectEnvelope(in);
      if (!env) return fail("experiment log: " + env.error().message);
      if (Status s = rec->start("serve-sim", params, nlohmann::json(*env)); !s)
        return fail("experiment log: " + s.error().message);
      if (Status s = store->setTags(rec->id(), {{"precis.source", "workbench"}}); !s)
        return fail("experiment log: " + s.error().message);
    }
    so.on_step = [&](const StepRecord& s) {
      bool first = live_->append({base + kOccupancy, QPointF(s.end, double(s.sequences) / cfg.max_batch)});
      live_->append({base + kQueue, QPointF(s.end, double(s.queue_depth))});
      live_->append({base + kKvUsage, QPointF(s.end, s.kv_blocks_used / total_blocks)});
      if (first) emit dataAvailable();
      if (rec) {
        Status st = rec->logMetrics(stepLogValues(s, total_blocks), step);
        if (!st && log_error.empty()) log_error = st.error().message;
      }
      if (step_hook_) step_hook_(int(step));
      ++step;
    };
    so.on_request = [&](const RequestRecord& r) {
      ++done_requests;
      emit progressChanged((completed * double(workload->requests.size()) + done_requests) / all_requests,
                           QString("%1: %2 of %3 requests").arg(batchPolicyName(cfg.policy)).arg(done_requests)
                               .arg(workload->requests.size()));
      if (r.rejected || r.token_times.empty()) return;
      tokens_out += static_cast<long long>(r.token_times.size());
      if (r.finish > 0 && live_->append({base + kThroughput, QPointF(r.finish, tokens_out / r.finish)}))
        emit dataAvailable();
      if (rec) {
        Status st = rec->logMetrics(requestLogValues(r), r.id);
        if (!st && log_error.empty()) log_error = st.error().message;
      }
    };
    Result<PolicyExecutor> exec =
        makePolicyExecutor(*model, *serve_backend, cfg, batch_tokens, cost ? &*cost : nullptr, StepTimer::Wall);
    if (!exec) return fail("runtime: " + exec.error().message);
    Result<SimResult> sim = simulate(*workload, cfg, *exec->executor, so);
    if (!sim) {
      if (cancel_.load()) {
        if (rec) {
          if (Status s = rec->finish(RunStatus::Interrupted); !s) return fail("experiment log: " + s.error().message);
        }
        emit finished(true, completed, total);
        return;
      }
      return fail(std::string(batchPolicyName(cfg.policy)) + ": " + sim.error().message);
    }
    ServeResult out;
    out.policy = batchPolicyName(cfg.policy);
    out.workload = q(workload->description);
    out.clock = q(sim->timeline.clock);
    out.metrics = computeMetrics(sim->timeline, quality);
    if (quality.known) out.quality = q(quality.source);
    out.requests = sim->timeline.requests;
    out.cost_model = cost;
    out.kernels = kernels;
    out.weights = served;
    out.plan = req.plan_file;
    out.index = int(pi);
    out.total = total;
    for (const RequestRecord& r : sim->timeline.requests) {
      if (r.rejected || r.finish < 0 || r.token_times.empty()) continue;
      out.ttft << r.token_times.front() - r.arrival;
      if (r.token_times.size() >= 2) out.tpot << (r.finish - r.token_times.front()) / double(r.token_times.size() - 1);
    }
    if (rec) {
      if (!log_error.empty()) return fail("experiment log: " + log_error);
      if (Status s = rec->logMetrics(flatMetrics(out.metrics), 0); !s) return fail("experiment log: " + s.error().message);
      if (Status s = rec->finish(RunStatus::Finished); !s) return fail("experiment log: " + s.error().message);
      out.log_run = rec->id();
    }
    ++completed;
    emit policyFinished(out);
  }
  emit finished(false, completed, total);
}

}  // namespace precis::ui
