// Helpers shared by the TrainBackend suites (test_train_backend_ops, test_device_train_graph): the
// list of backends available here (the CPU always; CUDA when createTrainBackend("cuda") works,
// otherwise the reason, which fails the suite when PRECIS_REQUIRE_CUDA=1), device arrays, and a
// tolerance check that reports the worst error as a fraction of its budget
// |got - ref| <= atol + rtol |ref|.
#pragma once
#include <QtTest>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine/train/train_backend.h"

namespace precis::test {

struct AvailableBackends {
  std::vector<std::unique_ptr<TrainBackend>> list;  // cpu first
  std::string cuda_missing;                         // why CUDA is not in the list ("" when it is)
};

inline AvailableBackends availableTrainBackends() {
  AvailableBackends a;
  a.list.push_back(createCpuTrainBackend(2));
  Result<std::unique_ptr<TrainBackend>> cuda = createTrainBackend("cuda", {});
  if (cuda)
    a.list.push_back(std::move(*cuda));
  else
    a.cuda_missing = cuda.error().message;
  return a;
}

inline bool cudaRequired() {
  const char* e = std::getenv("PRECIS_REQUIRE_CUDA");
  return e && std::string(e) == "1";
}

struct DevArray {
  std::unique_ptr<Buffer> buf;
  float* f() const { return static_cast<float*>(buf->data()); }
  int32_t* i() const { return static_cast<int32_t*>(buf->data()); }
};
inline DevArray put(TrainBackend& be, const std::vector<float>& v) {
  DevArray d{be.alloc(v.size() * sizeof(float))};
  if (d.buf) be.upload(d.buf->data(), v.data(), v.size() * sizeof(float));
  return d;
}
inline DevArray putI(TrainBackend& be, const std::vector<int32_t>& v) {
  DevArray d{be.alloc(v.size() * sizeof(int32_t))};
  if (d.buf) be.upload(d.buf->data(), v.data(), v.size() * sizeof(int32_t));
  return d;
}
inline std::vector<float> get(TrainBackend& be, const DevArray& d, size_t n) {
  std::vector<float> v(n);
  be.download(v.data(), d.buf->data(), n * sizeof(float));
  return v;
}

inline std::vector<float> uniform(std::mt19937& rng, size_t n, float lo, float hi) {
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = u(rng);
  return v;
}

// Worst |got - ref| / (atol + rtol |ref|) over the elements (inf on a size mismatch or NaN).
inline double worstFraction(const std::vector<float>& got, const std::vector<float>& ref,
                            double atol, double rtol, size_t* where = nullptr) {
  if (got.size() != ref.size()) return INFINITY;
  double worst = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double err = std::fabs(double(got[i]) - double(ref[i]));
    const double budget = atol + rtol * std::fabs(double(ref[i]));
    const double f =
        std::isnan(err) ? INFINITY : (budget > 0 ? err / budget : (err > 0 ? INFINITY : 0.0));
    if (f > worst) {
      worst = f;
      if (where) *where = i;
    }
  }
  return worst;
}

}  // namespace precis::test
