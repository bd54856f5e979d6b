// ChartWidget over Qt Charts (see chart_widget.h). The only file that includes Qt Charts.
// Series data is kept in plain containers (Impl::Data); rebuild() pushes it to the chart in bulk
// with QXYSeries::replace, which redraws once per call.
#include "ui/chart_widget.h"

#include <QAreaSeries>
#include <QChart>
#include <QChartView>
#include <QContextMenuEvent>
#include <QFile>
#include <QFileDialog>
#include <QLabel>
#include <QLineSeries>
#include <QLogValueAxis>
#include <QMenu>
#include <QMessageBox>
#include <QPainter>
#include <QScatterSeries>
#include <QStackedLayout>
#include <QSvgGenerator>
#include <QTextStream>
#include <QValueAxis>
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

namespace precis::ui {

namespace {

const char* kindName(ChartWidget::Kind k) {
  switch (k) {
    case ChartWidget::Kind::Line: return "line";
    case ChartWidget::Kind::Scatter: return "scatter";
    case ChartWidget::Kind::Histogram: return "histogram";
    case ChartWidget::Kind::Markers: return "markers";
  }
  return "?";
}

QString num(double v) { return QString::number(v, 'g', 17); }

class ExportingChartView : public QChartView {
 public:
  ExportingChartView(QChart* chart, std::function<void(QContextMenuEvent*)> menu)
      : QChartView(chart), menu_(std::move(menu)) {}

 protected:
  void contextMenuEvent(QContextMenuEvent* e) override { menu_(e); }

