// The four C entry points of libprecis-cuda.so (see cuda_module_api.h): ABI version, probe,
// create, destroy. Nothing else is exported (the target builds with hidden visibility).
// No C++ exception crosses these functions. The probe makes no CUDA call after a failed one.
// Tested by tests/kernels/test_cuda_probe.cpp (dlopen of the built module; runs on every machine).
#include <cstdio>
#include <exception>
#include <string>

#include <cuda_runtime_api.h>

#include "engine/backend/cuda/cuda_backend.h"
#include "engine/backend/cuda/cuda_module_api.h"

#define PRECIS_CUDA_EXPORT extern "C" PRECIS_CUDA_API

namespace precis {
namespace {

void writeMessage(char* buf, size_t size, const std::string& text) {
  if (!buf || size == 0) return;
  std::snprintf(buf, size, "%s", text.c_str());
}

std::string gib(size_t bytes) {
  char s[32];
  std::snprintf(s, sizeof s, "%.1f GiB", double(bytes) / double(1ull << 30));
  return s;
}

// Number of usable devices (<= 0 when none) and a message saying which, or why not.
int probeDevices(std::string* message) {
  int count = 0;  // cudaGetDeviceCount leaves it unwritten without a driver
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e == cudaErrorInsufficientDriver) {
    *message = "no NVIDIA driver (cudaErrorInsufficientDriver: the driver is missing or older than "
               "the CUDA runtime)";
    return 0;
  }
  if (e == cudaErrorNoDevice) {
    *message = "no CUDA device (cudaErrorNoDevice)";
    return 0;
  }
  if (e != cudaSuccess) {
    *message = std::string("CUDA unusable (") + cudaGetErrorName(e) + ": " + cudaGetErrorString(e) + ")";
    return -1;
  }
  if (count <= 0) {
    *message = "no CUDA device";
    return 0;
  }
  std::string list;
  for (int d = 0; d < count; ++d) {
    cudaDeviceProp prop{};
    const cudaError_t pe = cudaGetDeviceProperties(&prop, d);
    if (pe != cudaSuccess) {
      *message = "cudaGetDeviceProperties(" + std::to_string(d) + ") failed (" + cudaGetErrorName(pe) + ")";
      return -1;
    }
    list += (d ? "; " : "") + std::to_string(d) + ": " + prop.name + " (sm_" +
            std::to_string(prop.major) + std::to_string(prop.minor) + ", " + gib(prop.totalGlobalMem) + ")";
  }
  *message = list;
  return count;
}

}  // namespace
}  // namespace precis

PRECIS_CUDA_EXPORT int precis_cuda_abi_version() { return precis::kPrecisCudaAbiVersion; }

PRECIS_CUDA_EXPORT int precis_cuda_probe(char* message, size_t message_size) {
  try {
    std::string text;
    const int n = precis::probeDevices(&text);
    precis::writeMessage(message, message_size, text);
    return n;
  } catch (const std::exception& ex) {
    precis::writeMessage(message, message_size, std::string("CUDA probe failed: ") + ex.what());
    return -1;
  }
}

PRECIS_CUDA_EXPORT precis::Backend* precis_cuda_create(int device, char* error, size_t error_size) {
  try {
    std::string why;
    std::unique_ptr<precis::CudaBackend> b = precis::CudaBackend::create(device, &why);
    if (!b) {
      precis::writeMessage(error, error_size, why.empty() ? "unknown error" : why);
      return nullptr;
    }
    precis::writeMessage(error, error_size, "");
    return b.release();
  } catch (const std::exception& ex) {
    precis::writeMessage(error, error_size, std::string("CUDA backend creation failed: ") + ex.what());
    return nullptr;
  }
}

PRECIS_CUDA_EXPORT void precis_cuda_destroy(precis::Backend* backend) { delete backend; }
