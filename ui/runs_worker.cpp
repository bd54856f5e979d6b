// RunsWorker (see runs_worker.h).
#include "ui/runs_worker.h"

#include <QDateTime>
#include <QFileInfo>
#include <cstdlib>

#include "engine/log/artifact_export.h"
#include "engine/log/run_store.h"

namespace precis::ui {

namespace {
QString q(const std::string& s) { return QString::fromStdString(s); }
}

RunsWorker::RunsWorker() = default;
RunsWorker::~RunsWorker() = default;

void RunsWorker::open(const QString& path) {
  store_.reset();
  Result<std::string> p = resolveDbPath(path.toStdString(), [](const char* k) { return std::getenv(k); }, false);
  if (!p) {
    emit failed(q(p.error().message));
    return;
  }
  path_ = q(*p);
  emit opened(path_);
  refresh();
}

void RunsWorker::refresh() {
  if (path_.isEmpty()) return;
  if (!store_) {
    if (!QFileInfo::exists(path_)) {
      emit runsListed({});
      emit failed(path_ + ": no experiment log here yet (runs appear once precis-cli logs one with --db or PRECIS_DB)");
      return;
    }
    Result<std::unique_ptr<RunStore>> s = RunStore::open(path_.toStdString());
    if (!s) {
      emit failed(q(s.error().message));
      return;
    }
    store_ = std::move(*s);
  }
  Result<std::vector<RunInfo>> runs = store_->listRuns();
  if (!runs) {
    emit failed(q(runs.error().message));
    return;
  }
  QVector<RunRow> rows;
  for (const RunInfo& r : *runs) {
    RunRow row;
    row.id = r.id;
    row.experiment = q(r.experiment);
    row.kind = q(r.kind);
    row.name = q(r.name);
    row.status = runStatusName(r.status);
    row.started = QDateTime::fromMSecsSinceEpoch(r.start_ms).toString("yyyy-MM-dd HH:mm:ss");
    row.seconds = r.end_ms ? (r.end_ms - r.start_ms) / 1000.0 : -1;
    if (Result<RunDetail> d = store_->getRun(r.id); d) {
      QStringList m;
      for (const auto& [k, v] : d->latestMetrics()) {
        if (m.size() >= 4) break;
        m << q(k) + "=" + QString::number(v, 'g', 5);
      }
      row.metrics = m.join("  ");
    }
    rows.push_back(row);
  }
  emit runsListed(rows);
}

void RunsWorker::detail(qint64 id) {
  if (!store_) return;
  Result<RunDetail> d = store_->getRun(id);
  if (!d) {
    emit failed(q(d.error().message));
    return;
  }
  RunView v;
  v.id = id;
  QString t = QString("Run %1: %2 (%3), %4\n").arg(id).arg(q(d->info.name), q(d->info.kind), runStatusName(d->info.status));
  auto section = [&t](const char* title, const std::map<std::string, std::string>& kv) {
    if (kv.empty()) return;
    t += QString(title) + ":\n";
    for (const auto& [k, val] : kv) t += "  " + q(k) + " = " + q(val) + "\n";
  };
  section("Parameters", d->params);
  section("Tags", d->tags);
  const std::map<std::string, double> latest = d->latestMetrics();
  if (!latest.empty()) {
    t += "Metrics (latest):\n";
    for (const auto& [k, val] : latest) t += "  " + q(k) + " = " + QString::number(val, 'g', 8) + "\n";
  }
  for (const ArtifactRecord& a : d->artifacts) t += "Artifact: " + q(a.path) + " (" + q(a.kind) + ")\n";
  for (const ApprovalRecord& a : d->approvals) t += QString("Approval: %1\n").arg(a.approved ? "approved" : "rejected");
  v.text = t;
  std::map<std::string, QVector<QPointF>> hist;
  for (const MetricPoint& p : d->metrics) hist[p.key].push_back(QPointF(double(p.step), p.value));
  for (auto& [k, pts] : hist)
    if (pts.size() > 1 && v.metric_keys.size() < 6) v.metric_keys.push_back(q(k)), v.metric_history.push_back(pts);
  emit detailReady(v);
}

void RunsWorker::compare(const QVector<qint64>& ids) {
  if (!store_) return;
  Result<RunCompare> c = compareRuns(*store_, std::vector<int64_t>(ids.begin(), ids.end()));
  if (!c) {
    emit failed(q(c.error().message));
    return;
  }
  emit comparisonReady(*c);
}

void RunsWorker::approve(qint64 id, const QString& policy_json) {
  if (!store_) return;
  nlohmann::json j = nlohmann::json::parse(policy_json.toStdString(), nullptr, false);
  if (j.is_discarded()) {
    emit failed("policy: not valid JSON");
    return;
  }
  Result<PolicyDecision> d = approveRun(*store_, id, j, "the policy edited in the Runs panel");
  if (!d) {
    emit failed(q(d.error().message));
    return;
  }
  QStringList lines;
  for (const PolicyCheck& c : d->checks)
    lines << QString("%1 %2 %3: measured %4%5")
                 .arg(c.passed ? "ok  " : "FAIL", q(c.name)).arg(c.threshold, 0, 'g', 6)
                 .arg(c.measured ? QString::number(*c.measured, 'g', 6) : QString("-"))
                 .arg(c.passed ? QString() : " (" + q(c.reason) + ")");
  emit approvalDone(id, d->approved, lines.join("\n"));
  refresh();
  detail(id);
}

void RunsWorker::exportConfig(qint64 id, const QString& dir) {
  if (!store_) return;
  Result<std::pair<std::string, std::string>> r = exportRunConfig(*store_, id, dir.toStdString());
  if (!r) {
    emit failed(q(r.error().message));
    return;
  }
  emit exported(id, q(r->first), q(r->second));
  detail(id);
}

void RunsWorker::exportWeights(qint64 id, const QString& path) {
  if (!store_) return;
  Result<ArtifactDraft> draft = draftArtifactConfig(*store_, id, nullptr);
  if (!draft) {
    emit failed(q(draft.error().message));
    return;
  }
  cancel_export_.store(false);
  const TensorProgress progress = [this](int done, int total) {
    emit exportProgress(done, total);
    if (tensor_hook_) tensor_hook_(done);
    return !cancel_export_.load();
  };
  Result<WrittenFile> w = writeRunWeights(*store_, *draft, path.toStdString(), progress);
  if (!w) {
    emit failed(q(w.error().message));
    return;
  }
  emit weightsExported(id, q(w->path), q(w->sha256));
  detail(id);
}

void RunsWorker::remove(qint64 id) {
  if (!store_) return;
  if (Status s = store_->deleteRun(id); !s) emit failed(q(s.error().message));
  refresh();
}

}  // namespace precis::ui
