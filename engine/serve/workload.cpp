// Seeded workload generation and trace files (see workload.h).
#include "engine/serve/workload.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "engine/runtime/sampler.h"

namespace precis {

namespace {

bool parseInt(const std::string& s, int& out) {
  try {
    size_t used = 0;
    const long v = std::stol(s, &used);
    if (used != s.size() || v < 1 || v > (1 << 24)) return false;
    out = int(v);
    return true;
  } catch (...) {
    return false;
  }
}

int drawLength(const LengthDist& d, Rng& rng) {
  switch (d.kind) {
    case LengthDist::Kind::Fixed: return d.lo;
    case LengthDist::Kind::Uniform:
      return d.lo + int(rng.next() % uint64_t(d.hi - d.lo + 1));
    case LengthDist::Kind::Data: return d.data[size_t(rng.next() % d.data.size())];
  }
  return d.lo;
}

std::vector<int32_t> drawPrompt(int len, const WorkloadSpec& spec, Rng& rng) {
  std::vector<int32_t> p;
  p.reserve(size_t(len));
  p.push_back(spec.bos);
  const uint64_t span = uint64_t(std::max(1, spec.vocab_size - 2));
  while (int(p.size()) < len) p.push_back(int32_t(2 + rng.next() % span));
  return p;
}

}  // namespace

Result<LengthDist> LengthDist::parse(const std::string& text, const std::string& what) {
  LengthDist d;
  const auto bad = [&] {
    return makeError(what + ": '" + text + "' is not a length: give N, LO:HI or data:N1,N2,... (positive integers)");
  };
  if (text.rfind("data:", 0) == 0) {
    d.kind = Kind::Data;
    std::string item;
    std::stringstream ss(text.substr(5));
    while (std::getline(ss, item, ',')) {
      int v = 0;
      if (!parseInt(item, v)) return bad();
      d.data.push_back(v);
    }
    if (d.data.empty()) return bad();
    d.lo = *std::min_element(d.data.begin(), d.data.end());
    d.hi = *std::max_element(d.data.begin(), d.data.end());
    return d;
  }
  if (const size_t colon = text.find(':'); colon != std::string::npos) {
    d.kind = Kind::Uniform;
    if (!parseInt(text.substr(0, colon), d.lo) || !parseInt(text.substr(colon + 1), d.hi) || d.hi < d.lo)
      return bad();
    return d;
  }
  d.kind = Kind::Fixed;
  if (!parseInt(text, d.lo)) return bad();
  d.hi = d.lo;
  return d;
}

std::string LengthDist::describe() const {
  switch (kind) {
    case Kind::Fixed: return std::to_string(lo);
    case Kind::Uniform: return std::to_string(lo) + ":" + std::to_string(hi);
    case Kind::Data: return "data(" + std::to_string(data.size()) + " values, " + std::to_string(lo) + ".." +
                            std::to_string(hi) + ")";
  }
  return "";
}

Result<Workload> makeWorkload(const WorkloadSpec& spec) {
  if (spec.requests < 1) return makeError("workload: requests must be positive");
  if ((spec.arrival == ArrivalKind::Poisson || spec.arrival == ArrivalKind::Bursty) && !(spec.rate > 0))
    return makeError("workload: the arrival rate must be positive");
  if (spec.arrival == ArrivalKind::Bursty && (!(spec.burst_on > 0) || spec.burst_off < 0))
    return makeError("workload: bursty needs a positive on time and a non-negative off time");
  if (spec.arrival == ArrivalKind::ClosedLoop && spec.concurrency < 1)
    return makeError("workload: closed loop needs at least one user");
  if (spec.arrival == ArrivalKind::Trace) return makeError("workload: use loadTrace for a trace file");
  Workload w;
  // Separate streams so that changing a length distribution does not move the arrivals.
  Rng arrivals(spec.seed * 3 + 1), lengths(spec.seed * 3 + 2), tokens(spec.seed * 3 + 3);
  double on_time = 0;  // time spent in on-phases (Poisson clock)
  for (int i = 0; i < spec.requests; ++i) {
    Request r;
    r.id = i;
    if (spec.arrival != ArrivalKind::ClosedLoop) {
      on_time += -std::log(1.0 - arrivals.uniform()) / spec.rate;
      r.arrival = on_time;
      if (spec.arrival == ArrivalKind::Bursty)
        r.arrival = on_time + std::floor(on_time / spec.burst_on) * spec.burst_off;
    }
    r.prompt = drawPrompt(drawLength(spec.prompt_len, lengths), spec, tokens);
    r.output_len = drawLength(spec.output_len, lengths);
    r.ttft_target = spec.ttft_target;
    r.tpot_target = spec.tpot_target;
    w.requests.push_back(std::move(r));
  }
  w.closed_loop = spec.arrival == ArrivalKind::ClosedLoop;
  w.concurrency = w.closed_loop ? spec.concurrency : 0;
  std::ostringstream d;
  if (spec.arrival == ArrivalKind::Poisson) d << "poisson " << spec.rate << " req/s";
  if (spec.arrival == ArrivalKind::Bursty)
    d << "bursty " << spec.rate << " req/s on " << spec.burst_on << " s, off " << spec.burst_off << " s";
  if (spec.arrival == ArrivalKind::ClosedLoop) d << "closed loop, " << spec.concurrency << " users";
  d << ", " << spec.requests << " requests, prompt " << spec.prompt_len.describe() << ", output "
    << spec.output_len.describe() << ", seed " << spec.seed;
  w.description = d.str();
  return w;
}

Result<Workload> loadTrace(const std::string& path, const WorkloadSpec& spec) {
  std::ifstream in(path);
  if (!in) return makeError(path + ": cannot open the trace file");
  Workload w;
  Rng tokens(spec.seed * 3 + 3);
  std::string line;
  int lineno = 0;
  double last = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (const size_t hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    for (char& c : line)
      if (c == ',' || c == '\t' || c == '\r') c = ' ';
    std::istringstream ls(line);
    std::vector<std::string> f;
    for (std::string tok; ls >> tok;) f.push_back(tok);
    if (f.empty()) continue;
    const auto bad = [&](const std::string& why) {
      return makeError(path + ":" + std::to_string(lineno) + ": " + why +
                       " (expected: arrival_s prompt_len output_len [ttft_s tpot_s])");
    };
    if (f.size() != 3 && f.size() != 5) return bad(std::to_string(f.size()) + " fields");
    Request r;
    r.id = int(w.requests.size());
    int plen = 0;
    try {
      size_t used = 0;
      r.arrival = std::stod(f[0], &used);
      if (used != f[0].size() || !(r.arrival >= 0)) return bad("arrival '" + f[0] + "' is not a time >= 0");
      if (f.size() == 5) {
        r.ttft_target = std::stod(f[3]);
        r.tpot_target = std::stod(f[4]);
        if (!(r.ttft_target >= 0) || !(r.tpot_target >= 0)) return bad("negative target");
      }
    } catch (...) {
      return bad("not a number");
    }
    if (!parseInt(f[1], plen)) return bad("prompt length '" + f[1] + "' is not a positive integer");
    if (!parseInt(f[2], r.output_len)) return bad("output length '" + f[2] + "' is not a positive integer");
    if (r.arrival < last) return bad("arrivals must not go back in time");
    last = r.arrival;
    if (f.size() == 3) {
      r.ttft_target = spec.ttft_target;
      r.tpot_target = spec.tpot_target;
    }
    r.prompt = drawPrompt(plen, spec, tokens);
    w.requests.push_back(std::move(r));
  }
  if (w.requests.empty()) return makeError(path + ": the trace has no requests");
  w.description = "trace " + path + ", " + std::to_string(w.requests.size()) + " requests, seed " +
                  std::to_string(spec.seed);
  return w;
}

Result<std::string> formatTrace(const Workload& w) {
  if (w.closed_loop)
    return makeError("a closed-loop workload has no arrival times (users send when a request ends): it has no trace");
  std::string out = "# precis serving trace: arrival_s prompt_len output_len ttft_target_s tpot_target_s\n";
  if (!w.description.empty()) out += "# " + w.description + "\n";
  char line[160];
  for (const Request& r : w.requests) {
    std::snprintf(line, sizeof line, "%.17g %d %d %.17g %.17g\n", r.arrival, int(r.prompt.size()), r.output_len,
                  r.ttft_target, r.tpot_target);
    out += line;
  }
  return out;
}

Status saveTrace(const Workload& w, const std::string& path) {
  Result<std::string> text = formatTrace(w);
  if (!text) return text.error();
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) return makeError(path + ": cannot write the trace file");
  f << *text;
  f.close();
  if (!f) return makeError(path + ": writing the trace file failed");
  return {};
}

}  // namespace precis
