// Benchmark of the experiment log's costs per logged run (docs/benchmarks.md, "Experiment log"):
// the model digest in a run's envelope hashed in full versus read from the digest cache
// (engine/log/digest_cache.h), and writing one complete sweep row (RunStore::recordRun: run,
// params, envelope, 2 documents, 23 metrics, one transaction). Measured side by side in one run;
// prints medians and the ratio. Usage: bench_log [--mb N] (model-sized file, default 512 MiB).
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "engine/log/digest_cache.h"
#include "engine/log/envelope.h"
#include "engine/log/run_store.h"

using namespace precis;
using Clock = std::chrono::steady_clock;

namespace {

double seconds(Clock::time_point a) { return std::chrono::duration<double>(Clock::now() - a).count(); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  long mb = 512;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--mb") == 0) mb = std::atol(argv[i + 1]);
  if (mb < 1) {
    std::fprintf(stderr, "usage: bench_log [--mb N]  (N >= 1)\n");
    return 2;
  }
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("precis-bench-log-" + std::to_string(getpid()));
  fs::create_directories(dir);
  const std::string model = (dir / "model.bin").string(), db = (dir / "log.sqlite").string();
  {
    std::mt19937_64 rng(1);
    std::vector<uint64_t> block(1 << 17);  // 1 MiB
    std::ofstream f(model, std::ios::binary);
    for (long m = 0; m < mb; ++m) {
      for (uint64_t& x : block) x = rng();
      f.write(reinterpret_cast<const char*>(block.data()), static_cast<std::streamsize>(block.size() * 8));
    }
  }
  struct timespec old[2];
  clock_gettime(CLOCK_REALTIME, &old[0]);
  old[0].tv_sec -= 3600;  // a model written an hour ago (the cache skips files still changing)
  old[1] = old[0];
  utimensat(AT_FDCWD, model.c_str(), old, 0);
  Result<std::unique_ptr<RunStore>> store = RunStore::open(db);
  if (!store) {
    std::fprintf(stderr, "%s\n", store.error().message.c_str());
    return 1;
  }
  EnvelopeInputs in;
  in.model_path = model;
  in.data_digest = tokenDigest({{1, 2, 3}});
  std::vector<double> full, cached;
  DigestCache cache(**store);
  for (int rep = 0; rep < 3; ++rep) {
    Clock::time_point t = Clock::now();
    if (!collectEnvelope(in)) return 1;
    full.push_back(seconds(t));
  }
  in.digests = &cache;
  if (!collectEnvelope(in)) return 1;  // the first run with the cache hashes and stores
  for (int rep = 0; rep < 50; ++rep) {
    Clock::time_point t = Clock::now();
    if (!collectEnvelope(in)) return 1;
    cached.push_back(seconds(t));
  }
  const nlohmann::json envelope = nlohmann::json(*collectEnvelope(in));
  std::vector<double> row;
  NewRun parent;
  parent.kind = "sweep";
  const int64_t pid = *(*store)->createRun(parent);
  for (int rep = 0; rep < 200; ++rep) {
    CompletedRun r;
    r.run.kind = "sweep-row";
    r.run.parent = pid;
    r.run.params = {{"model", model}, {"weights", "int4"}, {"granularity", "channel"}, {"sample", "512"}};
    r.run.envelope = envelope;
    r.documents["invocation"] = {{"command", "eval"}};
    r.documents["conversion"] = {{"tensors", nlohmann::json::array()}};
    for (int m = 0; m < 23; ++m) r.metrics.push_back({"metric_" + std::to_string(m), m * 0.5, 0, 0});
    Clock::time_point t = Clock::now();
    if (!(*store)->recordRun(r)) return 1;
    row.push_back(seconds(t));
  }
  std::printf("Experiment log costs (%ld MiB model file, %s)\n", mb, db.c_str());
  std::printf("  envelope, model hashed in full     %10.3f ms (median of %zu)\n", 1e3 * median(full), full.size());
  std::printf("  envelope, digest from the cache    %10.3f ms (median of %zu; %zu hits, %zu misses)\n",
              1e3 * median(cached), cached.size(), cache.hits(), cache.misses());
  std::printf("  ratio full / cached                %10.0fx\n", median(full) / median(cached));
  std::printf("  hashing speed                      %10.0f MiB/s\n", mb / median(full));
  std::printf("  one sweep row written (recordRun)  %10.3f ms (median of %zu)\n", 1e3 * median(row), row.size());
  store->reset();
  fs::remove_all(dir);
  return 0;
}
