// What the CUDA module's two backends (CudaBackend, engine/backend/cuda/cuda_backend.h, and
// CudaTrainBackend, cuda_train_backend.h) share: the words for a CUDA error, a device buffer that
// frees itself, opening a device (checks, one stream, one cuBLAS handle on it), and the
// first-error-wins failure state (CudaErrorLatch). Header-only, used by module code only.
// Tested through tests/kernels/test_cuda_probe.cpp (creation; the no-driver path runs everywhere),
// tests/kernels/test_backend_ops.cpp and tests/train/test_train_backend_ops.cpp (GPU machines).
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <cstdio>
#include <string>

#include "engine/backend/backend.h"

namespace precis::cuda_common {

// "cudaErrorNoDevice: no CUDA-capable device is detected"
inline std::string cudaReason(cudaError_t e) {
  return std::string(cudaGetErrorName(e)) + ": " + cudaGetErrorString(e);
}

// Device memory owned by a Buffer; freed (after the device is done with it) on destruction.
class DeviceBuffer final : public Buffer {
 public:
  DeviceBuffer(void* ptr, size_t bytes) : ptr_(ptr), bytes_(bytes) {}
  ~DeviceBuffer() override {
    if (ptr_) cudaFree(ptr_);  // synchronizes with the device before the memory is released
  }
  void* data() override { return ptr_; }
  size_t size() const override { return bytes_; }

 private:
  void* ptr_;
  size_t bytes_;
};

// Checks that `device` exists, makes it current, creates a stream and a cuBLAS handle bound to it
// with `math`. Returns "" or what failed ("cudaStreamCreate failed on device 0 (...)"); on failure
// *blas is nullptr unless it was created (the caller's destructor releases what was made).
inline std::string openDevice(int device, cublasMath_t math, cudaStream_t* stream,
                              cublasHandle_t* blas) {
  int count = 0;  // left unwritten when there is no driver
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) return "cudaGetDeviceCount failed (" + cudaReason(e) + ")";
  if (device < 0 || device >= count)
    return "CUDA device " + std::to_string(device) + " does not exist (" + std::to_string(count) +
           " device(s))";
  auto failed = [&](const char* what, const std::string& reason) {
    return std::string(what) + " failed on device " + std::to_string(device) + " (" + reason + ")";
  };
  if ((e = cudaSetDevice(device)) != cudaSuccess) return failed("cudaSetDevice", cudaReason(e));
  if ((e = cudaStreamCreate(stream)) != cudaSuccess)
    return failed("cudaStreamCreate", cudaReason(e));
  cublasStatus_t s = cublasCreate(blas);
  if (s != CUBLAS_STATUS_SUCCESS) {
    *blas = nullptr;
    return failed("cublasCreate", cublasGetStatusName(s));
  }
  if ((s = cublasSetStream(*blas, *stream)) != CUBLAS_STATUS_SUCCESS)
    return failed("cublasSetStream", cublasGetStatusName(s));
  if ((s = cublasSetMathMode(*blas, math)) != CUBLAS_STATUS_SUCCESS)
    return failed("cublasSetMathMode", cublasGetStatusName(s));
  return "";
}

// The failure state of a backend: the first failed CUDA/cuBLAS call or bad argument is recorded as
// "<op>: <message>" (lastError) and printed to stderr with `log_prefix`; from then on begin()
// returns false, so every later op does nothing (the first error is the cause, later ones echoes).
class CudaErrorLatch {
 protected:
  CudaErrorLatch(int device, const char* log_prefix) : device_(device), log_prefix_(log_prefix) {}

  void fail(const char* op, const std::string& message) {
    const std::string full = std::string(op) + ": " + message;
    std::fprintf(stderr, "%s: %s\n", log_prefix_, full.c_str());
    if (!failed_) last_error_ = full;
    failed_ = true;
  }
  // False (the op must return) once failed; otherwise makes device_ current.
  bool begin(const char* op) {
    if (failed_) return false;
    return check(cudaSetDevice(device_), op, "cudaSetDevice");
  }
  // Each returns true on success; on failure records "<op>: <what> failed (<reason>)" and fails.
  bool check(cudaError_t e, const char* op, const char* what) {
    if (e == cudaSuccess) return true;
    fail(op, std::string(what) + " failed (" + cudaReason(e) + ")");
    return false;
  }
  bool checkBlas(cublasStatus_t s, const char* op, const char* what) {
    if (s == CUBLAS_STATUS_SUCCESS) return true;
    fail(op, std::string(what) + " failed (" + cublasGetStatusName(s) + ": " +
                 cublasGetStatusString(s) + ")");
    return false;
  }

  int device_ = 0;
  bool failed_ = false;
  std::string last_error_;

 private:
  const char* log_prefix_;
};

}  // namespace precis::cuda_common
