// HeatmapWidget (see heatmap_widget.h).
#include "ui/heatmap_widget.h"

#include <QContextMenuEvent>
#include <QFile>
#include <QFileDialog>
#include <QMenu>
#include <QMessageBox>
#include <QPainter>
#include <algorithm>
#include <cmath>
#include <limits>

namespace precis::ui {

namespace {
// Viridis-like ramp, t in [0, 1].
QColor ramp(double t) {
  static const QColor stops[] = {QColor(68, 1, 84), QColor(59, 82, 139), QColor(33, 145, 140), QColor(94, 201, 98),
                                 QColor(253, 231, 37)};
  t = std::clamp(t, 0.0, 1.0) * 4;
  const int i = std::min(3, int(t));
  const double f = t - i;
  const QColor& a = stops[i];
  const QColor& b = stops[i + 1];
  return QColor(int(a.red() + f * (b.red() - a.red())), int(a.green() + f * (b.green() - a.green())),
                int(a.blue() + f * (b.blue() - a.blue())));
}
}  // namespace

HeatmapWidget::HeatmapWidget(QWidget* parent) : QWidget(parent) {
  setMinimumSize(240, 160);
  setFocusPolicy(Qt::StrongFocus);
}

void HeatmapWidget::setTitle(const QString& title) {
  title_ = title;
  setAccessibleName(title);
  update();
}

void HeatmapWidget::setEmptyText(const QString& text) {
  empty_ = text;
  update();
}

void HeatmapWidget::setData(const QStringList& rows, const QStringList& columns, const QVector<double>& values) {
  rows_ = rows;
  cols_ = columns;
  values_ = values;
  values_.resize(rows.size() * columns.size(), std::numeric_limits<double>::quiet_NaN());
  update();
}

void HeatmapWidget::clear() { setData({}, {}, {}); }

double HeatmapWidget::value(int row, int column) const {
  if (row < 0 || column < 0 || row >= rowCount() || column >= columnCount())
    return std::numeric_limits<double>::quiet_NaN();
  return values_[row * columnCount() + column];
}

QString HeatmapWidget::toCsv() const {
  QString out = "row";
  for (const QString& c : cols_) out += "," + c;
  out += "\n";
  for (int r = 0; r < rowCount(); ++r) {
    out += rows_[r];
    for (int c = 0; c < columnCount(); ++c) {
      const double v = value(r, c);
      out += "," + (std::isnan(v) ? QString() : QString::number(v, 'g', 17));
    }
    out += "\n";
  }
  return out;
}

bool HeatmapWidget::exportCsv(const QString& path, QString* error) const {
  QFile f(path);
  const QByteArray bytes = toCsv().toUtf8();
  if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate | QIODevice::Text) || f.write(bytes) != bytes.size()) {
    if (error) *error = path + ": " + f.errorString();
    return false;
  }
  return true;
}

bool HeatmapWidget::exportPng(const QString& path, QString* error) const {
  if (const_cast<HeatmapWidget*>(this)->grab().save(path, "PNG")) return true;
  if (error) *error = path + ": could not write the PNG file";
  return false;
}

void HeatmapWidget::paintEvent(QPaintEvent*) {
  QPainter p(this);
  p.setRenderHint(QPainter::Antialiasing);
  p.fillRect(rect(), palette().color(QPalette::Base));
  const QFontMetrics fm = fontMetrics();
  int top = 4;
  if (!title_.isEmpty()) {
    QFont bold = font();
    bold.setBold(true);
    p.setFont(bold);
    p.drawText(QRect(0, top, width(), fm.height()), Qt::AlignHCenter, title_);
    p.setFont(font());
    top += fm.height() + 4;
  }
  if (rows_.isEmpty() || cols_.isEmpty()) {
    p.setPen(palette().color(QPalette::PlaceholderText));
    p.drawText(rect().adjusted(8, top, -8, -8), Qt::AlignCenter | Qt::TextWordWrap, empty_);
    return;
  }
  double lo = std::numeric_limits<double>::infinity(), hi = 0;
  for (double v : values_)
    if (v > 0 && std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  const double llo = std::isfinite(lo) ? std::log10(lo) : 0, lhi = hi > 0 ? std::log10(hi) : 1;
  int left = 8;
  for (const QString& r : rows_) left = std::max(left, fm.horizontalAdvance(r) + 12);
  const int legend = 2 * fm.height() + 8;
  const int header = fm.height() + 6;
  const int w = std::max(1, (width() - left - 8) / int(cols_.size()));
  const int h = std::max(1, (height() - top - header - legend) / int(rows_.size()));
  p.setPen(palette().color(QPalette::Text));
  for (int c = 0; c < columnCount(); ++c)
    p.drawText(QRect(left + c * w, top, w, header), Qt::AlignCenter, fm.elidedText(cols_[c], Qt::ElideRight, w - 2));
  for (int r = 0; r < rowCount(); ++r) {
    p.setPen(palette().color(QPalette::Text));
    p.drawText(QRect(0, top + header + r * h, left - 6, h), Qt::AlignRight | Qt::AlignVCenter, rows_[r]);
    for (int c = 0; c < columnCount(); ++c) {
      const QRect cell(left + c * w, top + header + r * h, w - 1, h - 1);
      const double v = value(r, c);
      if (std::isnan(v)) {
        p.fillRect(cell, palette().color(QPalette::AlternateBase));
        continue;
      }
      const double t = v > 0 && lhi > llo ? (std::log10(v) - llo) / (lhi - llo) : 0;
      const QColor col = ramp(t);
      p.fillRect(cell, col);
      p.setPen(col.lightness() > 140 ? Qt::black : Qt::white);
      if (h >= fm.height()) p.drawText(cell, Qt::AlignCenter, QString::number(v, 'g', 3));
    }
  }
  // Legend: the colour ramp from the smallest to the largest value (log scale).
  const int ly = height() - legend + 4;
  const int lw = std::min(width() - left - 8, 300);
  for (int x = 0; x < lw; ++x) p.fillRect(left + x, ly, 1, fm.height() / 2 + 2, ramp(double(x) / std::max(1, lw - 1)));
  p.setPen(palette().color(QPalette::Text));
  p.drawText(QRect(left, ly + fm.height() / 2 + 4, lw, fm.height()), Qt::AlignLeft,
             QString::number(lo, 'g', 3) + tr(" (log scale)"));
  p.drawText(QRect(left, ly + fm.height() / 2 + 4, lw, fm.height()), Qt::AlignRight, QString::number(hi, 'g', 3));
}

void HeatmapWidget::contextMenuEvent(QContextMenuEvent*) {
  QMenu menu(this);
  QAction* png = menu.addAction(tr("Export PNG…"));
  QAction* csv = menu.addAction(tr("Export CSV…"));
  QAction* chosen = menu.exec(QCursor::pos());
  if (chosen != png && chosen != csv) return;
  const QString ext = chosen == png ? "png" : "csv";
  const QString path = QFileDialog::getSaveFileName(this, tr("Export heatmap"), "heatmap." + ext,
                                                    ext.toUpper() + " (*." + ext + ")");
  if (path.isEmpty()) return;
  QString error;
  if (!(chosen == png ? exportPng(path, &error) : exportCsv(path, &error)))
    QMessageBox::warning(this, tr("Export heatmap"), error);
}

}  // namespace precis::ui
