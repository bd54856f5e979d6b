// The Serve panel's weights scheme and plan file (see serve_plan.h).
#include "ui/serve_plan.h"

#include <QStringList>
#include <map>

#include "engine/quant/quant_plan.h"

namespace precis::ui {

namespace {
QString q(const std::string& s) {
  return QString::fromStdString(s);
}
}  // namespace

Result<QuantScheme> serveScheme(const ServeRequest& r) {
  Result<WeightFormat> f = parseWeightFormat(r.weights.toStdString());
  if (!f) return makeError("weights: " + f.error().message);
  Result<WeightSpec> spec = parseGranularity(r.granularity.toStdString(), *f);
  if (!spec) return makeError("granularity: " + spec.error().message);
  QuantScheme sc;
  sc.weights = *spec;
  if (r.plan_file.isEmpty()) return sc;
  Result<QuantPlan> plan = loadQuantPlan(r.plan_file.toStdString());
  if (!plan) return makeError("plan: " + plan.error().message);
  if (Status st = applyQuantPlan(*plan, ExplicitFlags{}, sc); !st)
    return makeError("plan: " + r.plan_file.toStdString() + ": " + st.error().message);
  return sc;
}

Result<QString> describePlan(const QString& path) {
  Result<QuantPlan> plan = loadQuantPlan(path.toStdString());
  if (!plan) return plan.error();
  QStringList lines;
  if (plan->weights)
    lines << QString("base: %1 (replaces Weights and Granularity)")
                 .arg(q(weightSpecName(*plan->weights)));
  for (const OverrideRule& o : plan->overrides)
    lines << QString("%1 → %2").arg(q(o.pattern),
                                    o.keep ? QString("keep") : q(weightSpecName(o.spec)));
  if (plan->overrides.empty()) lines << QString("no per-tensor rules");
  return lines.join("\n");
}

QString servedWeightsSummary(const ModelQuantReport& report) {
  std::map<std::string, int> quantized, kept;
  for (const TensorQuantReport& t : report.tensors) (t.quantized ? quantized : kept)[t.to]++;
  QStringList parts;
  for (const auto& [spec, n] : quantized) parts << QString("%1: %2 tensors").arg(q(spec)).arg(n);
  for (const auto& [spec, n] : kept) parts << QString("%1 kept: %2").arg(q(spec)).arg(n);
  return parts.join(", ") + QString("; %1 bits/weight, %2 bytes")
                                .arg(report.bits_per_weight, 0, 'f', 3)
                                .arg(qulonglong(report.bytes));
}

}  // namespace precis::ui
