// The training entry points of libprecis-cuda.so (see cuda_module_api.h): create and destroy a
// CudaTrainBackend. No C++ exception crosses these functions.
// Tested by tests/train/test_train_backend_ops.cpp (through createTrainBackend; without a GPU the
// registry stops at the probe and reports why).
#include <cstdio>
#include <exception>
#include <string>

#include "engine/backend/cuda/cuda_module_api.h"
#include "engine/backend/cuda/cuda_train_backend.h"

#define PRECIS_CUDA_EXPORT extern "C" PRECIS_CUDA_API

namespace {
void writeTrainMessage(char* buf, size_t size, const std::string& text) {
  if (buf && size) std::snprintf(buf, size, "%s", text.c_str());
}
}  // namespace

PRECIS_CUDA_EXPORT precis::TrainBackend* precis_cuda_train_create(int device, int tf32, char* error,
                                                                  size_t error_size) {
  try {
    std::string why;
    std::unique_ptr<precis::CudaTrainBackend> b =
        precis::CudaTrainBackend::create(device, tf32 != 0, &why);
    if (!b) {
      writeTrainMessage(error, error_size, why.empty() ? "unknown error" : why);
      return nullptr;
    }
    writeTrainMessage(error, error_size, "");
    return b.release();
  } catch (const std::exception& ex) {
    writeTrainMessage(error, error_size,
                      std::string("CUDA training backend creation failed: ") + ex.what());
    return nullptr;
  }
}

PRECIS_CUDA_EXPORT void precis_cuda_train_destroy(precis::TrainBackend* backend) {
  delete backend;
}
