// TokenView (see token_view.h).
#include "ui/token_view.h"

#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPainter>
#include <QSplitter>
#include <QTableWidget>
#include <QTextBrowser>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <numeric>

namespace precis::ui {

namespace {
// White (no divergence) -> yellow -> orange -> red, t in [0, 1]; text stays black and readable.
QColor heat(double t) {
  static const QColor stops[] = {QColor(255, 255, 255), QColor(255, 236, 140), QColor(253, 174, 97),
                                 QColor(244, 109, 67), QColor(215, 48, 39)};
  t = std::clamp(t, 0.0, 1.0) * 4;
  const int i = std::min(3, int(t));
  const double f = t - i;
  const QColor& a = stops[i];
  const QColor& b = stops[i + 1];
  return QColor(int(a.red() + f * (b.red() - a.red())),
                int(a.green() + f * (b.green() - a.green())),
                int(a.blue() + f * (b.blue() - a.blue())));
}

QString positionText(const ScoredToken& t, size_t sequences) {
  return sequences > 1 ? QString("%1:%2").arg(t.sequence + 1).arg(t.position)
                       : QString::number(t.position);
}
}  // namespace

TokenView::TokenView(QWidget* parent) : QWidget(parent) {
  text_ = new QTextBrowser();
  text_->setAccessibleName(tr("Evaluated text coloured by per-token KL"));
  text_->setPlaceholderText(tr("Evaluate to see the text coloured by each token's KL divergence."));
  legend_ = new QLabel();
  legend_text_ = new QLabel();
  summary_ = new QLabel();
  summary_->setWordWrap(true);
  worst_table_ = new QTableWidget(0, 6);
  worst_table_->setHorizontalHeaderLabels({tr("token"), tr("position"), tr("KL"),
                                           tr("reference top-1"), tr("quantized top-1"),
                                           tr("p(token): ref → quant")});
  worst_table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  worst_table_->setSelectionBehavior(QAbstractItemView::SelectRows);
  worst_table_->verticalHeader()->hide();
  worst_table_->setAccessibleName(tr("Worst tokens"));
  auto* legend_row = new QHBoxLayout();
  legend_row->addWidget(legend_);
  legend_row->addWidget(legend_text_, 1);
  auto* left = new QWidget();
  auto* ll = new QVBoxLayout(left);
  ll->setContentsMargins(0, 0, 0, 0);
  ll->addWidget(text_, 1);
  ll->addLayout(legend_row);
  ll->addWidget(summary_);
  auto* split = new QSplitter(Qt::Horizontal);
  split->addWidget(left);
  split->addWidget(worst_table_);
  split->setSizes({520, 560});
  auto* l = new QVBoxLayout(this);
  l->setContentsMargins(0, 0, 0, 0);
  l->addWidget(split);
  drawLegend();
}

QColor TokenView::colorFor(double kl) const {
  if (!(kl > lo_)) return heat(0);
  return heat((std::log10(kl) - std::log10(lo_)) /
              std::max(1e-12, std::log10(hi_) - std::log10(lo_)));
}

QString TokenView::legendText() const {
  return tr("KL per token (nats, log scale): ≤ %1 … %2").arg(lo_, 0, 'g', 3).arg(hi_, 0, 'g', 3);
}

void TokenView::drawLegend() {
  QPixmap pm(160, 14);
  QPainter p(&pm);
  for (int x = 0; x < pm.width(); ++x) {
    p.setPen(heat(double(x) / (pm.width() - 1)));
    p.drawLine(x, 0, x, pm.height());
  }
  p.setPen(Qt::gray);
  p.drawRect(0, 0, pm.width() - 1, pm.height() - 1);
  legend_->setPixmap(pm);
  legend_text_->setText(legendText());
}

void TokenView::clear() {
  kls_.clear();
  worst_.clear();
  text_->clear();
  summary_->clear();
  worst_table_->setRowCount(0);
}

void TokenView::setRecord(const EvalRecord& r) {
  clear();
  const std::vector<ScoredToken>& tokens = r.token_details;
  for (const ScoredToken& t : tokens) kls_.push_back(t.kl);
  // Scale: the largest KL down four decades (or the smallest positive KL, if higher).
  double hi = 0, lo_pos = 0;
  for (double v : kls_) {
    hi = std::max(hi, v);
    if (v > 0) lo_pos = lo_pos > 0 ? std::min(lo_pos, v) : v;
  }
  hi_ = hi > 0 ? hi : 1;
  lo_ = std::max(lo_pos > 0 ? lo_pos : hi_ * 1e-4, hi_ * 1e-4);
  if (lo_ >= hi_) lo_ = hi_ / 10;
  drawLegend();

  worst_.resize(kls_.size());
  std::iota(worst_.begin(), worst_.end(), 0);
  std::stable_sort(worst_.begin(), worst_.end(), [&](int a, int b) { return kls_[a] > kls_[b]; });
  worst_.resize(std::min<qsizetype>(worst_.size(), kWorst));
  auto piece = [&](int32_t id) { return r.pieces.value(id, QString("⟨%1⟩").arg(id)); };
  worst_table_->setRowCount(static_cast<int>(worst_.size()));
  for (int row = 0; row < worst_.size(); ++row) {
    const ScoredToken& t = tokens[size_t(worst_[row])];
    const QStringList cells = {piece(t.token),
                               positionText(t, r.sequences.size()),
                               QString::number(t.kl, 'g', 6),
                               piece(t.top_ref),
                               piece(t.top_test),
                               QString("%1 → %2").arg(t.p_ref, 0, 'g', 3).arg(t.p_test, 0, 'g', 3)};
    for (int c = 0; c < cells.size(); ++c) {
      auto* item = new QTableWidgetItem(cells[c]);
      if (c == 2) item->setData(Qt::UserRole, t.kl);
      worst_table_->setItem(row, c, item);
    }
  }
  worst_table_->resizeColumnsToContents();

  // The text: scored tokens carry their KL as a background colour and a tooltip.
  QHash<quint64, int> scored;  // (sequence << 32 | position) -> index in tokens
  for (size_t i = 0; i < tokens.size(); ++i)
    scored.insert((quint64(tokens[i].sequence) << 32) | quint64(tokens[i].position), int(i));
  QString html = "<p style=\"white-space: pre-wrap; font-family: monospace; line-height: 150%\">";
  int shown = 0;
  size_t total = 0;
  for (size_t s = 0; s < r.sequences.size(); ++s) {
    total += r.sequences[s].size();
    for (size_t pos = 0; pos < r.sequences[s].size() && shown < kMaxShown; ++pos, ++shown) {
      const QString text = piece(r.sequences[s][pos]).toHtmlEscaped();
      const auto it = scored.constFind((quint64(s) << 32) | quint64(pos));
      if (it == scored.constEnd()) {
        html += "<span style=\"color: gray\">" + text + "</span>";
        continue;
      }
      const ScoredToken& t = tokens[size_t(*it)];
      html += QString(
                  "<span style=\"background-color: %1; color: black\" title=\"position %2: KL %3; "
                  "reference top-1 %4, "
                  "quantized top-1 %5\">%6</span>")
                  .arg(colorFor(t.kl).name(), positionText(t, r.sequences.size()))
                  .arg(t.kl, 0, 'g', 4)
                  .arg(piece(t.top_ref).toHtmlEscaped(), piece(t.top_test).toHtmlEscaped(), text);
    }
    if (s + 1 < r.sequences.size() && shown < kMaxShown) html += "\n\n";
  }
  html += "</p>";
  text_->setHtml(html);
  summary_->setText(tr("Run %1 (%2): %3 scored tokens, KL mean %4, max %5%6. Grey tokens are not "
                       "scored (the first "
                       "of each window).")
                        .arg(r.id)
                        .arg(r.scheme.isEmpty() ? r.format : r.scheme)
                        .arg(tokens.size())
                        .arg(r.stats.kl.mean, 0, 'g', 4)
                        .arg(hi, 0, 'g', 4)
                        .arg(size_t(shown) < total
                                 ? tr("; the first %1 of %2 tokens are shown").arg(shown).arg(total)
                                 : QString()));
}

}  // namespace precis::ui
