// Scheme spellings (see scheme.h). Tested by tests/quant/test_scheme.cpp.
#include "engine/quant/scheme.h"

#include <algorithm>
#include <cctype>

namespace precis {
namespace {

struct FormatRow {
  WeightFormat f;
  const char* name;
  int bits;
  bool granular;
};
constexpr FormatRow kFormats[] = {
    {WeightFormat::F32, "fp32", 32, false},       {WeightFormat::F16, "fp16", 16, false},
    {WeightFormat::BF16, "bf16", 16, false},      {WeightFormat::Fp8E4M3, "fp8-e4m3", 8, true},
    {WeightFormat::Fp8E5M2, "fp8-e5m2", 8, true}, {WeightFormat::Int8, "int8", 8, true},
    {WeightFormat::Int8Asym, "int8-asym", 8, true}, {WeightFormat::Int4, "int4", 4, true},
    {WeightFormat::Int4Asym, "int4-asym", 4, true}, {WeightFormat::Nf4, "nf4", 4, true},
    {WeightFormat::Q8_0, "q8_0", 8, false},       {WeightFormat::Q4_0, "q4_0", 4, false},
};
static_assert(sizeof(kFormats) / sizeof(kFormats[0]) == size_t(WeightFormat::Count));

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return s;
}

std::string formatList() {
  std::string s;
  for (const FormatRow& r : kFormats) s += (s.empty() ? "" : ", ") + std::string(r.name);
  return s;
}

}  // namespace

const char* weightFormatName(WeightFormat f) { return kFormats[size_t(f)].name; }
bool formatHasGranularity(WeightFormat f) { return kFormats[size_t(f)].granular; }
int formatCodeBits(WeightFormat f) { return kFormats[size_t(f)].bits; }

Result<WeightFormat> parseWeightFormat(const std::string& s) {
  std::string l = lower(s);
  if (l == "f32") l = "fp32";
  if (l == "f16") l = "fp16";
  if (l == "fp8" || l == "e4m3") l = "fp8-e4m3";
  if (l == "e5m2") l = "fp8-e5m2";
  if (l == "int4-sym") l = "int4";
  if (l == "int8-sym") l = "int8";
  for (const FormatRow& r : kFormats)
    if (l == r.name) return r.f;
  return makeError("weight format '" + s + "' is not one of " + formatList());
}

Result<WeightSpec> parseGranularity(const std::string& s, WeightFormat f) {
  WeightSpec w;
  w.format = f;
  if (!formatHasGranularity(f)) {
    w.granularity = Granularity::None;
    return w;
  }
  const std::string l = lower(s);
  if (l == "tensor") {
    w.granularity = Granularity::Tensor;
  } else if (l == "channel" || l == "row") {
    w.granularity = Granularity::Channel;
  } else if (l.rfind("group:", 0) == 0) {
    const std::string n = l.substr(6);
    int g = 0;
    try {
      size_t pos = 0;
      g = std::stoi(n, &pos);
      if (pos != n.size()) g = 0;
    } catch (...) {
      g = 0;
    }
    if (g < 16 || g > 256 || (g & (g - 1)) != 0)
      return makeError("granularity '" + s + "': the group size must be a power of two from 16 to 256");
    w.granularity = Granularity::Group;
    w.group = g;
  } else {
    return makeError("granularity '" + s + "' is not one of tensor, channel, group:N");
  }
  return w;
}

std::string granularityName(const WeightSpec& w) {
  switch (w.granularity) {
    case Granularity::None: return "-";
    case Granularity::Tensor: return "tensor";
    case Granularity::Channel: return "channel";
    case Granularity::Group: return "group:" + std::to_string(w.group);
  }
  return "?";
}

std::string weightSpecName(const WeightSpec& w) {
  std::string s = weightFormatName(w.format);
  if (w.granularity != Granularity::None) s += " " + granularityName(w);
  return s;
}

Result<ActFormat> parseActFormat(const std::string& s) {
  const std::string l = lower(s);
  if (l == "none" || l == "f32" || l == "fp32" || l == "float") return ActFormat::None;
  if (l == "int8") return ActFormat::Int8;
  if (l == "fp8-e4m3" || l == "fp8" || l == "e4m3") return ActFormat::Fp8E4M3;
  return makeError("activations '" + s + "' is not one of none, int8, fp8-e4m3");
}

const char* actFormatName(ActFormat a) {
  switch (a) {
    case ActFormat::None: return "none";
    case ActFormat::Int8: return "int8";
    case ActFormat::Fp8E4M3: return "fp8-e4m3";
  }
  return "?";
}

Result<ActGranularity> parseActGranularity(const std::string& s) {
  const std::string l = lower(s);
  if (l == "tensor" || l == "static") return ActGranularity::Tensor;
  if (l == "token" || l == "dynamic") return ActGranularity::Token;
  return makeError("activation granularity '" + s + "' is not one of tensor, token");
}

const char* actGranularityName(ActGranularity g) { return g == ActGranularity::Tensor ? "tensor" : "token"; }

Result<Calibration> parseCalibration(const std::string& s) {
  const std::string l = lower(s);
  Calibration c;
  if (l == "max") return c;
  if (l == "mse") {
    c.method = CalibMethod::Mse;
    return c;
  }
  if (l.rfind("percentile:", 0) == 0) {
    const std::string n = l.substr(11);
    double p = -1;
    try {
      size_t pos = 0;
      p = std::stod(n, &pos);
      if (pos != n.size()) p = -1;
    } catch (...) {
      p = -1;
    }
    if (!(p > 50 && p <= 100)) return makeError("calibration '" + s + "': P must be in (50, 100]");
    c.method = CalibMethod::Percentile;
    c.percentile = p;
    return c;
  }
  return makeError("calibration '" + s + "' is not one of max, percentile:P, mse");
}

std::string calibrationName(const Calibration& c) {
  switch (c.method) {
    case CalibMethod::Max: return "max";
    case CalibMethod::Mse: return "mse";
    case CalibMethod::Percentile: {
      std::string p = std::to_string(c.percentile);
      while (p.size() > 1 && p.back() == '0') p.pop_back();
      if (p.back() == '.') p.pop_back();
      return "percentile:" + p;
    }
  }
  return "?";
}

Result<OverrideRule> parseOverride(const std::string& s) {
  const size_t eq = s.rfind('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == s.size())
    return makeError("override '" + s + "' is not PATTERN=keep or PATTERN=FORMAT[@GRANULARITY]");
  OverrideRule r;
  r.pattern = s.substr(0, eq);
  const std::string v = s.substr(eq + 1);
  if (lower(v) == "keep") {
    r.keep = true;
    return r;
  }
  const size_t at = v.find('@');
  Result<WeightFormat> f = parseWeightFormat(v.substr(0, at));
  if (!f) return makeError("override '" + s + "': " + f.error().message);
  Result<WeightSpec> w = parseGranularity(at == std::string::npos ? "channel" : v.substr(at + 1), *f);
  if (!w) return makeError("override '" + s + "': " + w.error().message);
  r.spec = *w;
  return r;
}

bool globMatch(const std::string& p, const std::string& s) {
  size_t pi = 0, si = 0, star = std::string::npos, mark = 0;
  while (si < s.size()) {
    if (pi < p.size() && (p[pi] == '?' || p[pi] == s[si])) {
      ++pi;
      ++si;
    } else if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = si;
    } else if (star != std::string::npos) {
      pi = star + 1;
      si = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

}  // namespace precis
