// RequestTimelineWidget (see request_timeline.h).
#include "ui/request_timeline.h"

#include <QAction>
#include <QContextMenuEvent>
#include <QFile>
#include <QFileDialog>
#include <QImage>
#include <QKeyEvent>
#include <QMenu>
#include <QMessageBox>
#include <QPainter>
#include <QSvgGenerator>
#include <QTextStream>
#include <QWheelEvent>
#include <algorithm>
#include <cmath>

#include "engine/serve/metrics.h"

namespace precis::ui {

namespace {

constexpr int kLabelWidth = 56;  // request id column
constexpr int kHeader = 44;      // title, legend and time axis
constexpr int kRight = 16;
constexpr int kMaxExportPixels =
    16000;  // per side: PNG/SVG of a larger timeline are cut there (CSV has all)

const QColor kWait(150, 150, 150), kPrefill(230, 140, 30), kDecode(40, 120, 220),
    kMiss(220, 40, 40);

QString cell(double v) {
  return v < 0 ? QString() : QString::number(v, 'g', 17);
}

// A "nice" tick step (1, 2 or 5 x 10^k seconds) giving ticks at least `min_px` apart.
double tickStep(double pps, double min_px) {
  const double raw = min_px / std::max(pps, 1e-12);
  const double p10 = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * p10 >= raw) return m * p10;
  return 10 * p10;
}

}  // namespace

QVector<RequestSpan> requestSpans(const std::vector<precis::RequestRecord>& requests) {
  QVector<RequestSpan> out;
  out.reserve(static_cast<int>(requests.size()));
  for (const precis::RequestRecord& r : requests) {
    RequestSpan s;
    s.id = r.id;
    s.arrival = r.arrival;
    s.scheduled = r.scheduled;
    s.first_token = r.token_times.empty() ? -1 : r.token_times.front();
    s.finish = r.finish;
    s.rejected = r.rejected;
    s.preemptions = r.preemptions;
    if (r.ttft_target > 0) s.ttft_deadline = r.arrival + r.ttft_target;
    if (r.tpot_target > 0 && s.first_token >= 0 && r.token_times.size() > 1)
      s.decode_deadline = s.first_token + r.tpot_target * double(r.token_times.size() - 1);
    s.missed = !r.rejected && r.finish >= 0 && !r.token_times.empty() && !precis::meetsTargets(r);
    out << s;
  }
  return out;
}

RequestTimelineWidget::RequestTimelineWidget(QWidget* parent) : QWidget(parent) {
  setFocusPolicy(Qt::StrongFocus);
  setAccessibleName(tr("Request timeline"));
  setToolTip(
      tr("Each row is one request: wait (grey), prefill (orange), decode (blue); red ticks are its "
         "deadlines, a red row missed one. Ctrl+wheel or +/- zoom time, Shift+wheel zooms rows; "
         "right-click to export."));
  relayout();
}

void RequestTimelineWidget::setTitle(const QString& title) {
  title_ = title;
  update();
}

void RequestTimelineWidget::setEmptyText(const QString& text) {
  empty_ = text;
  update();
}

void RequestTimelineWidget::setSpans(const QVector<RequestSpan>& spans) {
  spans_ = spans;
  duration_ = 0;
  for (const RequestSpan& s : spans_)
    for (double t :
         {s.arrival, s.scheduled, s.first_token, s.finish, s.ttft_deadline, s.decode_deadline})
      duration_ = std::max(duration_, t);
  relayout();
}

void RequestTimelineWidget::clear() {
  setSpans({});
}

void RequestTimelineWidget::setDark(bool dark) {
  dark_ = dark;
  update();
}

void RequestTimelineWidget::setPixelsPerSecond(double pps) {
  pps_ = std::clamp(pps, 1e-3, 1e7);
  relayout();
}

void RequestTimelineWidget::setRowHeight(int px) {
  row_h_ = std::clamp(px, 3, 60);
  relayout();
}

void RequestTimelineWidget::zoomTime(double factor) {
  setPixelsPerSecond(pps_ * factor);
}

void RequestTimelineWidget::fitWidth(int width) {
  if (duration_ > 0)
    setPixelsPerSecond(std::max(50.0, double(width - kLabelWidth - kRight)) / duration_);
}

double RequestTimelineWidget::xOf(double t) const {
  return kLabelWidth + t * pps_;
}
double RequestTimelineWidget::timeAt(double x) const {
  return (x - kLabelWidth) / pps_;
}

QSize RequestTimelineWidget::sizeHint() const {
  const int w = kLabelWidth + kRight + static_cast<int>(std::ceil(duration_ * pps_));
  const int h = kHeader + std::max(1, static_cast<int>(spans_.size())) * row_h_ + 4;
  return {std::max(w, 240), std::max(h, 120)};
}

