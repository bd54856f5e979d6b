// ChartWidget: bulk series data, the PNG / SVG / CSV exports write what the chart holds, the
// logarithmic y axis keeps every point (y <= 0 only undrawn) and survives switching, series removal.
#include <QImage>
#include <QTemporaryDir>
#include <QXmlStreamReader>
#include <QtTest>
#include <set>

#include "ui/chart_widget.h"

using precis::ui::ChartWidget;

class TestChartWidget : public QObject {
  Q_OBJECT
 private slots:
  void bulkData();
  void exports();
  void logAxisAndRemoval();
};

void TestChartWidget::logAxisAndRemoval() {
  ChartWidget c;
  c.setLogY(true);
  QVERIFY(c.logY());
  const int s = c.addSeries(ChartWidget::Kind::Scatter, "runs");
  c.setPoints(s, {{32, 0}, {8.5, 0.03}, {4.5, 2.3}});  // f32 against itself has KL 0
  c.resize(500, 300);
  c.show();
  QVERIFY(!c.renderImage().isNull());
  QCOMPARE(c.points(s).size(), 3);  // the KL-0 point is kept (CSV, clicks), only not drawn
  QCOMPARE(c.toCsv().count('\n'), 4);
  c.setLogY(false);
  QVERIFY(!c.logY());
  QCOMPARE(c.points(s).size(), 3);
  c.setLogY(true);
  QVERIFY(!c.renderImage().isNull());
  c.removeAllSeries();
  QCOMPARE(c.seriesCount(), 0);
  QCOMPARE(c.toCsv(), QString("series,kind,x,y,x_end\n"));
  QCOMPARE(c.addSeries(ChartWidget::Kind::Line, "again"), 0);
}

void TestChartWidget::bulkData() {
  ChartWidget c;
  const int line = c.addSeries(ChartWidget::Kind::Line, "loss");
  const int hist = c.addSeries(ChartWidget::Kind::Histogram, "values");
  c.setPoints(line, {{0, 1.0}, {1, 0.5}});
  c.appendPoints(line, {{2, 0.25}, {3, 0.125}});
  QCOMPARE(c.points(line).size(), 4);
  QCOMPARE(c.points(line)[3], QPointF(3, 0.125));
  c.setHistogram(hist, {-1, 0, 1}, {3, 5});
  QCOMPARE(c.points(hist), (QVector<QPointF>{{-1, 3}, {0, 5}}));
  QCOMPARE(c.seriesCount(), 2);
  QCOMPARE(c.seriesKind(hist), ChartWidget::Kind::Histogram);
  c.clearData();
  QVERIFY(c.points(line).isEmpty());
  QVERIFY(c.points(hist).isEmpty());
}

void TestChartWidget::exports() {
  ChartWidget c;
  c.setTitle("Frontier, test");
  c.resize(640, 400);
  c.show();
  QVERIFY(QTest::qWaitForWindowExposed(&c));
  const int runs = c.addSeries(ChartWidget::Kind::Scatter, "runs, all");
  const int hist = c.addSeries(ChartWidget::Kind::Histogram, "values");
  c.setPoints(runs, {{4.5, 0.25}, {8.5, 0.0078125}});
  c.setHistogram(hist, {0, 0.5, 1}, {2, 7});
  QTemporaryDir dir;
  QString err;

  const QString csv_path = dir.filePath("c.csv");
  QVERIFY2(c.exportCsv(csv_path, &err), qPrintable(err));
  QFile csv(csv_path);
  QVERIFY(csv.open(QIODevice::ReadOnly));
  QCOMPARE(QString::fromUtf8(csv.readAll()),
           QString("series,kind,x,y,x_end\n"
                   "\"runs, all\",scatter,4.5,0.25,\n"
                   "\"runs, all\",scatter,8.5,0.0078125,\n"
                   "values,histogram,0,2,0.5\n"
                   "values,histogram,0.5,7,1\n"));

  const QString png_path = dir.filePath("c.png");
  QVERIFY2(c.exportPng(png_path, &err), qPrintable(err));
  QImage img(png_path);
  QVERIFY(!img.isNull());
  QCOMPARE(img.size(), c.size());
  std::set<QRgb> colours;
  for (int y = 0; y < img.height(); y += 4)
    for (int x = 0; x < img.width(); x += 4) colours.insert(img.pixel(x, y));
  QVERIFY2(colours.size() > 8, "the PNG should show a drawn chart, not a blank image");

  const QString svg_path = dir.filePath("c.svg");
  QVERIFY2(c.exportSvg(svg_path, &err), qPrintable(err));
  QFile svg(svg_path);
  QVERIFY(svg.open(QIODevice::ReadOnly));
  const QByteArray svg_bytes = svg.readAll();
  QXmlStreamReader xml(svg_bytes);
  int elements = 0;
  bool root_svg = false;
  while (!xml.atEnd()) {
    if (xml.readNext() == QXmlStreamReader::StartElement) {
      if (elements++ == 0) root_svg = xml.name() == QLatin1String("svg");
    }
  }
  QVERIFY2(!xml.hasError(), qPrintable(xml.errorString()));
  QVERIFY(root_svg);
  QVERIFY(elements > 20);
  QVERIFY(svg_bytes.contains("Frontier, test"));  // the title, as text and <title>

  QVERIFY(!c.exportCsv(dir.filePath("missing/dir/c.csv"), &err));
  QVERIFY(err.contains("missing/dir/c.csv"));
}

QTEST_MAIN(TestChartWidget)
#include "test_chart_widget.moc"
