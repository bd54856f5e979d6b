// createTrainBackend (see train_backend.h): the CPU always; CUDA through the module's training
// entry point (engine/backend/cuda/cuda_module_api.h) when the module, the driver and a GPU are
// present. Tested by tests/train/test_train_backend_ops.cpp (on a machine without a GPU: "cuda" is
// an error that says why and "auto" falls back to the CPU with a note).
#include "engine/backend/cuda/cuda_module_api.h"
#include "engine/backend/registry.h"
#include "engine/train/train_backend.h"

namespace precis {

Result<std::unique_ptr<TrainBackend>> createTrainBackend(const std::string& name,
                                                         const TrainBackendOptions& o,
                                                         std::string* note) {
  if (note) note->clear();
  if (name == "cpu") return createCpuTrainBackend(o.threads);
  if (name != "cuda" && name != "auto")
    return makeError("unknown training backend '" + name + "' (expected cpu, cuda or auto)");
  std::string why;
  if (void* sym = cudaModuleSymbol(kPrecisCudaTrainCreateSymbol, &why)) {
    auto create = reinterpret_cast<PrecisCudaTrainCreateFn>(sym);
    char err[512] = {0};
    if (TrainBackend* b = create(o.device, o.tf32 ? 1 : 0, err, sizeof err))
      return std::unique_ptr<TrainBackend>(b);
    why = std::string("CUDA training backend could not be created: ") + err;
  }
  if (name == "cuda") return makeError("training backend 'cuda' unavailable: " + why);
  if (note) *note = "training on the CPU: " + why;
  return createCpuTrainBackend(o.threads);
}

}  // namespace precis
