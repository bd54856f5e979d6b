// Tests engine/log/policy (thresholds pass and fail with reasons, a missing metric fails, unknown
// keys are errors, speed-up over a baseline run) and engine/log/shard (--shard I/N, Slurm array and
// Kubernetes Indexed Job variables, round-robin slices that cover a grid exactly once).
#include <QtTest>

#include <map>

#include "engine/log/policy.h"
#include "engine/log/shard.h"

using namespace precis;

namespace {

RunDetail runWith(int64_t id, std::map<std::string, double> metrics) {
  RunDetail d;
  d.info.id = id;
  d.info.status = RunStatus::Finished;
  for (const auto& [k, v] : metrics) d.metrics.push_back({k, v, 0, 1});
  return d;
}

}  // namespace

class TestPolicyShard : public QObject {
  Q_OBJECT
 private slots:
  void policyPassesAndFails() {
    Result<Policy> p = parsePolicy({{"kl_mean_max", 0.05}, {"kl_p99_max", 0.5}, {"top1_min", 0.85},
                                    {"ppl_ratio_max", 1.05}},
                                   "p.json");
    QVERIFY(p.ok());
    RunDetail good = runWith(3, {{"kl_mean", 0.02}, {"kl_p99", 0.2}, {"top1_agreement", 0.9}, {"ppl_ratio", 1.01}});
    PolicyDecision d = evaluatePolicy(*p, good, nullptr);
    QVERIFY(d.approved);
    QCOMPARE(d.checks.size(), size_t(4));
    RunDetail bad = runWith(4, {{"kl_mean", 0.2}, {"kl_p99", 0.2}, {"top1_agreement", 0.5}});
    d = evaluatePolicy(*p, bad, nullptr);
    QVERIFY(!d.approved);
    int failed = 0;
    for (const PolicyCheck& c : d.checks)
      if (!c.passed) {
        ++failed;
        QVERIFY(!c.reason.empty());
      }
    QCOMPARE(failed, 3);  // kl_mean, top1, and ppl_ratio not recorded
    QVERIFY(d.checksJson().dump().find("recorded no metric 'ppl_ratio'") != std::string::npos);
    good.info.status = RunStatus::Interrupted;  // good numbers from an unfinished run are refused
    QVERIFY(!evaluatePolicy(*p, good, nullptr).approved);
  }

  void policyErrors() {
    Result<Policy> typo = parsePolicy({{"kl_mean_maxx", 0.05}}, "p.json");
    QVERIFY(!typo.ok());
    QVERIFY(typo.error().message.find("kl_mean_maxx") != std::string::npos);
    QVERIFY(typo.error().message.find("p.json") != std::string::npos);
    QVERIFY(!parsePolicy({{"speedup_min", 1.5}}, "p.json").ok());  // needs baseline_run
    QVERIFY(!parsePolicy({{"kl_mean_max", "small"}}, "p.json").ok());
    QVERIFY(!parsePolicy({{"name", "empty"}}, "p.json").ok());  // no threshold
    QVERIFY(!parsePolicy(nlohmann::json::array(), "p.json").ok());
  }

  void speedupOverBaseline() {
    Result<Policy> p = parsePolicy({{"speedup_min", 1.5}, {"baseline_run", 1}, {"ttft_p99_max", 0.2}}, "p.json");
    QVERIFY(p.ok());
    RunDetail base = runWith(1, {{"tokens_per_second", 100}});
    RunDetail fast = runWith(2, {{"tokens_per_second", 180}, {"ttft_p99", 0.1}});
    PolicyDecision d = evaluatePolicy(*p, fast, &base);
    QVERIFY(d.approved);
    QCOMPARE(*d.checks.back().measured, 1.8);
    RunDetail slow = runWith(3, {{"tokens_per_second", 120}, {"ttft_p99", 0.1}});
    QVERIFY(!evaluatePolicy(*p, slow, &base).approved);
    QVERIFY(!evaluatePolicy(*p, fast, nullptr).approved);  // baseline missing
  }

  void shardSources() {
    std::map<std::string, std::string> env;
    auto get = [&](const char* k) -> const char* {
      auto it = env.find(k);
      return it == env.end() ? nullptr : it->second.c_str();
    };
    Result<Shard> s = resolveShard("", 0, get);
    QVERIFY(s.ok() && s->index == 0 && s->count == 1);
    s = resolveShard("2/4", 0, get);
    QVERIFY(s.ok() && s->index == 2 && s->count == 4 && s->source == "--shard");
    QVERIFY(!resolveShard("4/4", 0, get).ok());
    QVERIFY(!resolveShard("1-4", 0, get).ok());
    QVERIFY(!resolveShard("0/0", 0, get).ok());
    env = {{"SLURM_ARRAY_TASK_ID", "3"}, {"SLURM_ARRAY_TASK_COUNT", "4"}, {"SLURM_ARRAY_TASK_MIN", "1"}};
    s = resolveShard("", 0, get);
    QVERIFY(s.ok() && s->index == 2 && s->count == 4 && s->source == "slurm");
    s = resolveShard("0/2", 0, get);  // the flag wins
    QVERIFY(s.ok() && s->index == 0 && s->count == 2);
    env = {{"JOB_COMPLETION_INDEX", "1"}};
    QVERIFY(!resolveShard("", 0, get).ok());  // no count
    s = resolveShard("", 3, get);
    QVERIFY(s.ok() && s->index == 1 && s->count == 3 && s->source == "kubernetes");
    env["PRECIS_SHARD_COUNT"] = "5";
    s = resolveShard("", 0, get);
    QVERIFY(s.ok() && s->count == 5);
  }

  void slicesCoverTheGridOnce() {
    for (int n : {1, 3, 7}) {
      std::vector<int> seen(23, 0);
      for (int i = 0; i < n; ++i)
        for (size_t item : shardItems(23, Shard{i, n, "--shard"})) ++seen[item];
      for (int c : seen) QCOMPARE(c, 1);
    }
    QCOMPARE(shardItems(10, Shard{1, 4, "--shard"}), (std::vector<size_t>{1, 5, 9}));
  }
};

QTEST_GUILESS_MAIN(TestPolicyShard)
#include "test_policy_shard.moc"