void RequestTimelineWidget::relayout() {
  // Sized to the content (the panel puts it in a non-resizing scroll area).
  setMinimumSize(sizeHint());
  resize(sizeHint());
  updateGeometry();
  update();
}

void RequestTimelineWidget::paintEvent(QPaintEvent* e) {
  QPainter p(this);
  paintTo(p, e->rect());
}

void RequestTimelineWidget::paintTo(QPainter& p, const QRect& clip) const {
  const QColor base = palette().color(QPalette::Base), text = palette().color(QPalette::Text);
  p.fillRect(clip, base);
  p.setPen(text);
  QFont f = p.font();
  f.setBold(true);
  p.setFont(f);
  p.drawText(QRect(4, 2, 2000, 16), Qt::AlignLeft | Qt::AlignVCenter, title_);
  f.setBold(false);
  p.setFont(f);
  if (spans_.isEmpty()) {
    p.setPen(palette().color(QPalette::PlaceholderText));
    p.drawText(QRect(0, kHeader, std::max(clip.right(), 240), 60), Qt::AlignCenter, empty_);
    return;
  }
  // Legend.
  int lx = 4;
  const auto legend = [&](const QColor& c, const QString& name) {
    p.fillRect(QRect(lx, 20, 12, 8), c);
    p.setPen(text);
    p.drawText(QRect(lx + 16, 16, 120, 16), Qt::AlignLeft | Qt::AlignVCenter, name);
    lx += 24 + p.fontMetrics().horizontalAdvance(name);
  };
  legend(kWait, tr("wait"));
  legend(kPrefill, tr("prefill"));
  legend(kDecode, tr("decode"));
  legend(kMiss, tr("deadline / missed"));
  // Time axis with grid lines.
  const double step = tickStep(pps_, 70);
  const double t0 = std::max(0.0, std::floor(timeAt(clip.left()) / step) * step);
  const double t1 = timeAt(clip.right() + 1);
  const int bottom = kHeader + static_cast<int>(spans_.size()) * row_h_;
  QColor grid = text;
  grid.setAlpha(40);
  for (double t = t0; t <= t1 + 1e-12; t += step) {
    const int x = static_cast<int>(std::lround(xOf(t)));
    p.setPen(grid);
    p.drawLine(x, kHeader - 4, x, bottom);
    p.setPen(text);
    p.drawText(QRect(x - 40, 30, 80, 12), Qt::AlignCenter, QString::number(t, 'g', 6) + " s");
  }
  // Rows in the clip only.
  const int first = std::max(0, (clip.top() - kHeader) / row_h_);
  const int last =
      std::min(static_cast<int>(spans_.size()) - 1, (clip.bottom() - kHeader) / row_h_);
  const int bar_h = std::max(2, row_h_ - 4);
  QColor miss_bg = kMiss;
  miss_bg.setAlpha(dark_ ? 70 : 45);
  const auto bar = [&](int y, double a, double b, const QColor& c) {
    if (a < 0 || b < a) return;
    const double x0 = xOf(a), x1 = std::max(xOf(b), x0 + 1.0);
    p.fillRect(QRectF(x0, y + (row_h_ - bar_h) / 2.0, x1 - x0, bar_h), c);
  };
  for (int i = first; i <= last; ++i) {
    const RequestSpan& s = spans_[i];
    const int y = kHeader + i * row_h_;
    if (s.missed || s.rejected)
      p.fillRect(QRect(0, y, std::max(clip.right() + 1, width()), row_h_), miss_bg);
    if (row_h_ >= 9) {
      p.setPen(s.missed || s.rejected ? kMiss : text);
      p.drawText(QRect(2, y, kLabelWidth - 6, row_h_), Qt::AlignRight | Qt::AlignVCenter,
                 QString::number(s.id));
    }
    if (s.rejected) {
      const double x = xOf(s.arrival), c = y + row_h_ / 2.0, r = bar_h / 2.0;
      p.setPen(QPen(kMiss, 2));
      p.drawLine(QPointF(x - r, c - r), QPointF(x + r, c + r));
      p.drawLine(QPointF(x - r, c + r), QPointF(x + r, c - r));
      continue;
    }
    bar(y, s.arrival, s.scheduled >= 0 ? s.scheduled : s.finish, kWait);
    bar(y, s.scheduled, s.first_token, kPrefill);
    bar(y, s.first_token, s.finish, kDecode);
    p.setPen(QPen(kMiss, 2));
    for (double d : {s.ttft_deadline, s.decode_deadline})
      if (d >= 0) p.drawLine(QPointF(xOf(d), y + 1), QPointF(xOf(d), y + row_h_ - 1));
    if (s.missed && s.finish >= 0) {
      p.setPen(QPen(kMiss, 1));
      p.setBrush(Qt::NoBrush);
      p.drawRect(QRectF(xOf(s.arrival), y + (row_h_ - bar_h) / 2.0, xOf(s.finish) - xOf(s.arrival),
                        bar_h));
    }
  }
}

