// Workloads: the same seed gives the same trace; Poisson gaps have the asked mean; bursty arrivals
// fall only in on-phases; length distributions stay in range; trace files parse and their errors
// name the file and line; a saved trace loads back as the same requests; closed loops have none.
#include <QtTest>

#include <fstream>

#include "engine/serve/workload.h"

using namespace precis;

class TestWorkload : public QObject {
  Q_OBJECT
 private slots:
  void sameSeedSameTrace() {
    WorkloadSpec s;
    s.requests = 200;
    s.rate = 5;
    s.prompt_len = *LengthDist::parse("4:32", "prompt");
    s.output_len = *LengthDist::parse("data:3,50,200", "output");
    s.seed = 42;
    Result<Workload> a = makeWorkload(s), b = makeWorkload(s);
    QVERIFY(a.ok() && b.ok());
    for (size_t i = 0; i < 200; ++i) {
      QCOMPARE(a->requests[i].arrival, b->requests[i].arrival);
      QCOMPARE(a->requests[i].prompt, b->requests[i].prompt);
      QCOMPARE(a->requests[i].output_len, b->requests[i].output_len);
      const int p = int(a->requests[i].prompt.size()), o = a->requests[i].output_len;
      QVERIFY2(p >= 4 && p <= 32, "seed 42");
      QVERIFY2(o == 3 || o == 50 || o == 200, "seed 42");
      QCOMPARE(a->requests[i].prompt[0], 1);
    }
    s.seed = 43;
    Result<Workload> c = makeWorkload(s);
    QVERIFY(c->requests[0].arrival != a->requests[0].arrival);
  }

  void poissonMeanGap() {
    WorkloadSpec s;
    s.requests = 4000;
    s.rate = 8;
    s.seed = 7;
    Result<Workload> w = makeWorkload(s);
    QVERIFY(w.ok());
    const double mean_gap = w->requests.back().arrival / 4000.0;
    // Mean of 4000 exponential gaps: relative standard error 1/sqrt(4000) = 1.6%; allow 5%.
    QVERIFY2(std::fabs(mean_gap * 8 - 1) < 0.05, "seed 7");
  }

  void burstyArrivesOnlyInOnPhases() {
    WorkloadSpec s;
    s.requests = 500;
    s.arrival = ArrivalKind::Bursty;
    s.rate = 20;
    s.burst_on = 1.0;
    s.burst_off = 3.0;
    s.seed = 3;
    Result<Workload> w = makeWorkload(s);
    QVERIFY(w.ok());
    for (const Request& r : w->requests) QVERIFY2(std::fmod(r.arrival, 4.0) < 1.0, "seed 3");
  }

  void lengthParsingErrors() {
    QVERIFY(!LengthDist::parse("0", "--output-len").ok());
    QVERIFY(!LengthDist::parse("9:3", "--output-len").ok());
    Result<LengthDist> bad = LengthDist::parse("x", "--output-len");
    QVERIFY(!bad.ok());
    QVERIFY(bad.error().message.find("--output-len") != std::string::npos);
    QCOMPARE(LengthDist::parse("12", "p")->lo, 12);
  }

  void traceFile() {
    const std::string path = (QDir::tempPath() + "/precis_test_trace.txt").toStdString();
    {
      std::ofstream f(path);
      f << "# arrival prompt output\n0.0 4 10\n0.5, 8, 3, 0.2, 0.05\n\n1.25 2 1\n";
    }
    WorkloadSpec s;
    s.seed = 1;
    Result<Workload> w = loadTrace(path, s);
    QVERIFY2(w.ok(), w.ok() ? "" : w.error().message.c_str());
    QCOMPARE(int(w->requests.size()), 3);
    QCOMPARE(w->requests[1].arrival, 0.5);
    QCOMPARE(int(w->requests[1].prompt.size()), 8);
    QCOMPARE(w->requests[1].output_len, 3);
    QCOMPARE(w->requests[1].tpot_target, 0.05);
    {
      std::ofstream f(path);
      f << "0.0 4 10\n0.5 4\n";
    }
    Result<Workload> bad = loadTrace(path, s);
    QVERIFY(!bad.ok());
    QVERIFY2(bad.error().message.find(path + ":2:") != std::string::npos, bad.error().message.c_str());
  }

  void savedTraceLoadsBackIdentically() {
    WorkloadSpec s;
    s.requests = 40;
    s.arrival = ArrivalKind::Bursty;
    s.rate = 7.3;
    s.burst_on = 0.7;
    s.prompt_len = *LengthDist::parse("3:40", "p");
    s.output_len = *LengthDist::parse("data:1,5,17", "o");
    s.ttft_target = 0.125;
    s.tpot_target = 0.0333;
    s.seed = 11;
    Result<Workload> w = makeWorkload(s);
    QVERIFY(w.ok());
    const std::string path = (QDir::tempPath() + "/precis_test_saved_trace.txt").toStdString();
    Status saved = saveTrace(*w, path);
    QVERIFY2(saved.ok(), saved.ok() ? "" : saved.error().message.c_str());
    Result<Workload> back = loadTrace(path, s);
    QVERIFY2(back.ok(), back.ok() ? "" : back.error().message.c_str());
    QCOMPARE(back->requests.size(), w->requests.size());
    for (size_t i = 0; i < w->requests.size(); ++i) {
      const Request &a = w->requests[i], &b = back->requests[i];
      QCOMPARE(b.id, a.id);
      QCOMPARE(b.arrival, a.arrival);  // exact: 17 significant digits
      QCOMPARE(b.prompt, a.prompt);
      QCOMPARE(b.output_len, a.output_len);
      QCOMPARE(b.ttft_target, a.ttft_target);
      QCOMPARE(b.tpot_target, a.tpot_target);
    }
    s.arrival = ArrivalKind::ClosedLoop;
    Result<Workload> closed = makeWorkload(s);
    QVERIFY(closed.ok());
    Status refused = saveTrace(*closed, path);
    QVERIFY(!refused.ok());
    QVERIFY2(refused.error().message.find("closed-loop") != std::string::npos, refused.error().message.c_str());
    QVERIFY(!saveTrace(*w, "/nonexistent-dir/t.txt").ok());
  }
};

QTEST_GUILESS_MAIN(TestWorkload)
#include "test_workload.moc"
