// Serving metric definitions on hand-built timelines: TTFT, TPOT, ITL, E2E, queue time,
// percentiles (numpy's linear interpolation), throughput, occupancy, padding ratio, KV usage,
// goodput against targets, quality-aware goodput, and the --json keys.
#include <QtTest>

#include <fstream>

#include "engine/serve/metrics.h"

using namespace precis;

namespace {
RequestRecord req(int id, double arrival, double scheduled, std::vector<double> tokens, double ttft_t = 0,
                  double tpot_t = 0) {
  RequestRecord r;
  r.id = id;
  r.arrival = arrival;
  r.scheduled = scheduled;
  r.token_times = std::move(tokens);
  r.finish = r.token_times.back();
  r.output_len = int(r.token_times.size());
  r.ttft_target = ttft_t;
  r.tpot_target = tpot_t;
  return r;
}
StepRecord step(double start, double end, int seqs, int real, int pad, int kv) {
  StepRecord s;
  s.start = start;
  s.end = end;
  s.device_seconds = end - start;
  s.sequences = seqs;
  s.real_tokens = real;
  s.pad_tokens = pad;
  s.kv_blocks_used = kv;
  return s;
}
}  // namespace

class TestMetrics : public QObject {
  Q_OBJECT
 private slots:
  void percentilesAreNumpyLinear() {
    std::vector<double> v{1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    // numpy.percentile(range(1, 11), [50, 90, 99]) = 5.5, 9.1, 9.91
    QCOMPARE(percentileSorted(v, 50), 5.5);
    QVERIFY(std::fabs(percentileSorted(v, 90) - 9.1) < 1e-12);
    QVERIFY(std::fabs(percentileSorted(v, 99) - 9.91) < 1e-12);
    const Distribution d = distribution({3, 1, 2});
    QCOMPARE(d.mean, 2.0);
    QCOMPARE(d.p50, 2.0);
    QCOMPARE(d.max, 3.0);
    QCOMPARE(d.count, 3);
  }

  void latenciesThroughputAndGoodput() {
    Timeline tl;
    tl.max_sequences = 4;
    tl.token_budget = 8;
    tl.kv_blocks_total = 10;
    tl.clock = "fake";
    // r0: arrives 0, scheduled 0.5, tokens at 1, 2, 4 -> TTFT 1, TPOT (4-1)/2 = 1.5, E2E 4, queue 0.5
    tl.requests.push_back(req(0, 0.0, 0.5, {1.0, 2.0, 4.0}, 2.0, 1.0));
    // r1: arrives 1, scheduled 1, tokens at 2, 3 -> TTFT 1, TPOT 1, E2E 2, queue 0
    tl.requests.push_back(req(1, 1.0, 1.0, {2.0, 3.0}, 2.0, 1.0));
    // r2: rejected
    RequestRecord rej;
    rej.id = 2;
    rej.rejected = true;
    rej.reject_reason = "queue full";
    tl.requests.push_back(rej);
    tl.requests[1].preemptions = 2;
    tl.requests[0].prompt_len = 3;
    tl.requests[1].prompt_len = 5;
    tl.requests[2].prompt_len = 100;  // rejected: not counted
    tl.steps = {step(0.5, 1, 1, 4, 0, 1), step(1, 2, 2, 6, 2, 3), step(2, 3, 2, 2, 0, 5), step(3, 4, 1, 1, 1, 2)};
    QualityInput q;
    q.known = true;
    q.acceptance = 1.0;
    const ServeMetrics m = computeMetrics(tl, q);
    QCOMPARE(m.finished, 2);
    QCOMPARE(m.rejected, 1);
    QCOMPARE(m.preemptions, 2);
    QCOMPARE(m.ttft.mean, 1.0);
    QCOMPARE(m.tpot.mean, 1.25);
    QCOMPARE(m.tpot.max, 1.5);
    QCOMPARE(m.e2e.mean, 3.0);
    QCOMPARE(m.queue.mean, 0.25);
    // ITL gaps: 1, 2 (r0) and 1 (r1).
    QCOMPARE(m.itl.count, 3);
    QCOMPARE(m.itl.p50, 1.0);
    QCOMPARE(m.itl.max, 2.0);
    QCOMPARE(m.duration, 4.0);
    QCOMPARE(m.requests_per_s, 0.5);
    QCOMPARE(m.output_tokens_per_s, 5.0 / 4.0);
    // vLLM's total_token_throughput: prompt + output tokens of finished requests per second.
    QCOMPARE(m.prompt_tokens, 8LL);
    QCOMPARE(m.total_tokens_per_s, (8.0 + 5.0) / 4.0);
    // r0 misses its TPOT target (1.5 > 1): one good request, one miss.
    QCOMPARE(m.deadline_misses, 1);
    QCOMPARE(m.goodput, 0.25);
    // The per-request rule the workbench's timeline highlights with: r0 misses, r1 meets.
    QVERIFY(!meetsTargets(tl.requests[0]));
    QVERIFY(meetsTargets(tl.requests[1]));
    // Occupancy: (1 + 2 + 2 + 1) / 4 / 4 steps; budget use (4 + 6 + 2 + 1) / 8 / 4.
    QCOMPARE(m.occupancy_mean, 6.0 / 16.0);
    QCOMPARE(m.token_budget_use_mean, 13.0 / 32.0);
    QCOMPARE(m.padded_token_ratio, 3.0 / 16.0);
    QCOMPARE(m.kv_usage_max, 0.5);
    QCOMPARE(m.device_seconds, 3.5);
    // Quality goodput: good output tokens (r1: 2) x acceptance / device seconds.
    QVERIFY(m.quality_goodput.has_value());
    QCOMPARE(*m.quality_goodput, 2.0 / 3.5);
    const nlohmann::json j = metricsJson(m);
    for (const char* key : {"ttft", "tpot", "e2e", "queue", "requests_per_s", "output_tokens_per_s",
                            "occupancy_mean", "padded_token_ratio", "kv_usage_max", "preemptions", "rejected",
                            "deadline_misses", "goodput", "quality_goodput", "clock", "total_tokens_per_s"})
      QVERIFY2(j.contains(key), key);
    for (const char* key : {"mean", "p50", "p90", "p99", "max"}) QVERIFY2(j["ttft"].contains(key), key);
    QCOMPARE(j["clock"].get<std::string>(), std::string("fake"));
    // Unknown quality: null, never a guess.
    const ServeMetrics unknown = computeMetrics(tl, QualityInput{});
    QVERIFY(!unknown.quality_goodput.has_value());
    QVERIFY(metricsJson(unknown)["quality_goodput"].is_null());
  }

  void qualityPolicyFromEvalJson() {
    const QString dir = QDir::tempPath() + "/precis_test_serve_quality.json";
    {
      std::ofstream f(dir.toStdString());
      f << R"({"kl": {"mean": 0.026}, "top1_agreement": 0.914})";
    }
    Result<QualityInput> pass = qualityFromEvalJson(dir.toStdString(), 0.05, 0.9);
    QVERIFY(pass.ok());
    QCOMPARE(pass->acceptance, 1.0);
    Result<QualityInput> fail = qualityFromEvalJson(dir.toStdString(), 0.01, 0.9);
    QVERIFY(fail.ok());
    QCOMPARE(fail->acceptance, 0.0);
    QVERIFY(fail->source.find("rejected") != std::string::npos);
    Result<QualityInput> missing = qualityFromEvalJson("/nonexistent/q.json", 1, 0);
    QVERIFY(!missing.ok());
    QVERIFY(missing.error().message.find("/nonexistent/q.json") != std::string::npos);
  }
};

QTEST_GUILESS_MAIN(TestMetrics)
#include "test_metrics.moc"
