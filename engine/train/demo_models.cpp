// Built-in demo models (see demo_models.h).
#include "engine/train/demo_models.h"

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "engine/backend/registry.h"
#include "engine/model/gguf_writer.h"
#include "engine/model/loader.h"
#include "engine/model/presets.h"
#include "engine/runtime/llama_runtime.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/train/bpe_trainer.h"
#include "engine/train/distill.h"
#include "engine/train/llama_train.h"
#include "engine/train/story_grammar.h"
#include "engine/train/train_loss.h"
#include "engine/train/trainer.h"

namespace fs = std::filesystem;

namespace precis {
namespace {

// Mean -log p of every story token and of the BOS that follows it, each story scored alone from
// its BOS (story-aligned windows, as the entropy floor is defined). Stories longer than ctx are
// cut (their tail unscored).
double storyAlignedCe(const TrainParams& p, const std::vector<std::vector<int32_t>>& stories, int ctx, int32_t bos,
                      ThreadPool& pool) {
  TrainGraph g(p.config, 1, ctx);
  std::vector<int32_t> in(static_cast<size_t>(ctx)), lab(in.size());
  double nll = 0;
  int64_t n = 0;
  const int V = p.config.vocab_size;
  for (const std::vector<int32_t>& s : stories) {  // s = BOS, story tokens
    for (int t = 0; t < ctx; ++t) {
      in[size_t(t)] = t < int(s.size()) ? s[size_t(t)] : bos;
      lab[size_t(t)] = t + 1 < int(s.size()) ? s[size_t(t) + 1] : (t + 1 == int(s.size()) ? bos : -1);
    }
    g.forward(pool, p, in.data());
    const LossStats ls = batchLoss(pool, g.logits(), nullptr, lab.data(), ctx, V, {0.f, 1.f}, nullptr);
    int64_t scored = 0;
    for (int32_t l : lab) scored += l >= 0 ? 1 : 0;
    nll += ls.ce * ctx;
    n += scored;
  }
  return n ? nll / double(n) : 0;
}

Status writeText(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    if (!out) return makeError(path + ": cannot write");
    out << text;
    if (!out) return makeError(path + ": write failed");
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return makeError(path + ": cannot rename: " + ec.message());
  return {};
}

}  // namespace

std::string DemoConfig::key() const {
  std::ostringstream s;
  s << "v1 seed " << seed << " stories " << train_stories << "/" << heldout_stories << " vocab " << vocab_size
    << " teacher " << teacher.dim << "x" << teacher.n_layers << " h" << teacher.hidden_dim << " heads "
    << teacher.n_heads << "/" << teacher.n_kv_heads << " steps " << teacher_steps << "/" << student_steps
    << " batch " << batch << " ctx " << ctx << " lr " << teacher_lr << "/" << student_lr << " alpha " << alpha
    << " T " << temperature;
  return s.str();
}

DemoConfig defaultDemoConfig() {
  DemoConfig c;
  c.teacher = llamaShape(160, 448, 4, 4, 2, 0, 128, false);
  c.batch = 8;
  c.ctx = 128;
  c.teacher_steps = 200;
  c.student_steps = 80;
  c.teacher_lr = 5e-3f;
  c.student_lr = 3e-3f;
  return c;
}

DemoConfig smallDemoConfig() {
  DemoConfig c;
  c.train_stories = 300;
  c.heldout_stories = 20;
  c.vocab_size = 320;
  c.teacher = llamaShape(32, 64, 2, 2, 1, 0, 128, false);
  c.teacher_steps = 30;
  c.student_steps = 20;
  c.batch = 4;
  c.ctx = 32;
  c.teacher_lr = 1e-2f;
  c.student_lr = 5e-3f;
  return c;
}

std::string defaultDemoDir() {
  if (const char* x = std::getenv("XDG_DATA_HOME"); x && *x) return (fs::path(x) / "precis" / "demo").string();
  const char* h = std::getenv("HOME");
  return (fs::path(h && *h ? h : ".") / ".local" / "share" / "precis" / "demo").string();
}

namespace {

DemoResult demoPaths(const std::string& dir) {
  DemoResult r;
  r.dir = dir;
  r.teacher_path = (fs::path(dir) / "demo-teacher.gguf").string();
  r.student_path = (fs::path(dir) / "demo-student.gguf").string();
  r.corpus_path = (fs::path(dir) / "stories.txt").string();
  r.manifest_path = (fs::path(dir) / "demo.json").string();
  return r;
}

}  // namespace

Result<DemoResult> findCachedDemoModels(const DemoConfig& cfg, const std::string& dir) {
  DemoResult r = demoPaths(dir);
  for (const std::string* p : {&r.manifest_path, &r.teacher_path, &r.student_path})
    if (!fs::exists(*p)) return makeError("demo models: " + *p + " does not exist (not built yet)");
  std::ifstream in(r.manifest_path);
  try {
    const nlohmann::json j = nlohmann::json::parse(in);
    if (j.value("key", "") != cfg.key())
      return makeError("demo models: " + r.manifest_path + " was built with another configuration");
    r.cached = true;
    r.entropy_floor = j.at("entropy_floor_nats").get<double>();
    r.teacher_ppl = j.at("teacher").at("perplexity").get<double>();
    r.student_ppl = j.at("student").at("perplexity").get<double>();
    r.student_kl = j.at("student").at("kl_to_teacher").get<double>();
    r.student_initial_kl = j.at("student").at("initial_kl_to_teacher").get<double>();
    r.student_agreement = j.at("student").at("top1_agreement").get<double>();
    r.teacher_params = j.at("teacher").at("parameters").get<int64_t>();
    r.student_params = j.at("student").at("parameters").get<int64_t>();
  } catch (const std::exception& e) {
    return makeError("demo models: " + r.manifest_path + " is damaged: " + e.what());
  }
  return r;
}

Result<DemoResult> buildDemoModels(const DemoConfig& cfg, const std::string& dir,
                                   const std::function<bool(const DemoProgress&)>& progress, bool force) {
  const auto t0 = std::chrono::steady_clock::now();
  auto report = [&](const std::string& stage, double f, const std::string& detail) {
    return !progress || progress({stage, f, detail});
  };
  auto cancelled = [] { return makeError("demo models: cancelled"); };

  if (!force)
    if (Result<DemoResult> c = findCachedDemoModels(cfg, dir)) {  // a damaged manifest: rebuild
      report("done", 1, "cached");
      return c;
    }
  DemoResult r = demoPaths(dir);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return makeError(dir + ": cannot create the demo folder: " + ec.message());

  // Corpus.
  if (!report("corpus", 0, "")) return cancelled();
  const std::vector<Story> stories = generateStories(cfg.seed, cfg.train_stories + cfg.heldout_stories);
  std::string corpus;
  std::vector<std::string> train_texts;
  for (int i = 0; i < int(stories.size()); ++i) {
    corpus += stories[size_t(i)].text + "\n";
    if (i < cfg.train_stories) train_texts.push_back(stories[size_t(i)].text);
  }
  if (Status s = writeText(r.corpus_path, corpus); !s) return s.error();

  // Tokenizer.
  if (!report("tokenizer", 0, "")) return cancelled();
  Result<TokenizerData> td = trainBpeTokenizer(train_texts, cfg.vocab_size);
  if (!td) return td.error();
  Result<Tokenizer> tok = Tokenizer::create(*td);
  if (!tok) return makeError("demo tokenizer: " + tok.error().message);
  const int32_t bos = tok->bos();
  std::vector<int32_t> train_stream, held_stream;
  std::vector<std::vector<int32_t>> held_stories;
  double held_nll = 0;
  int64_t held_predicted = 0;
  for (int i = 0; i < int(stories.size()); ++i) {
    std::vector<int32_t> ids = tok->encode(stories[size_t(i)].text, true);
    std::vector<int32_t>& dst = i < cfg.train_stories ? train_stream : held_stream;
    dst.insert(dst.end(), ids.begin(), ids.end());
    if (i >= cfg.train_stories) {
      held_nll += stories[size_t(i)].nll;
      held_predicted += int64_t(ids.size());  // the story's tokens after BOS, then the next BOS
      held_stories.push_back(std::move(ids));
    }
  }
  held_stream.push_back(bos);
  r.entropy_floor = held_nll / double(held_predicted);

  // Teacher.
  LlamaConfig tc = cfg.teacher;
  tc.vocab_size = int(td->pieces.size());
  TrainOptions o;
  o.batch = cfg.batch;
  o.ctx = cfg.ctx;
  o.steps = cfg.teacher_steps;
  o.adam.lr = cfg.teacher_lr;
  o.warmup = std::max(1, cfg.teacher_steps / 20);
  o.eval_every = 0;
  o.eval_windows = 32;
  o.seed = cfg.seed;
  o.threads = cfg.threads;
  const int64_t tsteps = cfg.teacher_steps, ssteps = cfg.student_steps;
  auto tr = Trainer::create(TrainParams::init(tc, cfg.seed), o, train_stream, held_stream);
  if (!tr) return tr.error();
  TrainCallbacks cb;
  bool stop = false;
  cb.should_stop = [&] { return stop; };
  cb.on_step = [&](const StepMetrics& m) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "step %lld/%lld loss %.3f, %.0f tokens/s", (long long)m.step, (long long)tsteps,
                  m.loss, m.tokens_per_s);
    stop = !report("teacher", double(m.step) / double(tsteps), buf);
  };
  if (Status s = (*tr)->run(cb); !s) return s.error();
  if ((*tr)->cancelled()) return cancelled();
  const TrainParams& teacher = (*tr)->params();
  r.teacher_params = teacher.config.parameterCount();
  ThreadPool pool(cfg.threads);
  r.teacher_ppl = std::exp(storyAlignedCe(teacher, held_stories, tc.context_length, bos, pool));
  const Model teacher_model = teacher.toModel(*td, "precis-demo-teacher");

  // Student: every other teacher layer, distilled.
  Result<StudentSpec> spec = parseStudentSpec("every-other", tc.n_layers);
  if (!spec) return spec.error();
  Result<TrainParams> sp = studentFromTeacher(teacher, *spec);
  if (!sp) return sp.error();
  auto be = createBackend("cpu", {cfg.threads});
  if (!be) return be.error();
  RuntimeOptions ro;
  ro.max_slots = cfg.batch;
  ro.max_ctx = cfg.ctx;
  ro.max_batch_tokens = cfg.batch * cfg.ctx;
  auto rt = LlamaRuntime::create(teacher_model, **be, ro);
  if (!rt) return rt.error();
  TrainOptions so = o;
  so.steps = cfg.student_steps;
  so.adam.lr = cfg.student_lr;
  so.warmup = std::max(1, cfg.student_steps / 20);
  so.distill = {cfg.alpha, cfg.temperature};
  so.seed = cfg.seed + 1;
  auto st = Trainer::create(std::move(*sp), so, train_stream, held_stream, runtimeTeacher(**rt));
  if (!st) return st.error();
  Result<EvalMetrics> e0 = (*st)->evaluate();
  if (!e0) return e0.error();
  r.student_initial_kl = e0->kl;
  cb.on_step = [&](const StepMetrics& m) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "step %lld/%lld loss %.3f KL %.3f agreement %.1f%%, %.0f tokens/s",
                  (long long)m.step, (long long)ssteps, m.loss, m.kl, 100 * m.agreement, m.tokens_per_s);
    stop = !report("student", double(m.step) / double(ssteps), buf);
  };
  EvalMetrics last;
  cb.on_eval = [&](const EvalMetrics& e) { last = e; };
  if (Status s = (*st)->run(cb); !s) return s.error();
  if ((*st)->cancelled()) return cancelled();
  r.student_kl = last.kl;
  r.student_agreement = last.agreement;
  r.student_params = (*st)->params().config.parameterCount();
  r.student_ppl = std::exp(storyAlignedCe((*st)->params(), held_stories, tc.context_length, bos, pool));

  if (Status s = writeGguf(teacher_model, r.teacher_path); !s) return s.error();
  if (Status s = writeGguf((*st)->params().toModel(*td, "precis-demo-student"), r.student_path); !s) return s.error();
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  nlohmann::json j;
  j["key"] = cfg.key();
  j["seed"] = cfg.seed;
  j["entropy_floor_nats"] = r.entropy_floor;
  j["entropy_floor_perplexity"] = std::exp(r.entropy_floor);
  j["vocab_size"] = tc.vocab_size;
  j["teacher"] = {{"file", "demo-teacher.gguf"}, {"parameters", r.teacher_params}, {"perplexity", r.teacher_ppl},
                  {"steps", cfg.teacher_steps}};
  j["student"] = {{"file", "demo-student.gguf"}, {"parameters", r.student_params}, {"perplexity", r.student_ppl},
                  {"kl_to_teacher", r.student_kl}, {"initial_kl_to_teacher", r.student_initial_kl},
                  {"top1_agreement", r.student_agreement}, {"steps", cfg.student_steps}, {"alpha", cfg.alpha},
                  {"temperature", cfg.temperature}, {"from_teacher", "every-other"}};
  j["seconds"] = r.seconds;
  if (Status s = writeText(r.manifest_path, j.dump(2) + "\n"); !s) return s.error();
  report("done", 1, "");
  return r;
}

}  // namespace precis
