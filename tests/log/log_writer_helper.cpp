// Test helper for tests/log/test_log_reliability.cpp (not a test itself): writes to an experiment
// log like a sweep would, so the test can kill it with SIGKILL mid-run.
//   log_writer_helper DB FINISHED METRICS
// Writes FINISHED complete runs (kind sweep-row, METRICS points each, one transaction per point),
// then starts one more run, logs METRICS points, prints "running ID" and waits to be killed.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "engine/log/run_recorder.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: log_writer_helper DB FINISHED METRICS\n");
    return 2;
  }
  const int finished = std::atoi(argv[2]);
  const int metrics = std::atoi(argv[3]);
  precis::Result<std::unique_ptr<precis::RunStore>> store = precis::RunStore::open(argv[1]);
  if (!store) {
    std::fprintf(stderr, "%s\n", store.error().message.c_str());
    return 1;
  }
  for (int r = 0; r <= finished; ++r) {
    auto* rec = new precis::RunRecorder(**store, 1);  // leaked for the last run: no destructor runs
    if (precis::Status s = rec->start("sweep-row", {{"row", std::to_string(r)}}, {{"seed", r}}); !s) {
      std::fprintf(stderr, "%s\n", s.error().message.c_str());
      return 1;
    }
    for (int m = 0; m < metrics; ++m)
      if (precis::Status s = rec->logMetric("kl_mean", r + m / 1000.0, m); !s) {
        std::fprintf(stderr, "%s\n", s.error().message.c_str());
        return 1;
      }
    if (r == finished) {
      std::printf("running %lld\n", static_cast<long long>(rec->id()));
      std::fflush(stdout);
      for (;;) pause();  // killed here
    }
    if (precis::Status s = rec->finish(precis::RunStatus::Finished); !s) return 1;
    delete rec;
  }
  return 0;
}