 private:
  std::function<void(QContextMenuEvent*)> menu_;
};

}  // namespace

struct ChartWidget::Impl {
  struct Data {
    Kind kind = Kind::Line;
    QString name;
    QVector<QPointF> points;    // line, scatter, markers
    std::vector<double> edges;  // histogram
    std::vector<int64_t> counts;
    QXYSeries* xy = nullptr;    // the Qt series (for histograms: the area's upper line)
    QAbstractSeries* shown = nullptr;
  };
  QChart* chart = nullptr;
  QChartView* view = nullptr;
  QLabel* empty = nullptr;
  QStackedLayout* stack = nullptr;
  QValueAxis* ax = nullptr;
  QValueAxis* ay = nullptr;
  QLogValueAxis* aylog = nullptr;  // replaces ay when setLogY(true)
  QAbstractAxis* yAxis() const { return aylog ? static_cast<QAbstractAxis*>(aylog) : ay; }
  double yMin() const { return aylog ? aylog->min() : ay->min(); }
  double yMax() const { return aylog ? aylog->max() : ay->max(); }
  std::vector<Data> series;
  QString empty_text;
  int redraws = 0;
};

ChartWidget::ChartWidget(QWidget* parent) : QWidget(parent), d_(std::make_unique<Impl>()) {
  d_->chart = new QChart();
  d_->chart->legend()->setAlignment(Qt::AlignBottom);
  d_->chart->setMargins(QMargins(4, 4, 4, 4));
  d_->ax = new QValueAxis();
  d_->ay = new QValueAxis();
  d_->chart->addAxis(d_->ax, Qt::AlignBottom);
  d_->chart->addAxis(d_->ay, Qt::AlignLeft);
  d_->view = new ExportingChartView(d_->chart, [this](QContextMenuEvent* e) {
    (void)e;
    contextExport();
  });
  d_->view->setRenderHint(QPainter::Antialiasing);
  d_->empty = new QLabel();
  d_->empty->setAlignment(Qt::AlignCenter);
  d_->empty->setWordWrap(true);
  d_->stack = new QStackedLayout(this);
  d_->stack->setContentsMargins(0, 0, 0, 0);
  d_->stack->addWidget(d_->view);
  d_->stack->addWidget(d_->empty);
  setMinimumSize(240, 180);
  setFocusPolicy(Qt::StrongFocus);
  setContextMenuPolicy(Qt::DefaultContextMenu);
}

ChartWidget::~ChartWidget() = default;

void ChartWidget::setTitle(const QString& title) {
  d_->chart->setTitle(title);
  setAccessibleName(title);
}

void ChartWidget::setAxisTitles(const QString& x, const QString& y) {
  d_->ax->setTitleText(x);
  d_->yAxis()->setTitleText(y);
}

void ChartWidget::setDark(bool dark) {
  d_->chart->setTheme(dark ? QChart::ChartThemeDark : QChart::ChartThemeLight);
  rebuild();
}

void ChartWidget::setEmptyText(const QString& text) {
  d_->empty_text = text;
  rebuild();
}

int ChartWidget::addSeries(Kind kind, const QString& name) {
  Impl::Data data;
  data.kind = kind;
  data.name = name;
  if (kind == Kind::Scatter) {
    auto* s = new QScatterSeries();
    s->setMarkerSize(11);
    const int index = static_cast<int>(d_->series.size());
    connect(s, &QScatterSeries::clicked, this, [this, index](const QPointF& p) {
      const QVector<QPointF>& pts = d_->series[index].points;
      const double sx = std::max(1e-300, d_->ax->max() - d_->ax->min());
      const bool lg = d_->aylog != nullptr;
      const auto ty = [lg](double y) { return lg ? std::log10(std::max(y, 1e-300)) : y; };
      const double sy = std::max(1e-300, ty(d_->yMax()) - ty(d_->yMin()));
      int best = -1;
      double best_d = std::numeric_limits<double>::infinity();
      for (int i = 0; i < pts.size(); ++i) {
        const double dx = (pts[i].x() - p.x()) / sx, dy = (ty(pts[i].y()) - ty(p.y())) / sy;
        if (dx * dx + dy * dy < best_d) best_d = dx * dx + dy * dy, best = i;
      }
      if (best >= 0) emit pointClicked(index, best);
    });
    data.xy = s;
    data.shown = s;
  } else if (kind == Kind::Histogram) {
    auto* area = new QAreaSeries();
    auto* upper = new QLineSeries(area);
    area->setUpperSeries(upper);
    data.xy = upper;
    data.shown = area;
  } else {
    data.xy = new QLineSeries();
    data.shown = data.xy;
  }
  data.shown->setName(name);
  d_->chart->addSeries(data.shown);
  data.shown->attachAxis(d_->ax);
  data.shown->attachAxis(d_->yAxis());
  d_->series.push_back(std::move(data));
  return static_cast<int>(d_->series.size()) - 1;
}

void ChartWidget::removeAllSeries() {
  d_->chart->removeAllSeries();
  d_->series.clear();
  rebuild();
}

void ChartWidget::setLogY(bool log) {
  if (log == (d_->aylog != nullptr)) return;
  const QString title = d_->yAxis()->titleText();
  for (Impl::Data& s : d_->series) s.shown->detachAxis(d_->yAxis());
  d_->chart->removeAxis(d_->yAxis());
  if (log) {
    d_->ay->setParent(this);  // kept (not shown) for switching back; the chart no longer owns it
    d_->aylog = new QLogValueAxis();
    d_->aylog->setBase(10);
    d_->aylog->setLabelFormat("%.3g");
    d_->aylog->setMinorTickCount(-1);
  } else {
    delete d_->aylog;
    d_->aylog = nullptr;
  }
  d_->yAxis()->setTitleText(title);
  d_->chart->addAxis(d_->yAxis(), Qt::AlignLeft);
  for (Impl::Data& s : d_->series) s.shown->attachAxis(d_->yAxis());
  rebuild();
}

bool ChartWidget::logY() const { return d_->aylog != nullptr; }

void ChartWidget::setPoints(int series, QVector<QPointF> points) {
  d_->series.at(series).points = std::move(points);
  rebuild();
}

void ChartWidget::appendPoints(int series, const QVector<QPointF>& points) {
  d_->series.at(series).points += points;
  rebuild();
}

void ChartWidget::setHistogram(int series, const std::vector<double>& edges, const std::vector<int64_t>& counts) {
  Impl::Data& s = d_->series.at(series);
  s.edges = edges;
  s.counts = counts;
  s.points.clear();
  for (size_t i = 0; i < counts.size() && i + 1 < edges.size(); ++i)
    s.points.push_back(QPointF(edges[i], static_cast<double>(counts[i])));
  rebuild();
}

void ChartWidget::setSeriesName(int series, const QString& name) {
  Impl::Data& s = d_->series.at(series);
  s.name = name;
  s.shown->setName(name);
}

void ChartWidget::clearData() {
  for (Impl::Data& s : d_->series) {
    s.points.clear();
    s.edges.clear();
    s.counts.clear();
  }
  rebuild();
}

int ChartWidget::seriesCount() const { return static_cast<int>(d_->series.size()); }
QString ChartWidget::seriesName(int series) const { return d_->series.at(series).name; }
ChartWidget::Kind ChartWidget::seriesKind(int series) const { return d_->series.at(series).kind; }
QVector<QPointF> ChartWidget::points(int series) const { return d_->series.at(series).points; }
int ChartWidget::redrawCount() const { return d_->redraws; }

void ChartWidget::rebuild() {
  ++d_->redraws;
  double x0 = std::numeric_limits<double>::infinity(), x1 = -x0, y0 = 0, y1 = -x0;
  bool any = false;
  const bool lg = d_->aylog != nullptr;
  if (lg) y0 = std::numeric_limits<double>::infinity();
  auto extend = [&](double x, double y) {
    if (!std::isfinite(x) || !std::isfinite(y) || (lg && y <= 0)) return;
    x0 = std::min(x0, x), x1 = std::max(x1, x), y0 = std::min(y0, y), y1 = std::max(y1, y);
    any = true;
  };
  for (const Impl::Data& s : d_->series) {
    if (s.kind == Kind::Histogram) {
      for (size_t i = 0; i < s.counts.size(); ++i) extend(s.edges[i], double(s.counts[i])), extend(s.edges[i + 1], 0);
    } else {
      for (const QPointF& p : s.points) extend(p.x(), p.y());
    }
  }
  for (Impl::Data& s : d_->series) {
    QList<QPointF> shown;
    if (s.kind == Kind::Histogram) {
      if (!s.counts.empty()) shown.append(QPointF(s.edges[0], 0));
      for (size_t i = 0; i < s.counts.size(); ++i) {
        shown.append(QPointF(s.edges[i], double(s.counts[i])));
        shown.append(QPointF(s.edges[i + 1], double(s.counts[i])));
      }
      if (!s.counts.empty()) shown.append(QPointF(s.edges.back(), 0));
    } else if (s.kind == Kind::Markers) {
      for (const QPointF& p : s.points) shown << QPointF(p.x(), 0) << p << QPointF(p.x(), 0);
    } else if (lg) {
      for (const QPointF& p : s.points)
        if (p.y() > 0) shown << p;
    } else {
      shown = s.points;
    }
    s.xy->replace(shown);
  }
  if (any) {
    if (x1 <= x0) x0 -= 0.5, x1 += 0.5;
    if (y1 <= y0) y1 = y0 + 1;
    const double mx = 0.04 * (x1 - x0), my = 0.06 * (y1 - y0);
    d_->ax->setRange(x0 - mx, x1 + mx);
    if (lg) d_->aylog->setRange(y0 / 1.5, y1 * 1.5);
    else d_->ay->setRange(y0 < 0 ? y0 - my : 0, y1 + my);
    d_->ax->applyNiceNumbers();
  }
  d_->empty->setText(d_->empty_text);
  d_->stack->setCurrentIndex(any || d_->empty_text.isEmpty() ? 0 : 1);
}

QImage ChartWidget::renderImage(QSize size) const {
  if (size.isEmpty()) size = d_->view->size().isEmpty() ? QSize(800, 500) : d_->view->size();
  if (d_->view->size() != size) d_->view->resize(size);
  QImage image(size, QImage::Format_ARGB32_Premultiplied);
  image.fill(palette().color(QPalette::Window));
  QPainter painter(&image);
  painter.setRenderHint(QPainter::Antialiasing);
  d_->view->render(&painter, QRectF(QPointF(0, 0), size), QRect(QPoint(0, 0), size));
  return image;
}

bool ChartWidget::exportPng(const QString& path, QString* error) const {
  if (renderImage().save(path, "PNG")) return true;
  if (error) *error = path + ": could not write the PNG file";
  return false;
}

bool ChartWidget::exportSvg(const QString& path, QString* error) const {
  const QSize size = d_->view->size().isEmpty() ? QSize(800, 500) : d_->view->size();
  QSvgGenerator gen;
  gen.setFileName(path);
  gen.setSize(size);
  gen.setViewBox(QRect(QPoint(0, 0), size));
  gen.setTitle(d_->chart->title());
  gen.setDescription(QStringLiteral("Precis chart"));
  QPainter painter;
  if (!painter.begin(&gen)) {
    if (error) *error = path + ": could not write the SVG file";
    return false;
  }
  d_->view->render(&painter, QRectF(QPointF(0, 0), size), QRect(QPoint(0, 0), size));
  painter.end();
  if (!QFile::exists(path)) {
    if (error) *error = path + ": could not write the SVG file";
    return false;
  }
  return true;
}

QString ChartWidget::toCsv() const {
  QString out = QStringLiteral("series,kind,x,y,x_end\n");
  for (const Impl::Data& s : d_->series) {
    QString name = s.name;
    if (name.contains(',') || name.contains('"')) name = '"' + name.replace("\"", "\"\"") + '"';
    if (s.kind == Kind::Histogram) {
      for (size_t i = 0; i < s.counts.size(); ++i)
        out += name + ",histogram," + num(s.edges[i]) + ',' + QString::number(s.counts[i]) + ',' +
               num(s.edges[i + 1]) + '\n';
    } else {
      for (const QPointF& p : s.points)
        out += name + ',' + kindName(s.kind) + ',' + num(p.x()) + ',' + num(p.y()) + ",\n";
    }
  }
  return out;
}

bool ChartWidget::exportCsv(const QString& path, QString* error) const {
  QFile f(path);
  if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate | QIODevice::Text)) {
    if (error) *error = path + ": " + f.errorString();
    return false;
  }
  const QByteArray bytes = toCsv().toUtf8();
  if (f.write(bytes) != bytes.size()) {
    if (error) *error = path + ": " + f.errorString();
    return false;
  }
  return true;
}

void ChartWidget::contextExport() {
  QMenu menu(this);
  QAction* png = menu.addAction(tr("Export PNG…"));
  QAction* svg = menu.addAction(tr("Export SVG…"));
  QAction* csv = menu.addAction(tr("Export CSV…"));
  QAction* chosen = menu.exec(QCursor::pos());
  if (chosen != png && chosen != svg && chosen != csv) return;
  const QString ext = chosen == png ? "png" : chosen == svg ? "svg" : "csv";
  const QString path = QFileDialog::getSaveFileName(this, tr("Export chart"), "chart." + ext,
                                                    ext.toUpper() + " (*." + ext + ")");
  if (path.isEmpty()) return;
  QString error;
  const bool ok = chosen == png ? exportPng(path, &error) : chosen == svg ? exportSvg(path, &error)
                                                                          : exportCsv(path, &error);
  if (!ok) QMessageBox::warning(this, tr("Export chart"), error);
}

}  // namespace precis::ui
