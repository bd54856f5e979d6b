// `precis-cli runs list|show|compare|delete|merge`: browse, compare, delete and merge the runs of
// the experiment log (engine/log/run_store.h). Tested by tests/log/test_log_cli.cpp and
// tests/cli/test_cli_runs.cpp (exact compare, merge and delete results).
#include <cstdio>
#include <ctime>
#include <iostream>
#include <set>

#include <nlohmann/json.hpp>

#include "app/cli/cli_common.h"
#include "app/cli/log_commands.h"
#include "app/cli/run_logging.h"

namespace precis::cli {

const CommandSpec& runsSpec() {
  static const CommandSpec spec{
      "runs",
      "(list | show ID | compare ID ID... | delete ID | merge A.sqlite B.sqlite... --into X.sqlite) [options]",
      "List, show, compare, delete and merge the runs of the experiment log.",
      "list               one line per run: id, kind, status, start time, parent, key metrics\n"
      "                   (--kind K keeps one kind: eval, sweep, sweep-row, sensitivity, serve-sim, distill;\n"
      "                   --parent ID keeps the child runs of one run, e.g. the rows of a sweep)\n"
      "show ID            the run's params, tags, envelope, documents, latest metrics (with the\n"
      "                   number of steps logged), artifacts and approvals\n"
      "compare ID ID...   the params that differ, then a table of every metric's latest value\n"
      "delete ID          removes the run and everything recorded for it (its child runs stay)\n"
      "merge A B... --into X   copies every run of A, B, ... into X (created if absent): run ids\n"
      "                   are renumbered, parent links follow, and each copied run gets the tag\n"
      "                   precis.merged_from = FILE#OLD_ID. Use it to join the shards of a sweep.\n"
      "\n"
      "The log: --db PATH, else $PRECIS_DB, else $XDG_DATA_HOME/precis/experiments.sqlite\n"
      "(~/.local/share/precis/experiments.sqlite).",
      {dbOption(),
       {"--kind", "K", "list: only runs of this kind"},
       {"--parent", "ID", "list: only the child runs of this run (a sweep's rows)"},
       {"--into", "FILE", "merge: the log to merge into"},
       {"--json", "", "print JSON instead of text"}},
      1,
      1 << 20};
  return spec;
}

namespace {

std::string timeString(int64_t ms) {
  if (!ms) return "-";
  const std::time_t t = ms / 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%SZ", &tm);
  return buf;
}

nlohmann::ordered_json runJson(const RunInfo& r) {
  return {{"id", r.id},         {"experiment", r.experiment}, {"kind", r.kind},       {"name", r.name},
          {"status", runStatusName(r.status)}, {"start_ms", r.start_ms}, {"end_ms", r.end_ms},
          {"parent", r.parent}, {"host", r.host},             {"pid", r.pid}};
}

nlohmann::ordered_json detailJson(const RunDetail& d) {
  nlohmann::ordered_json j = runJson(d.info);
  j["params"] = d.params;
  j["tags"] = d.tags;
  j["metrics"] = d.latestMetrics();
  nlohmann::ordered_json history = nlohmann::ordered_json::array();
  for (const MetricPoint& m : d.metrics)
    history.push_back({{"key", m.key}, {"value", m.value}, {"step", m.step}, {"timestamp_ms", m.timestamp_ms}});
  j["metric_history"] = history;
  j["envelope"] = d.envelope;
  j["documents"] = d.documents;
  nlohmann::ordered_json arts = nlohmann::ordered_json::array();
  for (const ArtifactRecord& a : d.artifacts)
    arts.push_back({{"path", a.path}, {"kind", a.kind}, {"sha256", a.sha256}, {"bytes", a.bytes}});
  j["artifacts"] = arts;
  nlohmann::ordered_json appr = nlohmann::ordered_json::array();
  for (const ApprovalRecord& a : d.approvals)
    appr.push_back({{"id", a.id}, {"approved", a.approved}, {"time_ms", a.time_ms}, {"policy", a.policy},
                    {"checks", a.checks}});
  j["approvals"] = appr;
  return j;
}

std::optional<int64_t> parseId(const CommandSpec& spec, const std::string& text, std::string& err) {
  std::optional<long long> id = parseInteger("run id", text, 1, INT64_MAX, err);
  (void)spec;
  if (!id) return std::nullopt;
  return *id;
}

int list(const CommandSpec& spec, const ParsedArgs& args, RunStore& store) {
  std::string err;
  const std::optional<long long> parent = intOption(args, "--parent", 0, 1, INT64_MAX, err);
  if (!parent) return usageError(spec, err);
  Result<std::vector<RunInfo>> runs = store.listRuns(args.get("--kind"), *parent);
  if (!runs) return runtimeError(spec, runs.error().message);
  if (args.has("--json")) {
    nlohmann::ordered_json a = nlohmann::ordered_json::array();
    for (const RunInfo& r : *runs) a.push_back(runJson(r));
    std::cout << a.dump(2) << "\n";
    return kExitOk;
  }
  std::printf("%-6s %-12s %-12s %-21s %-7s %s\n", "ID", "KIND", "STATUS", "STARTED (UTC)", "PARENT", "NAME");
  for (const RunInfo& r : *runs)
    std::printf("%-6lld %-12s %-12s %-21s %-7s %s\n", static_cast<long long>(r.id), r.kind.c_str(),
                runStatusName(r.status), timeString(r.start_ms).c_str(),
                r.parent ? std::to_string(r.parent).c_str() : "-", r.name.c_str());
  std::printf("%zu runs in %s\n", runs->size(), store.path().c_str());
  return kExitOk;
}

int show(const CommandSpec& spec, const ParsedArgs& args, RunStore& store, int64_t id) {
  Result<RunDetail> d = store.getRun(id);
  if (!d) return runtimeError(spec, d.error().message);
  if (args.has("--json")) {
    std::cout << detailJson(*d).dump(2) << "\n";
    return kExitOk;
  }
  const RunInfo& r = d->info;
  std::printf("Run %lld (%s) in %s\n", static_cast<long long>(r.id), r.kind.c_str(), store.path().c_str());
  std::printf("  experiment %s, status %s, started %s, ended %s, host %s pid %lld\n", r.experiment.c_str(),
              runStatusName(r.status), timeString(r.start_ms).c_str(), timeString(r.end_ms).c_str(), r.host.c_str(),
              static_cast<long long>(r.pid));
  if (r.parent) std::printf("  parent run %lld\n", static_cast<long long>(r.parent));
  std::printf("Params:\n");
  for (const auto& [k, v] : d->params) std::printf("  %-24s %s\n", k.c_str(), v.c_str());
  std::printf("Metrics (latest value, steps logged):\n");
  std::map<std::string, size_t> steps;
  for (const MetricPoint& m : d->metrics) ++steps[m.key];
  for (const auto& [k, v] : d->latestMetrics()) std::printf("  %-24s %.9g (%zu)\n", k.c_str(), v, steps[k]);
  if (!d->tags.empty()) std::printf("Tags:\n");
  for (const auto& [k, v] : d->tags) std::printf("  %-24s %s\n", k.c_str(), v.c_str());
  for (const ArtifactRecord& a : d->artifacts)
    std::printf("Artifact: %s (%s, %s, sha256 %s)\n", a.path.c_str(), a.kind.c_str(),
                humanBytes(static_cast<uint64_t>(a.bytes)).c_str(), a.sha256.c_str());
  for (const ApprovalRecord& a : d->approvals)
    std::printf("Approval %lld: %s at %s\n", static_cast<long long>(a.id), a.approved ? "APPROVED" : "REFUSED",
                timeString(a.time_ms).c_str());
  std::printf("Envelope:\n%s\n", d->envelope.is_null() ? "  (none)" : d->envelope.dump(2).c_str());
  return kExitOk;
}

int compare(const CommandSpec& spec, const ParsedArgs& args, RunStore& store, const std::vector<int64_t>& ids) {
  std::vector<RunDetail> runs;
  for (int64_t id : ids) {
    Result<RunDetail> d = store.getRun(id);
    if (!d) return runtimeError(spec, d.error().message);
    runs.push_back(std::move(*d));
  }
  std::set<std::string> param_keys, metric_keys;
  std::vector<std::map<std::string, double>> latest;
  for (const RunDetail& d : runs) {
    for (const auto& [k, v] : d.params) param_keys.insert(k);
    latest.push_back(d.latestMetrics());
    for (const auto& [k, v] : latest.back()) metric_keys.insert(k);
  }
  nlohmann::ordered_json differing = nlohmann::ordered_json::object();
  for (const std::string& k : param_keys) {
    nlohmann::ordered_json values = nlohmann::ordered_json::array();
    std::set<std::string> distinct;
    for (const RunDetail& d : runs) {
      auto it = d.params.find(k);
      values.push_back(it == d.params.end() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(it->second));
      distinct.insert(it == d.params.end() ? std::string("\x01(unset)") : it->second);
    }
    if (distinct.size() > 1) differing[k] = values;
  }
  if (args.has("--json")) {
    nlohmann::ordered_json j;
    j["runs"] = ids;
    j["params_differing"] = differing;
    nlohmann::ordered_json metrics = nlohmann::ordered_json::object();
    for (const std::string& k : metric_keys) {
      nlohmann::ordered_json values = nlohmann::ordered_json::array();
      for (const auto& m : latest) values.push_back(m.count(k) ? nlohmann::ordered_json(m.at(k)) : nullptr);
      metrics[k] = values;
    }
    j["metrics"] = metrics;
    std::cout << j.dump(2) << "\n";
    return kExitOk;
  }
  std::printf("%-26s", "");
  for (int64_t id : ids) std::printf(" %16s", ("run " + std::to_string(id)).c_str());
  std::printf("\nParams that differ:\n");
  if (differing.empty()) std::printf("  (none)\n");
  for (const auto& [k, values] : differing.items()) {
    std::printf("  %-24s", k.c_str());
    for (const auto& v : values) std::printf(" %16s", v.is_null() ? "-" : v.get<std::string>().c_str());
    std::printf("\n");
  }
  std::printf("Metrics (latest value):\n");
  for (const std::string& k : metric_keys) {
    std::printf("  %-24s", k.c_str());
    for (const auto& m : latest) {
      if (m.count(k)) std::printf(" %16.8g", m.at(k));
      else std::printf(" %16s", "-");
    }
    std::printf("\n");
  }
  return kExitOk;
}

}  // namespace

int runRuns(const ParsedArgs& args) {
  const CommandSpec& spec = runsSpec();
  const std::string sub = args.positional[0];
  const std::vector<std::string> rest(args.positional.begin() + 1, args.positional.end());
  std::string err;
  std::vector<int64_t> ids;
  if (sub == "show" || sub == "delete" || sub == "compare") {
    for (const std::string& t : rest) {
      std::optional<int64_t> id = parseId(spec, t, err);
      if (!id) return usageError(spec, err);
      ids.push_back(*id);
    }
    if ((sub != "compare" && ids.size() != 1) || (sub == "compare" && ids.size() < 2))
      return usageError(spec, sub == "compare" ? "compare needs two or more run ids" : sub + " needs one run id");
  } else if (sub == "merge") {
    if (rest.empty() || !args.has("--into")) return usageError(spec, "merge needs source files and --into FILE");
  } else if (sub == "list") {
    if (!rest.empty()) return usageError(spec, "list takes no arguments");
  } else {
    return usageError(spec, "'" + sub + "' is not one of list, show, compare, delete, merge");
  }

  if (sub == "merge") {
    ParsedArgs into = args;
    into.values["--db"] = args.get("--into");
    Result<std::unique_ptr<RunStore>> store = openRunStore(into);
    if (!store) return runtimeError(spec, store.error().message);
    size_t total = 0;
    for (const std::string& src : rest) {
      if (src == (*store)->path()) return runtimeError(spec, src + ": cannot merge a log into itself");
      Result<MergeReport> r = (*store)->mergeFrom(src);
      if (!r) return runtimeError(spec, r.error().message);
      std::printf("%s: %zu runs merged\n", src.c_str(), r->runs);
      total += r->runs;
    }
    std::printf("%zu runs merged into %s\n", total, (*store)->path().c_str());
    return kExitOk;
  }
  Result<std::unique_ptr<RunStore>> store = openRunStore(args, /*read_only=*/false);
  if (!store) return runtimeError(spec, store.error().message);
  if (sub == "list") return list(spec, args, **store);
  if (sub == "show") return show(spec, args, **store, ids[0]);
  if (sub == "compare") return compare(spec, args, **store, ids);
  if (Status s = (*store)->deleteRun(ids[0]); !s) return runtimeError(spec, s.error().message);
  std::printf("deleted run %lld from %s\n", static_cast<long long>(ids[0]), (*store)->path().c_str());
  return kExitOk;
}

}  // namespace precis::cli
