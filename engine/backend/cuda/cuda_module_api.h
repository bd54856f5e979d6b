// The C entry points of the CUDA backend module (libprecis-cuda.so), for the registry that
// dlopens it (engine/backend/registry.cpp) and for tests/kernels/test_cuda_probe.cpp.
// The module is built by kernels/cuda/CMakeLists.txt (target precis_cuda) and exports only these
// symbols: four for the Backend, two for the TrainBackend (engine/train/train_backend.h). The Backend it creates is a C++ object whose vtable lives in the module: keep the
// module loaded (never dlclose) while any Backend or Buffer it made is alive.
#pragma once
#include <cstddef>

namespace precis {
class Backend;

// Bump whenever backend.h (the Backend/Buffer/TensorView layout) or these signatures change.
// 2: attention reads a paged KV cache (block table)
// 3: the quantization lab's low-precision ops (engine/backend/lowp_ops.h: matmulPacked,
//    quantizeActs, dequantizeActs, lowpGemm and their kernel-name queries)
// 4: training ops (precis_cuda_train_create / precis_cuda_train_destroy, engine/train/train_backend.h)
// 5: PackedActMode gains Fp8Token / Fp8Static (FP8 W8A8 in matmulPacked)
constexpr int kPrecisCudaAbiVersion = 5;

// Names of the exported symbols and their types, for dlsym.
inline constexpr const char* kPrecisCudaAbiVersionSymbol = "precis_cuda_abi_version";
inline constexpr const char* kPrecisCudaProbeSymbol = "precis_cuda_probe";
inline constexpr const char* kPrecisCudaCreateSymbol = "precis_cuda_create";
inline constexpr const char* kPrecisCudaDestroySymbol = "precis_cuda_destroy";
using PrecisCudaAbiVersionFn = int (*)();
using PrecisCudaProbeFn = int (*)(char* message, size_t message_size);
using PrecisCudaCreateFn = Backend* (*)(int device, char* error, size_t error_size);
using PrecisCudaDestroyFn = void (*)(Backend* backend);

class TrainBackend;
inline constexpr const char* kPrecisCudaTrainCreateSymbol = "precis_cuda_train_create";
inline constexpr const char* kPrecisCudaTrainDestroySymbol = "precis_cuda_train_destroy";
using PrecisCudaTrainCreateFn = TrainBackend* (*)(int device, int tf32, char* error, size_t error_size);
using PrecisCudaTrainDestroyFn = void (*)(TrainBackend* backend);
}  // namespace precis

#define PRECIS_CUDA_API __attribute__((visibility("default")))

extern "C" {
// Returns kPrecisCudaAbiVersion of the module.
PRECIS_CUDA_API int precis_cuda_abi_version();
// Returns the number of usable CUDA devices; <= 0 when there is none, with the reason in `message`
// ("no NVIDIA driver (cudaErrorInsufficientDriver)", "no CUDA device (cudaErrorNoDevice)", ...).
// When > 0, `message` lists the devices. Never crashes, whatever the machine.
PRECIS_CUDA_API int precis_cuda_probe(char* message, size_t message_size);
// Creates a backend on `device`; nullptr with the reason in `error` on failure.
PRECIS_CUDA_API precis::Backend* precis_cuda_create(int device, char* error, size_t error_size);
// Destroys a backend made by precis_cuda_create (nullptr is ignored).
PRECIS_CUDA_API void precis_cuda_destroy(precis::Backend* backend);
// Creates a training backend on `device` (tf32 != 0: cuBLAS may use TF32 tensor cores for the f32
// products); nullptr with the reason in `error` on failure. Defined in cuda_train_module.cpp.
PRECIS_CUDA_API precis::TrainBackend* precis_cuda_train_create(int device, int tf32, char* error,
                                                               size_t error_size);
// Destroys a training backend made by precis_cuda_train_create (nullptr is ignored).
PRECIS_CUDA_API void precis_cuda_train_destroy(precis::TrainBackend* backend);
}
