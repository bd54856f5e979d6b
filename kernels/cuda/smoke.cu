// A one-thread kernel the backend runs once when it is created, to find out early (with a clear
// message) whether this module's code can run on the device, e.g. "no kernel image is available".
// Tested by tests/kernels/test_cuda_probe.cpp on a GPU machine (creating a backend runs it).
#include "kernels/cuda/device_common.cuh"
#include "kernels/cuda/ops.cuh"

namespace precis::cuda {
namespace {
__global__ void smokeKernel(unsigned* word) { *word = 0x5eedu; }
}  // namespace

cudaError_t launchSmokeTest(cudaStream_t stream, unsigned* word) {
  smokeKernel<<<1, 1, 0, stream>>>(word);
  return cudaGetLastError();
}

}  // namespace precis::cuda
