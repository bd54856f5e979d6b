// The CPU backend: host buffers, OpenBLAS for f32 matrix products, kernels/cpu for the rest,
// rows split across a ThreadPool. Tested by tests/kernels/test_backend_ops.cpp and every runtime test.
#pragma once
#include <memory>

#include "engine/backend/backend.h"

namespace precis {

// threads: 0 = all cores.
std::unique_ptr<Backend> createCpuBackend(int threads);

}  // namespace precis
