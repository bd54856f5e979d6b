// The CPU backend: host buffers, OpenBLAS for f32 matrix products, kernels/cpu for the rest,
// rows split across a ThreadPool. Tested by tests/kernels/test_backend_ops.cpp and every runtime test.
#pragma once
#include <memory>

#include "engine/backend/backend.h"

namespace precis {

class ThreadPool;

// threads: 0 = all cores.
std::unique_ptr<Backend> createCpuBackend(int threads);

// The thread pool of a backend made by createCpuBackend (null for any other backend), so that a
// decorator running its own CPU kernels (engine/quant/packed_backend.h) shares the same workers
// instead of starting a second pool that would fight it for the cores.
ThreadPool* cpuBackendThreadPool(Backend& backend);

}  // namespace precis
