// Serving workloads: a list of requests (arrival time, prompt tokens, output length, TTFT/TPOT
// deadlines) built from an arrival process and length distributions, all seeded (same seed, same
// trace), or read from a trace file. Closed-loop workloads (N users, each sending its next request
// when the previous one finished) have no arrival times in advance: the simulator releases them.
// Tested by tests/serve/test_workload.cpp (determinism, Poisson mean gap, bursty gaps, trace
// parsing and its error messages; a saved trace loads back identically).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/core/result.h"

namespace precis {

struct Request {
  int id = 0;
  double arrival = 0;               // seconds from the start of the run (ignored when closed-loop)
  std::vector<int32_t> prompt;      // prompt token ids (BOS first)
  int output_len = 1;               // tokens to generate (EOS ignored, as vLLM's benchmark does)
  double ttft_target = 0;           // seconds; 0 = no target
  double tpot_target = 0;           // seconds per output token after the first; 0 = no target
};

enum class ArrivalKind { Poisson, Bursty, ClosedLoop, Trace };

// A length distribution: fixed, uniform in [lo, hi], or drawn from observed values.
struct LengthDist {
  enum class Kind { Fixed, Uniform, Data } kind = Kind::Fixed;
  int lo = 16, hi = 16;        // Fixed uses lo
  std::vector<int> data;       // Data: values drawn uniformly from this list
  // "16", "8:64" (uniform, inclusive), or "data:4,9,30" ; error names the text.
  static Result<LengthDist> parse(const std::string& text, const std::string& what);
  std::string describe() const;
};

struct WorkloadSpec {
  int requests = 64;
  ArrivalKind arrival = ArrivalKind::Poisson;
  double rate = 4.0;           // Poisson / bursty on-phase: requests per second
  double burst_on = 1.0;       // bursty: seconds on (Poisson at `rate`), then burst_off seconds silent
  double burst_off = 1.0;
  int concurrency = 4;         // closed loop: concurrent users
  LengthDist prompt_len{LengthDist::Kind::Fixed, 16, 16, {}};
  LengthDist output_len{LengthDist::Kind::Uniform, 8, 64, {}};
  double ttft_target = 0;
  double tpot_target = 0;
  int vocab_size = 512;        // prompt token ids drawn in [2, vocab)
  int32_t bos = 1;
  uint64_t seed = 0;
};

struct Workload {
  std::vector<Request> requests;  // sorted by arrival (closed loop: by id)
  bool closed_loop = false;
  int concurrency = 0;            // closed loop: users
  std::string description;        // "poisson 4 req/s, prompt 16, output 8:64, seed 0"
};

Result<Workload> makeWorkload(const WorkloadSpec& spec);

// Trace file: one request per line, "arrival_s prompt_len output_len [ttft_target tpot_target]"
// (whitespace or commas; '#' comments and blank lines skipped). Prompt ids are drawn with
// spec.seed (the trace gives lengths, not text). Errors name the file and line.
Result<Workload> loadTrace(const std::string& path, const WorkloadSpec& spec);

// The trace of a workload in loadTrace's format, one "arrival_s prompt_len output_len ttft_s tpot_s"
// line per request after a '#' header, times with 17 significant digits: loadTrace of the file with
// the workload's seed gives the same requests (prompt ids included: they come from their own
// seeded stream). A closed-loop workload has no arrival times and is an error.
Result<std::string> formatTrace(const Workload& workload);
// formatTrace written to `path`; errors name the file.
Status saveTrace(const Workload& workload, const std::string& path);

}  // namespace precis