void RequestTimelineWidget::wheelEvent(QWheelEvent* e) {
  const double steps = e->angleDelta().y() / 120.0;
  if (e->modifiers() & Qt::ControlModifier) {
    zoomTime(std::pow(1.25, steps));
    emit userZoomed();
    e->accept();
  } else if (e->modifiers() & Qt::ShiftModifier) {
    setRowHeight(row_h_ + static_cast<int>(std::lround(2 * steps)));
    e->accept();
  } else {
    e->ignore();  // the scroll area scrolls
  }
}

void RequestTimelineWidget::keyPressEvent(QKeyEvent* e) {
  if (e->key() == Qt::Key_Plus || e->key() == Qt::Key_Equal)
    zoomTime(1.25);
  else if (e->key() == Qt::Key_Minus)
    zoomTime(0.8);
  else
    return QWidget::keyPressEvent(e);
  emit userZoomed();
}

QString RequestTimelineWidget::toCsv() const {
  QString out = QStringLiteral(
      "request,arrival_s,scheduled_s,first_token_s,finish_s,ttft_deadline_s,decode_deadline_s,"
      "missed,rejected,"
      "preemptions\n");
  for (const RequestSpan& s : spans_)
    out += QStringList{QString::number(s.id),         cell(s.arrival),      cell(s.scheduled),
                       cell(s.first_token),           cell(s.finish),       cell(s.ttft_deadline),
                       cell(s.decode_deadline),       s.missed ? "1" : "0", s.rejected ? "1" : "0",
                       QString::number(s.preemptions)}
               .join(',') +
           "\n";
  return out;
}

bool RequestTimelineWidget::exportCsv(const QString& path, QString* error) const {
  QFile f(path);
  if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate | QIODevice::Text)) {
    if (error) *error = path + ": " + f.errorString();
    return false;
  }
  f.write(toCsv().toUtf8());
  return true;
}

bool RequestTimelineWidget::exportPng(const QString& path, QString* error) const {
  const QSize size = sizeHint().boundedTo(QSize(kMaxExportPixels, kMaxExportPixels));
  QImage img(size, QImage::Format_ARGB32_Premultiplied);
  img.fill(palette().color(QPalette::Base));
  {
    QPainter p(&img);
    paintTo(p, QRect(QPoint(0, 0), size));
  }
  if (!img.save(path, "PNG")) {
    if (error) *error = path + ": could not write the PNG file";
    return false;
  }
  return true;
}

bool RequestTimelineWidget::exportSvg(const QString& path, QString* error) const {
  const QSize size = sizeHint().boundedTo(QSize(kMaxExportPixels, kMaxExportPixels));
  QSvgGenerator gen;
  gen.setFileName(path);
  gen.setSize(size);
  gen.setViewBox(QRect(QPoint(0, 0), size));
  gen.setTitle(title_);
  gen.setDescription(QStringLiteral("Precis request timeline"));
  QPainter p;
  if (!p.begin(&gen)) {
    if (error) *error = path + ": could not write the SVG file";
    return false;
  }
  paintTo(p, QRect(QPoint(0, 0), size));
  p.end();
  if (!QFile::exists(path)) {
    if (error) *error = path + ": could not write the SVG file";
    return false;
  }
  return true;
}

void RequestTimelineWidget::contextMenuEvent(QContextMenuEvent*) {
  QMenu menu(this);
  QAction* png = menu.addAction(tr("Export PNG…"));
  QAction* svg = menu.addAction(tr("Export SVG…"));
  QAction* csv = menu.addAction(tr("Export CSV…"));
  QAction* chosen = menu.exec(QCursor::pos());
  if (!chosen) return;
  const QString ext = chosen == png ? "png" : chosen == svg ? "svg" : "csv";
  const QString path = QFileDialog::getSaveFileName(
      this, tr("Export request timeline"), "timeline." + ext, ext.toUpper() + " (*." + ext + ")");
  if (path.isEmpty()) return;
  QString error;
  const bool ok = chosen == png   ? exportPng(path, &error)
                  : chosen == svg ? exportSvg(path, &error)
                                  : exportCsv(path, &error);
  if (!ok) QMessageBox::warning(this, tr("Export request timeline"), error);
}

}  // namespace precis::ui
