// The Quantize panel's token view on stories260K (offscreen, real engine): after a q4_0
// evaluation (128 tokens sampled with seed 3, windows of 64) the view's per-token KLs are the
// engine's own (the same evaluation run directly through evaluate() with keep_tokens), in
// evaluation order; the worst-token list is sorted by KL, largest first, and holds the engine's 20
// largest KLs with their positions; the colour scale runs from the largest KL down and the worst
// token carries the top colour; clicking another run's frontier point shows that run's tokens.
#include <QCheckBox>
#include <QComboBox>
#include <QPushButton>
#include <QSpinBox>
#include <QTabWidget>
#include <QTableWidget>
#include <QTextBrowser>
#include <QtTest>
#include <algorithm>

#include "engine/backend/registry.h"
#include "engine/eval/evaluator.h"
#include "engine/model/loader.h"
#include "engine/quant/convert.h"
#include "ui/chart_widget.h"
#include "ui/main_window.h"
#include "ui/quantize_panel.h"
#include "ui/token_view.h"
#include "window_fixture.h"

using namespace precis;
using namespace precis::ui;

namespace {
constexpr int kSample = 128, kCtx = 64;
constexpr uint64_t kSeed = 3;

// The evaluation the worker runs for (format, 128 sampled tokens, seed 3, windows of 64), directly,
// keeping the per-token KLs.
Result<EvalResult> directEval(const Model& m, DType format) {
  return test::directFormatEval(m, format, "cpu", kSample, kCtx, kSeed, true, nullptr);
}
}  // namespace

class TestTokenView : public QObject {
  Q_OBJECT
 private slots:
  void tokenKlsAreTheEngines();
};

void TestTokenView::tokenKlsAreTheEngines() {
  PRECIS_REQUIRE_MODEL("stories260K.bin");
  test::WindowSandbox box("log.sqlite");
  box.settings.setValue("backend", "cpu");
  Result<Model> model = loadModel(test::modelPath("stories260K.bin"));
  QVERIFY(model.ok());

  MainWindow w(&box.settings);
  test::showStories(w, {1200, 800});
  QuantizePanel* q = w.quantizePanel();
  w.tabs()->setCurrentWidget(q);
  q->logBox()->setChecked(false);
  q->sampleBox()->setValue(kSample);
  q->ctxBox()->setValue(kCtx);
  q->findChildren<QSpinBox*>().at(1)->setValue(int(kSeed));  // tokens, seed, ctx in form order
  q->formatBox()->setCurrentText("q4_0");
  QTest::mouseClick(q->evaluateButton(), Qt::LeftButton);
  QTRY_COMPARE_WITH_TIMEOUT(q->resultsTable()->rowCount(), 1, 30000);

  Result<EvalResult> expected = directEval(*model, DType::Q4_0);
  QVERIFY2(expected.ok(), expected.ok() ? "" : expected.error().message.c_str());
  const std::vector<ScoredToken>& engine = expected->token_details;
  QCOMPARE(engine.size(), expected->tokens_scored);

  TokenView* v = q->tokenView();
  q->resultTabs()->setCurrentWidget(v);
  const QVector<double> kls = v->klValues();
  QCOMPARE(kls.size(), qsizetype(engine.size()));
  for (size_t i = 0; i < engine.size(); ++i)
    QVERIFY2(std::abs(kls[qsizetype(i)] - engine[i].kl) <= 1e-9 * std::max(1.0, engine[i].kl),
             qPrintable(QString("token %1: view %2, engine %3")
                            .arg(i)
                            .arg(kls[qsizetype(i)])
                            .arg(engine[i].kl)));
  double sum = 0;
  for (double k : kls) sum += k;
  QVERIFY(std::abs(sum / kls.size() - expected->stats.kl.mean) < 1e-9);  // the mean in the table

  // Worst tokens: sorted, largest first, the engine's 20 largest KLs at their positions.
  std::vector<size_t> order(engine.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return engine[a].kl > engine[b].kl; });
  QTableWidget* worst = v->worstTable();
  QCOMPARE(worst->rowCount(), TokenView::kWorst);
  for (int row = 0; row < worst->rowCount(); ++row) {
    const double k = worst->item(row, 2)->data(Qt::UserRole).toDouble();
    if (row > 0) QVERIFY(k <= worst->item(row - 1, 2)->data(Qt::UserRole).toDouble());
    const ScoredToken& e = engine[order[size_t(row)]];
    QVERIFY(std::abs(k - e.kl) <= 1e-9 * std::max(1.0, e.kl));
    QCOMPARE(worst->item(row, 1)->text(), QString::number(e.position));
    QCOMPARE(worst->item(row, 0)->text(),
             QString("⟨%1⟩").arg(e.token));  // stories260K has no tokenizer
    QCOMPARE(worst->item(row, 3)->text(), QString("⟨%1⟩").arg(e.top_ref));
    QCOMPARE(worst->item(row, 4)->text(), QString("⟨%1⟩").arg(e.top_test));
    QCOMPARE(worst->item(row, 5)->text(),
             QString("%1 → %2").arg(e.p_ref, 0, 'g', 3).arg(e.p_test, 0, 'g', 3));
  }
  QVERIFY(engine[order[0]].kl > 0);

  // The colour scale: the worst token has the top colour, the legend names the range, the text
  // holds every sampled token with the scored ones coloured.
  QCOMPARE(v->scaleHigh(), engine[order[0]].kl);
  QVERIFY(v->colorFor(v->scaleHigh()) != v->colorFor(v->scaleLow()));
  QVERIFY(v->legendText().contains("log scale"));
  const QString html = v->textView()->toHtml();
  QVERIFY(html.contains(v->colorFor(v->scaleHigh()).name(), Qt::CaseInsensitive));
  QCOMPARE(v->textView()->toPlainText().count(QChar(0x27E8)),
           kSample + 1);  // BOS + the sampled tokens

  // A second run (q8_0); clicking the first run's point shows the first run's tokens again.
  q->formatBox()->setCurrentText("q8_0");
  QTest::mouseClick(q->evaluateButton(), Qt::LeftButton);
  QTRY_COMPARE_WITH_TIMEOUT(q->resultsTable()->rowCount(), 2, 30000);
  QTRY_COMPARE_WITH_TIMEOUT(q->frontierRuns().size(), 2, 5000);
  QVERIFY(v->scaleHigh() != engine[order[0]].kl);
  emit q->frontierChart()->pointClicked(0, int(q->frontierRuns().indexOf(1)));
  QCOMPARE(v->scaleHigh(), engine[order[0]].kl);
}

QTEST_MAIN(TestTokenView)
#include "test_token_view.moc"
