// Deterministic random-weight Llama models, streamed to GGUF or built in memory (see presets.h).
// The generator is our own (splitmix64 + Box-Muller) so values do not depend on the standard
// library's distributions. Tested by tests/model/test_presets.cpp.
#include <cmath>
#include <cstring>
#include <vector>

#include <unistd.h>

#include "engine/model/gguf_writer.h"
#include "engine/model/presets.h"

namespace precis {
namespace {

constexpr double kStd = 0.02;

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char ch : s) h = (h ^ ch) * 0x100000001b3ull;
  return h;
}

class NormalStream {
 public:
  NormalStream(const std::string& name, uint64_t seed) : state_(seed ^ fnv1a(name)) { splitmix64(state_); }
  float next() {
    if (has_spare_) {
      has_spare_ = false;
      return float(spare_ * kStd);
    }
    const double u1 = (double(splitmix64(state_) >> 11) + 1.0) * 0x1.0p-53;  // (0, 1]
    const double u2 = double(splitmix64(state_) >> 11) * 0x1.0p-53;          // [0, 1)
    const double r = std::sqrt(-2.0 * std::log(u1));
    const double a = 6.283185307179586 * u2;
    spare_ = r * std::sin(a);
    has_spare_ = true;
    return float(r * std::cos(a) * kStd);
  }

 private:
  uint64_t state_;
  bool has_spare_ = false;
  double spare_ = 0.0;
};

bool isNorm(const GgufTensorSpec& s) { return s.shape.size() == 1; }

int64_t elements(const GgufTensorSpec& s) {
  int64_t n = 1;
  for (int64_t d : s.shape) n *= d;
  return n;
}

}  // namespace

void fillRandomNormal(const std::string& name, uint64_t seed, float* out, int64_t n) {
  NormalStream g(name, seed);
  for (int64_t i = 0; i < n; ++i) out[i] = g.next();
}

Status writeRandomModelGguf(const LlamaConfig& config, uint64_t seed, const std::string& path,
                            std::function<bool(double)> progress) {
  if (Status s = config.validate(); !s) return makeError(path + ": " + s.error().message);
  const std::vector<GgufTensorSpec> specs = canonicalTensorSpecs(config);
  const GgufKv kv = ggufLlamaMetadata(config, "random-seed-" + std::to_string(seed), nullptr);
  std::vector<float> chunk(1 << 16);
  return writeGgufStream(path, kv, specs, [&](size_t k, GgufDataSink& sink) -> Status {
    const GgufTensorSpec& s = specs[k];
    const int64_t n = elements(s);
    NormalStream g(s.name, seed);
    for (int64_t done = 0; done < n;) {
      const int64_t m = std::min<int64_t>(n - done, int64_t(chunk.size()));
      for (int64_t i = 0; i < m; ++i) chunk[size_t(i)] = isNorm(s) ? 1.0f : g.next();
      if (Status st = sink.write(chunk.data(), size_t(m) * 4); !st) return st;
      done += m;
    }
    return {};
  }, progress ? GgufProgress(progress) : GgufProgress());
}

Result<Model> makeRandomModel(const LlamaConfig& config, uint64_t seed) {
  if (Status s = config.validate(); !s) return makeError("random model: " + s.error().message);
  // f32 weights in memory: refuse what would take more than half of this machine's RAM.
  const double need = double(config.parameterCount()) * 4.0;
  const double ram = double(sysconf(_SC_PHYS_PAGES)) * double(sysconf(_SC_PAGE_SIZE));
  if (ram > 0 && need > ram / 2)
    return makeError("random model: " + std::to_string(config.parameterCount()) + " parameters (" +
                     std::to_string(int64_t(need / (1 << 20))) + " MiB as f32) is more than half of this machine's " +
                     std::to_string(int64_t(ram / (1 << 20))) + " MiB; use writeRandomModelGguf");
  Model m;
  m.config = config;
  m.path = "random-seed-" + std::to_string(seed);
  m.format = "random";
  m.metadata["general.name"] = m.path;
  for (const GgufTensorSpec& s : canonicalTensorSpecs(config)) {
    const int64_t n = elements(s);
    auto buf = std::make_shared<std::vector<float>>(size_t(n), 1.0f);
    if (!isNorm(s)) fillRandomNormal(s.name, seed, buf->data(), n);
    WeightTensor t;
    t.name = s.name;
    t.type = DType::F32;
    t.shape = s.shape;
    t.data = reinterpret_cast<const std::byte*>(buf->data());
    t.bytes = size_t(n) * 4;
    t.owner = std::shared_ptr<const void>(buf, buf->data());
    m.tensors.push_back(std::move(t));
  }
  if (Status s = m.validate(); !s) return s.error();
  return m;
}

}  // namespace precis
