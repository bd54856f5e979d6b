// `precis-cli distill --teacher T (--student FILE | --student-from-teacher SPEC | --student-config
// JSON) (--data FILE | --tokens FILE | --sample N) --out FILE [options]`: knowledge distillation of a
// student from a teacher's soft labels, alpha * T^2 * KL(teacher_T || student_T) + (1 - alpha) *
// cross-entropy, optionally quantization-aware (--quantize FORMAT ...). The training loop, logging,
// checkpoints and Ctrl-C are app/cli/train_cli.h's; students from the teacher are
// engine/train/distill.h's, teacher samples engine/train/teacher_samples.h's.
// Tested by tests/cli/test_cli_train.cpp.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "app/cli/cli_common.h"
#include "app/cli/train_cli.h"
#include "engine/backend/registry.h"
#include "engine/log/envelope.h"
#include "engine/model/loader.h"
#include "engine/runtime/llama_runtime.h"
#include "engine/train/distill.h"
#include "engine/train/teacher_samples.h"

namespace precis::cli {

const CommandSpec& distillSpec() {
  static const CommandSpec spec = [] {
    CommandSpec s{
        "distill",
        "--teacher T (--student FILE | --student-from-teacher SPEC | --student-config JSON)\n"
        "       (--data FILE | --tokens FILE | --sample N) --out FILE [options]",
        "Distil a student model from a teacher's soft labels (optionally quantization-aware).",
        "Loss per position: alpha * T^2 * KL(softmax(teacher/T) || softmax(student/T))\n"
        "                   + (1 - alpha) * cross-entropy(student, next token)   (Hinton et al.)\n"
        "Reported every step: loss, plain (T = 1) KL to the teacher, top-1 agreement with the\n"
        "teacher, learning rate, tokens/s; held-out evaluation every --eval-every steps.\n"
        "\n"
        "Student: --student FILE (any model sharing the teacher's tokenizer and vocabulary);\n"
        "--student-from-teacher SPEC, initialised from the teacher's weights by slicing:\n"
        "  every-other | layers=0,2,5 | hidden=N | dim=N | heads=N, joined by ',' (e.g.\n"
        "  \"every-other,hidden=256,heads=4\": every other layer, the first 256 feed-forward units,\n"
        "  the first 4 heads and the model dimensions they cover);\n"
        "--student-config JSON, a fresh shape (make-model's keys; vocab_size is the teacher's).\n"
        "\n"
        "Data: --data FILE (text, one sequence per non-blank line, encoded with the teacher's\n"
        "tokenizer), --tokens FILE (ids), or --sample N: N sequences of --ctx + 1 tokens sampled\n"
        "from the teacher at temperature 1 (sequence-level distillation; seeded by --seed).\n"
        "\n"
        "--quantize FORMAT trains through fake-quantized weights (straight-through estimator) with the\n"
        "quantization lab's formats and scales (docs/quantization.md) and writes the quantized student\n"
        "(q8_0/q4_0/f16/bf16 in their GGUF types; lab formats as f32 values on the format's grid).\n"
        "The teacher runs on --backend; the student trains on the CPU. Checkpoints, --resume and\n"
        "Ctrl-C as for train. See docs/distillation.md.",
        {{"--teacher", "FILE", "the teacher model (any format Precis loads)"},
         {"--student", "FILE", "an existing student model"},
         {"--student-from-teacher", "SPEC", "a student sliced from the teacher (see above)"},
         {"--student-config", "JSON", "a fresh student of this shape"},
         {"--data", "FILE", "text file (one sequence per line)"},
         {"--tokens", "FILE", "token file (one sequence of ids per line)"},
         {"--sample", "N", "N sequences sampled from the teacher"},
         {"--temperature", "T", "softmax temperature of the soft labels (default 2)"},
         {"--alpha", "A", "weight of the soft-label term, 0..1 (default 0.9)"},
         {"--tokenizer", "FILE", "llama2.c tokenizer.bin for a llama2.c teacher"},
         {"--backend", "NAME", "teacher backend: cpu, cuda or auto (default auto)"},
         {"--out", "FILE", "output GGUF (also the checkpoint)"}},
        0,
        0};
    for (const OptionSpec& o : quantAwareOptions()) s.options.push_back(o);
    for (const OptionSpec& o : trainLoopOptions()) s.options.push_back(o);
    return s;
  }();
  return spec;
}

int runDistill(const ParsedArgs& args) {
  const CommandSpec& spec = distillSpec();
  if (!args.has("--teacher")) return usageError(spec, "--teacher FILE is required");
  if (!args.has("--out")) return usageError(spec, "--out FILE is required");
  if (args.has("--student") + args.has("--student-from-teacher") + args.has("--student-config") != 1)
    return usageError(spec, "give exactly one of --student, --student-from-teacher or --student-config");
  if (args.has("--data") + args.has("--tokens") + args.has("--sample") != 1)
    return usageError(spec, "give exactly one of --data, --tokens or --sample");
  std::string err;
  std::optional<TrainOptions> o = trainOptionsFromArgs(args, err);
  if (!o) return usageError(spec, err);
  const std::optional<double> heldout = heldoutFromArgs(args, err);
  if (!heldout) return usageError(spec, err);
  const std::optional<long long> sample = intOption(args, "--sample", 0, 2, 1 << 24, err);
  if (!sample) return usageError(spec, err);
  const std::optional<double> temperature =
      args.has("--temperature") ? parseNumber("--temperature", args.get("--temperature"), 1e-3, 1e3, err) : 2.0;
  if (!temperature) return usageError(spec, err);
  const std::optional<double> alpha = args.has("--alpha") ? parseNumber("--alpha", args.get("--alpha"), 0, 1, err) : 0.9;
  if (!alpha) return usageError(spec, err);
  o->distill = {float(*alpha), float(*temperature)};
  Result<std::optional<QuantScheme>> scheme = quantAwareScheme(args);
  if (!scheme) return usageError(spec, scheme.error().message);
  const std::string backend_name = args.get("--backend", "auto");
  if (backend_name != "auto" && backend_name != "cpu" && backend_name != "cuda")
    return usageError(spec, "--backend: '" + backend_name + "' is not one of cpu, cuda, auto");

  // Teacher.
  const std::string teacher_path = args.get("--teacher");
  LoadOptions lo;
  lo.tokenizer_path = args.get("--tokenizer");
  Result<Model> teacher = loadModel(teacher_path, lo);
  if (!teacher) return runtimeError(spec, teacher.error().message);
  const LlamaConfig& tc = teacher->config;

  // Student.
  TrainParams init;
  std::string student_desc;
  if (args.has("--student")) {
    const std::string sp = args.get("--student");
    Result<Model> sm = loadModel(sp);
    if (!sm) return runtimeError(spec, sm.error().message);
    Result<TrainParams> p = studentFromFile(*teacher, *sm, teacher_path, sp);
    if (!p) return runtimeError(spec, p.error().message);
    init = std::move(*p);
    student_desc = "file " + sp;
  } else if (args.has("--student-from-teacher")) {
    Result<StudentSpec> ss = parseStudentSpec(args.get("--student-from-teacher"), tc.n_layers);
    if (!ss) return usageError(spec, ss.error().message);
    Result<TrainParams> tp = TrainParams::fromModel(*teacher);
    if (!tp) return runtimeError(spec, teacher_path + ": " + tp.error().message);
    Result<TrainParams> p = studentFromTeacher(*tp, *ss);
    if (!p) return runtimeError(spec, "--student-from-teacher " + args.get("--student-from-teacher") + ": " + p.error().message);
    init = std::move(*p);
    student_desc = "from teacher: " + args.get("--student-from-teacher");
  } else {
    Result<LlamaConfig> c = configFileWithVocab(args.get("--student-config"), tc.vocab_size);
    if (!c) return runtimeError(spec, c.error().message);
    init = TrainParams::init(*c, o->seed);
    student_desc = "fresh: " + args.get("--student-config");
  }
  const LlamaConfig& sc = init.config;
  // Default: 64 tokens, fewer when a model's context is shorter (with --sample, one less than the
  // teacher's, so that a sampled sequence of ctx + 1 tokens fits it).
  if (o->ctx == 0)
    o->ctx = std::max(2, std::min({64, tc.context_length - (args.has("--sample") ? 1 : 0), sc.context_length}));
  if (o->ctx > tc.context_length)
    return runtimeError(spec, "--ctx " + std::to_string(o->ctx) + " exceeds the teacher's context length " +
                                  std::to_string(tc.context_length) + " (" + teacher_path + ")");
  if (o->ctx > sc.context_length)
    return runtimeError(spec, "--ctx " + std::to_string(o->ctx) + " exceeds the student's context length " +
                                  std::to_string(sc.context_length));

  // Teacher runtime: one slot per batch row (the teacher's logits of a whole step in one call).
  BackendOptions bo;
  bo.threads = o->threads;
  Result<std::unique_ptr<Backend>> backend = createBackend(backend_name, bo);
  if (!backend) return runtimeError(spec, backend.error().message);
  const int sample_len = std::min(o->ctx + 1, tc.context_length);
  RuntimeOptions ro;
  ro.max_slots = o->batch;
  ro.max_ctx = std::max(o->ctx, args.has("--sample") ? sample_len : 0);
  ro.max_batch_tokens = o->batch * o->ctx;
  Result<std::unique_ptr<LlamaRuntime>> rt = LlamaRuntime::create(*teacher, **backend, ro);
  if (!rt) return runtimeError(spec, "teacher runtime: " + rt.error().message);

  // Data.
  Result<TokenSplit> data = makeError("");
  std::vector<std::vector<int32_t>> sampled;
  if (args.has("--sample")) {
    const bool quiet = args.has("--quiet"), tty = isatty(STDERR_FILENO) != 0;
    Result<std::vector<std::vector<int32_t>>> seqs = sampleFromTeacher(
        **rt, bosId(*teacher), int(*sample), sample_len, o->seed, [quiet, tty](double f) {
          if (!quiet && tty) std::fprintf(stderr, "\rsampling from the teacher: %3d%%", int(f * 100));
          return true;
        });
    if (!quiet)
      std::fprintf(stderr, "%ssampled %lld sequences of %d tokens from the teacher (seed %llu)\n", tty ? "\r" : "",
                   *sample, sample_len, (unsigned long long)o->seed);
    if (!seqs) return runtimeError(spec, seqs.error().message);
    // At least enough held-out sequences for one evaluation window of ctx + 1 tokens.
    const double total = double(*sample) * sample_len;
    data = splitSequences(*seqs, std::max(*heldout, std::ceil(double(o->ctx + 1) / sample_len) * sample_len / total));
  } else {
    std::optional<Tokenizer> tok;
    if (teacher->tokenizer.kind != TokenizerKind::None) {
      Result<Tokenizer> t = Tokenizer::create(teacher->tokenizer);
      if (!t) return runtimeError(spec, t.error().message);
      tok = std::move(*t);
    }
    data = loadDataFromArgs(args, tok ? &*tok : nullptr, tc.vocab_size, *heldout);
  }
  if (!data) return runtimeError(spec, data.error().message);

  TrainJob job;
  job.command = "distill";
  job.out = args.get("--out");
  job.name = "precis-distilled-student";
  job.tokenizer = teacher->tokenizer;
  job.model_path = teacher_path;
  job.device = &(*backend)->device();
  job.quantize = *scheme;
  job.data_digest = tokenDigest({data->train, data->heldout});
  job.params["student_shape"] = student_desc;
  job.params["student_parameters"] = std::to_string(sc.parameterCount());
  job.params["teacher_parameters"] = std::to_string(tc.parameterCount());
  return runTrainJob(spec, args, job, std::move(init), *o, std::move(*data), runtimeTeacher(**rt));
}

}  // namespace precis::cli
