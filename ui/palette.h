// Light and dark palettes for the workbench (Fusion style, contrast chosen for readability;
// charts follow with ChartWidget::setDark). Checked visually in docs/screenshots.
#pragma once

class QApplication;

namespace precis::ui {

void applyPalette(QApplication& app, bool dark);

}  // namespace precis::ui
