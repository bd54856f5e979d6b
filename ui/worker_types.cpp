// Formatting of evaluation records for the results table and the run details (see worker_types.h).
#include "ui/worker_types.h"

#include <QMap>

namespace precis::ui {

QString humanBytes(quint64 bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) v /= 1024, ++u;
  return u == 0 ? QString("%1 B").arg(bytes) : QString("%1 %2").arg(v, 0, 'f', 2).arg(units[u]);
}

QStringList evalColumnNames() {
  return {"run", "weights", "bits/weight", "bytes", "PPL test", "PPL ref", "KL mean", "KL median",
          "KL p99", "KL p99.9", "KL max", "top-1 agree", "Δp mean", "Δp RMS", "tokens", "sweep"};
}

QStringList evalCells(const EvalRecord& r) {
  const KlStatistics& s = r.stats;
  auto g = [](double v) { return QString::number(v, 'g', 6); };
  return {QString::number(r.id),
          (r.scheme.isEmpty() ? r.format : r.scheme) + (r.quantize_embeddings ? " +emb" : ""),
          QString::number(r.bits_per_weight, 'f', 3),
          humanBytes(r.bytes),
          QString("%1 ± %2").arg(s.perplexity, 0, 'f', 4).arg(s.perplexity_uncertainty, 0, 'f', 4),
          QString("%1 ± %2").arg(s.reference_perplexity, 0, 'f', 4).arg(s.reference_perplexity_uncertainty, 0, 'f', 4),
          g(s.kl.mean),
          g(s.kl_median),
          g(s.kl_p99),
          g(s.kl_p999),
          g(s.kl_max),
          QString("%1 %").arg(100 * s.same_top, 0, 'f', 2),
          QString("%1 %").arg(100 * s.delta_p.mean, 0, 'f', 3),
          QString("%1 %").arg(100 * s.delta_p_rms, 0, 'f', 3),
          QString::number(r.tokens_scored),
          r.sweep};
}

QString evalDetails(const EvalRecord& r) {
  const KlStatistics& s = r.stats;
  QString t;
  t += QString("Run %1: weights %2%3, %4 bits/weight, %5%6\n")
           .arg(r.id).arg(r.scheme.isEmpty() ? r.format : r.scheme, r.quantize_embeddings ? " (embeddings too)" : "")
           .arg(r.bits_per_weight, 0, 'f', 3).arg(humanBytes(r.bytes))
           .arg(r.log_run ? QString("; experiment log run %1").arg(r.log_run) : QString());
  t += QString("Input: %1; windows of %2 tokens: %3 windows, %4 tokens scored; %5 s on %6\n")
           .arg(r.input).arg(r.ctx).arg(r.windows).arg(r.tokens_scored).arg(r.seconds, 0, 'f', 2).arg(r.backend);
  if (r.tokens_per_s > 0)
    t += QString("Speed of the quantized model: %1 tokens/s (its forwards over the windows, measured)\n")
             .arg(r.tokens_per_s, 0, 'f', 0);
  t += QString("KL (nats): mean %1 ± %2, median %3, p99 %4, p99.9 %5, max %6\n")
           .arg(s.kl.mean, 0, 'g', 6).arg(s.kl.uncertainty, 0, 'g', 3).arg(s.kl_median, 0, 'g', 6)
           .arg(s.kl_p99, 0, 'g', 6).arg(s.kl_p999, 0, 'g', 6).arg(s.kl_max, 0, 'g', 6);
  t += QString("Top-1 agreement %1 % ± %2 %; Δp mean %3 %, RMS %4 %\n")
           .arg(100 * s.same_top, 0, 'f', 2).arg(100 * s.same_top_uncertainty, 0, 'f', 2)
           .arg(100 * s.delta_p.mean, 0, 'f', 3).arg(100 * s.delta_p_rms, 0, 'f', 3);
  if (!r.kept.isEmpty()) {
    // Grouped by reason: "1-D tensor kept in f32 (norms are not converted): 11 tensors".
    QMap<QString, QStringList> by_reason;
    for (const QString& k : r.kept) {
      const int colon = k.indexOf(": ");
      by_reason[colon < 0 ? k : k.mid(colon + 2)] << (colon < 0 ? k : k.left(colon));
    }
    t += QString("Kept at higher precision (%1 tensors):\n").arg(r.kept.size());
    for (auto it = by_reason.begin(); it != by_reason.end(); ++it) {
      const QStringList& names = it.value();
      t += "  " + (names.size() == 1 ? names.first() : QString("%1 tensors (%2, …)").arg(names.size()).arg(names.first())) +
           ": " + it.key() + "\n";
    }
  }
  if (!r.kernels.isEmpty()) t += "Kernels:\n  " + r.kernels.join("\n  ");
  if (s.count < 100) t += QString("\nNote: only %1 tokens scored; llama.cpp reports no statistics below 100.").arg(s.count);
  return t;
}

}  // namespace precis::ui
