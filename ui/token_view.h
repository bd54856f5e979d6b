// TokenView: the Quantize panel's token view of one evaluation. The evaluated text (each token's
// piece, or ⟨id⟩ for models without a tokenizer) with every scored token's background coloured by
// its per-token KL on a logarithmic colour scale (legend below the text; hover a token for its
// KL and both models' top-1), and the worst tokens listed: token, position, KL, the reference's
// and the quantized model's top-1 prediction, and the probability each model gives the token. The
// KLs are the engine's (EvalResult::token_details). Tested by tests/ui/test_token_view.cpp
// (stories260K: the view's values equal the engine's per-token KLs; the worst list is sorted and is
// the engine's largest KLs).
#pragma once
#include <QColor>
#include <QVector>
#include <QWidget>

#include "ui/worker_types.h"

class QLabel;
class QTableWidget;
class QTextBrowser;

namespace precis::ui {

class TokenView : public QWidget {
  Q_OBJECT
 public:
  static constexpr int kWorst = 20;       // rows of the worst-token list
  static constexpr int kMaxShown = 4096;  // tokens of text rendered (all are listed/ranked)

  explicit TokenView(QWidget* parent = nullptr);

  void setRecord(const EvalRecord& record);
  void clear();

  // The KL of every scored token, in evaluation order (what the colours encode).
  QVector<double> klValues() const { return kls_; }
  // Indices into klValues() of the worst-token list, largest KL first (ties: earlier first).
  QVector<int> worstIndices() const { return worst_; }
  QTableWidget* worstTable() const { return worst_table_; }
  QTextBrowser* textView() const { return text_; }
  QString legendText() const;
  // The colour scale: lo..hi (KL, nats) mapped logarithmically; KL <= lo gets the lowest colour.
  double scaleLow() const { return lo_; }
  double scaleHigh() const { return hi_; }
  QColor colorFor(double kl) const;

 private:
  void drawLegend();

  QTextBrowser* text_ = nullptr;
  QLabel* legend_ = nullptr;
  QLabel* legend_text_ = nullptr;
  QLabel* summary_ = nullptr;
  QTableWidget* worst_table_ = nullptr;
  QVector<double> kls_;
  QVector<int> worst_;
  double lo_ = 1e-6, hi_ = 1;
};

}  // namespace precis::ui
