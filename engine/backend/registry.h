// Backend registry: finds what can run here (the CPU always; CUDA when its module, the driver and
// a GPU are all present) and creates backends by name. Tested by tests/runtime/test_registry.cpp.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "engine/backend/backend.h"
#include "engine/core/result.h"

namespace precis {

struct BackendOptions {
  int threads = 0;  // CPU threads; 0 = all cores
  int device = 0;   // CUDA device index
};

struct BackendProbe {
  std::string name;    // "cpu", "cuda"
  bool available = false;
  std::string detail;  // device name when available, otherwise why not
};

// Probes every backend (loads the CUDA module if it can; makes no further CUDA calls after a failure).
std::vector<BackendProbe> probeBackends();
// The address of the CUDA module's exported symbol `name` when the module loads, has this ABI
// version and finds a GPU; nullptr with the reason in *why otherwise. For entry points beside the
// Backend's (the training backend: engine/train/train_backend_registry.cpp).
void* cudaModuleSymbol(const char* name, std::string* why);
// "auto" picks cuda when available, else cpu. "cuda" when unavailable is an error that says why.
Result<std::unique_ptr<Backend>> createBackend(const std::string& name, const BackendOptions& options = {});

}  // namespace precis
