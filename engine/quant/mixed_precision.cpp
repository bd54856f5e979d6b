// Mixed precision under a bits budget (see mixed_precision.h).
// Tested by tests/quant/test_mixed_precision.cpp.
#include "engine/quant/mixed_precision.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/quant/quantize_model.h"
#include "kernels/common/dtype.h"

namespace precis {
namespace {

bool isAsym(WeightFormat f) { return f == WeightFormat::Int8Asym || f == WeightFormat::Int4Asym; }

struct Table {
  std::vector<std::vector<uint64_t>> bytes;  // [tensor][candidate]
  int64_t elements = 0;
};

Table tableOf(const std::vector<MixedTensor>& tensors, const std::vector<WeightSpec>& specs) {
  Table t;
  for (const MixedTensor& m : tensors) {
    t.elements += m.rows * m.cols;
    std::vector<uint64_t> row;
    for (const WeightSpec& s : specs) row.push_back(specBytes(s, m.rows, m.cols));
    t.bytes.push_back(std::move(row));
  }
  return t;
}

double bitsOf(uint64_t bytes, int64_t elements) { return elements ? 8.0 * double(bytes) / double(elements) : 0; }

}  // namespace

uint64_t specBytes(const WeightSpec& spec, int64_t rows, int64_t cols) {
  const uint64_t n = uint64_t(rows) * uint64_t(cols);
  const DType plain = plainDType(spec.format);
  if (plain != DType::Count) {
    const DTypeTraits& tr = dtypeTraits(plain);
    if (cols % tr.block_size != 0) return n * 4;  // kept in f32 (quantizeModel's rule)
    return rowBytes(plain, cols) * uint64_t(rows);
  }
  uint64_t scales = 1;
  if (spec.granularity == Granularity::Channel || (spec.granularity == Granularity::Group && cols % spec.group != 0))
    scales = uint64_t(rows);
  else if (spec.granularity == Granularity::Group)
    scales = n / uint64_t(spec.group);
  const uint64_t codes = formatCodeBits(spec.format) == 4 ? (n + 1) / 2 : n;
  return codes + scales * 4 + (isAsym(spec.format) ? scales : 0);
}

Result<MixedPlan> solveMixedPrecision(const std::vector<MixedTensor>& tensors, const std::vector<WeightSpec>& candidates,
                                      double budget_bits, int resolution) {
  if (tensors.empty() || candidates.empty()) return makeError("mixed precision: no tensors or no candidate formats");
  for (const MixedTensor& m : tensors)
    if (m.cost.size() != candidates.size())
      return makeError("mixed precision: tensor " + m.name + " has " + std::to_string(m.cost.size()) + " costs for " +
                       std::to_string(candidates.size()) + " candidates");
  const Table tb = tableOf(tensors, candidates);
  const size_t n = tensors.size(), k = candidates.size();
  const uint64_t budget = uint64_t(std::floor(budget_bits * double(tb.elements) / 8.0));
  auto fits = [&](uint64_t bytes) { return bitsOf(bytes, tb.elements) <= budget_bits; };
  uint64_t min_bytes = 0;
  for (size_t i = 0; i < n; ++i) min_bytes += *std::min_element(tb.bytes[i].begin(), tb.bytes[i].end());
  if (!fits(min_bytes))
    return makeError("mixed precision: the budget of " + std::to_string(budget_bits) +
                     " bits per weight is below the smallest the candidates allow (" +
                     std::to_string(bitsOf(min_bytes, tb.elements)) + ")");

  // DP over byte units rounded up: dp[u] = least cost of the first i tensors within u units.
  const uint64_t R = std::max<uint64_t>(1, (budget + uint64_t(resolution) - 1) / uint64_t(std::max(resolution, 1)));
  const size_t U = size_t(budget / R);
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> dp(U + 1, 0.0), next(U + 1);
  std::vector<std::vector<int8_t>> pick(n, std::vector<int8_t>(U + 1, -1));
  for (size_t i = 0; i < n; ++i) {
    std::fill(next.begin(), next.end(), inf);
    for (size_t j = 0; j < k; ++j) {
      const size_t units = size_t((tb.bytes[i][j] + R - 1) / R);
      for (size_t u = units; u <= U; ++u) {
        const double c = dp[u - units] + tensors[i].cost[j];
        if (c < next[u]) {
          next[u] = c;
          pick[i][u] = int8_t(j);
        }
      }
    }
    dp.swap(next);
  }
  MixedPlan plan;
  plan.choice.assign(n, 0);
  if (dp[U] < inf) {
    size_t u = U;
    for (size_t i = n; i-- > 0;) {
      const int j = pick[i][u];
      plan.choice[i] = j;
      u -= size_t((tb.bytes[i][size_t(j)] + R - 1) / R);
    }
  } else {  // rounding lost the only plans that fit: start from the smallest
    for (size_t i = 0; i < n; ++i)
      plan.choice[i] = int(std::min_element(tb.bytes[i].begin(), tb.bytes[i].end()) - tb.bytes[i].begin());
  }
  uint64_t bytes = 0;
  for (size_t i = 0; i < n; ++i) bytes += tb.bytes[i][size_t(plan.choice[i])];
  // Fill: spend what is left on moves to more bytes that never raise the cost, best cost drop per byte first.
  while (true) {
    double best_gain = -1;
    size_t bi = 0, bj = 0;
    for (size_t i = 0; i < n; ++i) {
      const size_t cur = size_t(plan.choice[i]);
      for (size_t j = 0; j < k; ++j) {
        if (tb.bytes[i][j] <= tb.bytes[i][cur] || !fits(bytes - tb.bytes[i][cur] + tb.bytes[i][j])) continue;
        const double drop = tensors[i].cost[cur] - tensors[i].cost[j];
        if (drop < 0) continue;
        const double gain = drop / double(tb.bytes[i][j] - tb.bytes[i][cur]);
        if (gain > best_gain) {
          best_gain = gain;
          bi = i;
          bj = j;
        }
      }
    }
    if (best_gain < 0) break;
    bytes = bytes - tb.bytes[bi][size_t(plan.choice[bi])] + tb.bytes[bi][bj];
    plan.choice[bi] = int(bj);
  }
  plan.bytes = bytes;
  plan.bits_per_weight = bitsOf(bytes, tb.elements);
  for (size_t i = 0; i < n; ++i) {
    plan.predicted_cost += tensors[i].cost[size_t(plan.choice[i])];
    OverrideRule o;
    o.pattern = tensors[i].name;
    o.spec = candidates[size_t(plan.choice[i])];
    plan.overrides.push_back(o);
  }
  if (!fits(plan.bytes)) return makeError("mixed precision: internal error, the plan exceeds the budget");
  return plan;
}

Result<UniformChoice> nearestUniform(const std::vector<MixedTensor>& tensors, const std::vector<WeightSpec>& specs,
                                     double budget_bits) {
  const Table tb = tableOf(tensors, specs);
  UniformChoice best;
  bool found = false;
  for (size_t j = 0; j < specs.size(); ++j) {
    uint64_t bytes = 0;
    for (size_t i = 0; i < tensors.size(); ++i) bytes += tb.bytes[i][j];
    const double bits = bitsOf(bytes, tb.elements);
    if (bits <= budget_bits && (!found || bits > best.bits_per_weight)) {
      best = {specs[j], bits};
      found = true;
    }
  }
  if (!found) return makeError("no uniform format fits " + std::to_string(budget_bits) + " bits per weight");
  return best;
}

std::vector<WeightSpec> defaultUniformSpecs() {
  std::vector<WeightSpec> v;
  for (WeightFormat f : {WeightFormat::Int4, WeightFormat::Int4Asym, WeightFormat::Nf4, WeightFormat::Int8, WeightFormat::Fp8E4M3}) {
    v.push_back({f, Granularity::Tensor, 0});
    v.push_back({f, Granularity::Channel, 0});
    for (int g : {16, 32, 64, 128, 256}) v.push_back({f, Granularity::Group, g});
  }
  for (WeightFormat f : {WeightFormat::Q4_0, WeightFormat::Q8_0, WeightFormat::F16}) v.push_back({f, Granularity::None, 0});
  return v;
}

}  // namespace precis
