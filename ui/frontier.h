// The Quantize panel's frontier: which runs are Pareto-optimal for quality (mean KL, lower is
// better) against either size (bits per weight, lower is better) or measured speed (tokens/s of
// the quantized model, higher is better). Plain C++, no Qt.
// Tested by tests/ui/test_frontier.cpp (hand-built points, ties and duplicates; the panel's points
// and marked set for real runs).
#pragma once
#include <vector>

namespace precis::ui {

enum class FrontierAxis { BitsPerWeight, TokensPerSecond };

struct FrontierPoint {
  double x = 0;   // bits per weight or tokens/s, per the axis
  double kl = 0;  // mean KL to the reference (nats)
};

// Indices of the points no other point dominates, ascending by x. A point is dominated when another
// has KL <= its KL and an x at least as good (<= for bits per weight, >= for tokens/s), better in
// at least one of the two. Identical points are all kept.
std::vector<int> paretoFront(const std::vector<FrontierPoint>& points, FrontierAxis axis);

}  // namespace precis::ui
