// `precis-cli approve ID --policy POLICY.json`: checks a run against written thresholds
// (engine/log/policy.h), records the decision, thresholds and measured values in the experiment
// log, and exits 1 with every reason when the run is refused. Tested by tests/log/test_log_cli.cpp and
// tests/cli/test_cli_runs.cpp (every decision recorded, refusals too).
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "app/cli/cli_common.h"
#include "app/cli/log_commands.h"
#include "app/cli/run_logging.h"
#include "engine/log/policy.h"

namespace precis::cli {

const CommandSpec& approveSpec() {
  static const CommandSpec spec{
      "approve",
      "ID --policy POLICY.json [--db PATH] [--json]",
      "Approve or refuse a run against a written policy; the decision is recorded.",
      "The policy is a JSON object of thresholds (unknown keys are errors):\n"
      "  kl_mean_max, kl_p99_max   at most (nats)      top1_min        at least (fraction)\n"
      "  ppl_ratio_max             at most             ttft_p99_max    at most (seconds)\n"
      "  speedup_min + baseline_run: speed_metric (default tokens_per_second) of the run over\n"
      "  that of the baseline run, at least.\n"
      "A threshold whose metric the run did not record fails, and only FINISHED runs pass.\n"
      "Exit 0 when approved; 1 when refused (each reason on stderr) or on an error.",
      {{"--policy", "FILE", "the policy (JSON)"}, dbOption(), {"--json", "", "print the decision as JSON"}},
      1,
      1};
  return spec;
}

int runApprove(const ParsedArgs& args) {
  const CommandSpec& spec = approveSpec();
  std::string err;
  std::optional<long long> id = parseInteger("run id", args.positional[0], 1, INT64_MAX, err);
  if (!id) return usageError(spec, err);
  if (!args.has("--policy")) return usageError(spec, "--policy FILE is required");
  Result<Policy> policy = loadPolicy(args.get("--policy"));
  if (!policy) return runtimeError(spec, policy.error().message);
  Result<std::unique_ptr<RunStore>> store = openRunStore(args);
  if (!store) return runtimeError(spec, store.error().message);
  Result<RunDetail> run = (*store)->getRun(*id);
  if (!run) return runtimeError(spec, run.error().message);
  std::optional<RunDetail> baseline;
  if (policy->baseline_run) {
    Result<RunDetail> b = (*store)->getRun(policy->baseline_run);
    if (b) baseline = std::move(*b);
  }
  const PolicyDecision d = evaluatePolicy(*policy, *run, baseline ? &*baseline : nullptr);
  if (Status s = (*store)->addApproval(*id, d.approved, policy->source, d.checksJson()); !s)
    return runtimeError(spec, s.error().message);
  if (args.has("--json")) {
    std::cout << nlohmann::json{{"run", *id}, {"approved", d.approved}, {"checks", d.checksJson()}}.dump(2) << "\n";
  } else {
    for (const PolicyCheck& c : d.checks)
      std::printf("  %-4s %-14s threshold %-10g measured %s\n", c.passed ? "ok" : "FAIL", c.name.c_str(), c.threshold,
                  c.measured ? std::to_string(*c.measured).c_str() : "-");
    std::printf("run %lld %s (recorded in %s)\n", *id, d.approved ? "APPROVED" : "REFUSED", (*store)->path().c_str());
  }
  if (!d.approved) {
    for (const PolicyCheck& c : d.checks)
      if (!c.passed) std::cerr << "precis-cli approve: run " << *id << " refused: " << c.reason << "\n";
    return kExitRuntime;
  }
  return kExitOk;
}

}  // namespace precis::cli
