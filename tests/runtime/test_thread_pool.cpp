// ThreadPool: every index is visited exactly once, for many sizes and pool sizes, repeatedly.
#include <QtTest>

#include <atomic>
#include <vector>

#include "engine/core/thread_pool.h"

using namespace precis;

class TestThreadPool : public QObject {
  Q_OBJECT
 private slots:
  void coversEveryIndexOnce_data() {
    QTest::addColumn<int>("threads");
    QTest::addColumn<int>("n");
    QTest::addColumn<int>("minChunk");
    for (int t : {1, 2, 3})
      for (int n : {1, 7, 64, 1000})
        for (int c : {1, 16})
          QTest::newRow(qPrintable(QString("t%1_n%2_c%3").arg(t).arg(n).arg(c))) << t << n << c;
  }
  void coversEveryIndexOnce() {
    QFETCH(int, threads);
    QFETCH(int, n);
    QFETCH(int, minChunk);
    ThreadPool pool(threads);
    QCOMPARE(pool.size(), threads);
    for (int rep = 0; rep < 20; ++rep) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      std::atomic<int> empty_chunks{0};
      pool.parallelFor(n, minChunk, [&](int64_t b, int64_t e) {
        if (b >= e) empty_chunks.fetch_add(1);
        for (int64_t i = b; i < e; ++i) hits[size_t(i)].fetch_add(1);
      });
      QCOMPARE(empty_chunks.load(), 0);
      for (int i = 0; i < n; ++i) QCOMPARE(hits[size_t(i)].load(), 1);
    }
  }
  void zeroIsNoop() {
    ThreadPool pool(2);
    int calls = 0;
    pool.parallelFor(0, 1, [&](int64_t, int64_t) { ++calls; });
    QCOMPARE(calls, 0);
  }
};

QTEST_GUILESS_MAIN(TestThreadPool)
#include "test_thread_pool.moc"
