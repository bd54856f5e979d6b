// Model panel (see model_panel.h).
#include "ui/model_panel.h"

#include <QComboBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QSplitter>
#include <QTableWidget>
#include <QVBoxLayout>
#include <algorithm>

#include "ui/chart_widget.h"

namespace precis::ui {

ModelPanel::ModelPanel(QWidget* parent) : QWidget(parent) {
  auto* open = new QPushButton(tr("&Open model…"));
  open->setToolTip(tr("llama2.c checkpoint, GGUF file or Hugging Face directory (also: drop a file on the window)"));
  connect(open, &QPushButton::clicked, this, &ModelPanel::openRequested);
  path_ = new QLabel(tr("No model loaded."));
  path_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  auto* top = new QHBoxLayout();
  top->addWidget(open);
  top->addWidget(path_, 1);

  arch_ = new QLabel();
  arch_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  arch_->setWordWrap(true);
  tokenizer_ = new QLabel();
  tokenizer_->setWordWrap(true);
  auto* info = new QGroupBox(tr("Architecture"));
  auto* info_l = new QVBoxLayout(info);
  info_l->addWidget(arch_);
  info_l->addWidget(tokenizer_);

  table_ = new QTableWidget(0, 4);
  table_->setHorizontalHeaderLabels({tr("tensor"), tr("shape"), tr("dtype"), tr("bytes")});
  table_->setSelectionBehavior(QAbstractItemView::SelectRows);
  table_->setSelectionMode(QAbstractItemView::SingleSelection);
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  table_->verticalHeader()->hide();
  table_->setWordWrap(false);
  table_->setAccessibleName(tr("Tensors"));
  connect(table_, &QTableWidget::itemSelectionChanged, this, &ModelPanel::requestHistogram);

  auto* left = new QWidget();
  auto* left_l = new QVBoxLayout(left);
  left_l->setContentsMargins(0, 0, 0, 0);
  left_l->addWidget(info);
  left_l->addWidget(table_, 1);

  format_ = new QComboBox();
  format_->addItems({"q4_0", "q8_0", "bf16", "f16"});
  format_->setAccessibleName(tr("Grid format"));
  connect(format_, &QComboBox::currentTextChanged, this, &ModelPanel::requestHistogram);
  chart_ = new ChartWidget();
  chart_->setTitle(tr("Weight values"));
  chart_->setAxisTitles(tr("value"), tr("count"));
  chart_->setEmptyText(tr("Select a weight tensor to see its values and the format's grid."));
  s_hist_ = chart_->addSeries(ChartWidget::Kind::Histogram, tr("values"));
  s_grid_ = chart_->addSeries(ChartWidget::Kind::Markers, tr("grid of one block"));
  s_clip_ = chart_->addSeries(ChartWidget::Kind::Markers, tr("that block's range"));
  s_range_ = chart_->addSeries(ChartWidget::Kind::Markers, tr("smallest / largest block range"));
  stats_ = new QLabel();
  stats_->setWordWrap(true);
  stats_->setTextInteractionFlags(Qt::TextSelectableByMouse);

  auto* right = new QWidget();
  auto* right_l = new QVBoxLayout(right);
  right_l->setContentsMargins(0, 0, 0, 0);
  auto* fl = new QFormLayout();
  fl->addRow(tr("Quantization &grid of:"), format_);
  right_l->addLayout(fl);
  right_l->addWidget(chart_, 1);
  right_l->addWidget(stats_);

  auto* split = new QSplitter();
  split->setObjectName("modelSplitter");
  split->addWidget(left);
  split->addWidget(right);
  split->setSizes({470, 890});
  auto* l = new QVBoxLayout(this);
  l->addLayout(top);
  l->addWidget(split, 1);
}

void ModelPanel::showModel(const ModelSummary& m) {
  path_->setText(QString("<b>%1</b> (%2)").arg(m.path.toHtmlEscaped(), m.format));
  arch_->setText(m.architecture + (m.warnings.isEmpty() ? "" : "\nWarnings: " + m.warnings));
  tokenizer_->setText(tr("Tokenizer: ") + m.tokenizer);
  table_->setSortingEnabled(false);
  table_->setRowCount(static_cast<int>(m.tensors.size()));
  for (int i = 0; i < m.tensors.size(); ++i) {
    const TensorRow& t = m.tensors[i];
    table_->setItem(i, 0, new QTableWidgetItem(t.name));
    table_->setItem(i, 1, new QTableWidgetItem(t.shape));
    table_->setItem(i, 2, new QTableWidgetItem(t.dtype));
    auto* bytes = new QTableWidgetItem(QLocale().toString(static_cast<qulonglong>(t.bytes)));
    bytes->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
    table_->setItem(i, 3, bytes);
  }
  table_->resizeColumnsToContents();
  chart_->clearData();
  stats_->clear();
}

bool ModelPanel::selectTensor(const QString& name) {
  const QList<QTableWidgetItem*> found = table_->findItems(name, Qt::MatchExactly);
  for (QTableWidgetItem* it : found)
    if (it->column() == 0) {
      table_->selectRow(it->row());
      return true;
    }
  return false;
}

void ModelPanel::requestHistogram() {
  const QList<QTableWidgetItem*> sel = table_->selectedItems();
  if (sel.isEmpty()) return;
  HistogramRequest r;
  r.tensor = table_->item(sel.first()->row(), 0)->text();
  r.format = format_->currentText();
  emit histogramRequested(r);
}

QString ModelPanel::statsText() const { return stats_->text(); }

void ModelPanel::setDark(bool dark) { chart_->setDark(dark); }

void ModelPanel::showHistogram(const HistogramResult& r) {
  const TensorHistogram& h = r.histogram;
  const QuantGrid& g = r.grid;
  chart_->setTitle(QString("%1 (%2, %3 values)").arg(r.tensor, r.stored_type).arg(h.elements));
  chart_->setHistogram(s_hist_, h.edges, h.counts);
  const double top = h.counts.empty() ? 1.0 : double(*std::max_element(h.counts.begin(), h.counts.end()));
  QVector<QPointF> grid, clip, range;
  if (g.block_format && g.applicable) {
    for (double v : g.grid) grid.push_back(QPointF(v, 0.25 * top));
    clip << QPointF(g.clip_lo, top) << QPointF(g.clip_hi, top);
    range << QPointF(-g.range_min, 0.6 * top) << QPointF(g.range_min, 0.6 * top) << QPointF(-g.range_max, 0.6 * top)
          << QPointF(g.range_max, 0.6 * top);
  }
  chart_->setPoints(s_grid_, grid);
  chart_->setPoints(s_clip_, clip);
  chart_->setPoints(s_range_, range);
  QString s = QString("min %1, max %2, mean %3, std %4; outliers (|x − mean| > %5σ): %6 of %7")
                  .arg(h.min, 0, 'g', 4).arg(h.max, 0, 'g', 4).arg(h.mean, 0, 'g', 4).arg(h.std, 0, 'g', 4)
                  .arg(h.outlier_sigma).arg(h.outliers).arg(h.elements);
  s += "\n" + QString::fromStdString(dtypeName(g.format)) + ": " + QString::fromStdString(g.note);
  if (g.block_format && g.applicable)
    s += QString("\n%1 levels in [%2, %3]; block ranges from ±%4 to ±%5; %6 values clipped; max |error| %7")
             .arg(g.grid.size()).arg(g.clip_lo, 0, 'g', 4).arg(g.clip_hi, 0, 'g', 4).arg(g.range_min, 0, 'g', 4)
             .arg(g.range_max, 0, 'g', 4).arg(g.clipped).arg(g.max_abs_error, 0, 'g', 4);
  else if (g.applicable)
    s += QString("; max |error| %1").arg(g.max_abs_error, 0, 'g', 4);
  stats_->setText(s);
}

}  // namespace precis::ui
