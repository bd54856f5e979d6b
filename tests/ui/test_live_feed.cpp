// LiveFeed: a burst of points from another thread arrives complete and in order, coalesced into a
// few bulk flushes (each flush is one chart update), without the producer waiting on the GUI.
#include <QtTest>
#include <thread>

#include "ui/live_feed.h"

using namespace precis::ui;

class TestLiveFeed : public QObject {
  Q_OBJECT
 private slots:
  void burstIsCoalesced();
};

void TestLiveFeed::burstIsCoalesced() {
  auto buffer = std::make_shared<LiveBuffer>();
  LiveFeed feed(buffer, 40);
  QVector<LivePoint> got;
  int batches = 0;
  connect(&feed, &LiveFeed::pointsReady, this, [&](const QVector<LivePoint>& pts) {
    got += pts;
    ++batches;
  });
  constexpr int kPoints = 5000;
  std::thread producer([&] {
    for (int i = 0; i < kPoints; ++i)
      if (buffer->append({i % 3, QPointF(i, 2.0 * i), i}))
        QMetaObject::invokeMethod(&feed, "notify", Qt::QueuedConnection);
  });
  producer.join();
  QTRY_COMPARE_WITH_TIMEOUT(got.size(), kPoints, 5000);
  for (int i = 0; i < kPoints; ++i) {
    QCOMPARE(got[i].tag, i);
    QCOMPARE(got[i].series, i % 3);
    QCOMPARE(got[i].point, QPointF(i, 2.0 * i));
  }
  // One notify per empty->non-empty transition, one flush per armed timer: a burst is a few flushes.
  QVERIFY2(batches <= 10, qPrintable(QString("%1 flushes for one burst").arg(batches)));
  QCOMPARE(feed.flushCount(), batches);
  QVERIFY(buffer->take().isEmpty());
}

QTEST_MAIN(TestLiveFeed)
#include "test_live_feed.moc"
