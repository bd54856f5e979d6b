// Backend registry (see registry.h). The CUDA backend lives in a module (libprecis-cuda.so) that is
// dlopen'ed on demand, so Precis starts where the CUDA libraries, the driver or a GPU are missing.
// The module is opened with RTLD_NODELETE: backends it created stay valid for the process's life.
#include "engine/backend/registry.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "engine/backend/cpu/cpu_backend.h"
#include "engine/backend/cuda/cuda_module_api.h"

#ifndef PRECIS_CUDA_MODULE_BUILD_PATH
#define PRECIS_CUDA_MODULE_BUILD_PATH ""
#endif

namespace precis {
namespace {

constexpr const char* kModuleName = "libprecis-cuda.so";
using ProbeFn = PrecisCudaProbeFn;
using CreateFn = PrecisCudaCreateFn;
using AbiFn = PrecisCudaAbiVersionFn;

std::filesystem::path exeDir() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::path() : p.parent_path();
}

std::vector<std::string> moduleCandidates() {
  std::vector<std::string> c;
  if (const char* env = std::getenv("PRECIS_CUDA_MODULE"); env && *env) c.emplace_back(env);
  const auto dir = exeDir();
  if (!dir.empty()) {
    c.push_back((dir / ".." / "lib" / "precis" / kModuleName).string());
    c.push_back((dir / ".." / "lib" / kModuleName).string());
    c.push_back((dir / kModuleName).string());
  }
  if (*PRECIS_CUDA_MODULE_BUILD_PATH) c.emplace_back(PRECIS_CUDA_MODULE_BUILD_PATH);
  return c;
}

struct CudaModule {
  void* handle = nullptr;
  ProbeFn probe = nullptr;
  CreateFn create = nullptr;
  std::string path;
  std::string error;  // why it could not be used
};

CudaModule openCudaModule() {
  CudaModule m;
  std::string tried;
  for (const std::string& path : moduleCandidates()) {
    if (!std::filesystem::exists(path)) {
      tried += (tried.empty() ? "" : ", ") + path;
      continue;
    }
    void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (!h) {
      const char* err = dlerror();
      m.error = "CUDA module " + path + " could not be loaded: " + (err ? err : "unknown error") +
                " (are the CUDA runtime and cuBLAS libraries installed?)";
      return m;
    }
    auto abi = reinterpret_cast<AbiFn>(dlsym(h, kPrecisCudaAbiVersionSymbol));
    m.probe = reinterpret_cast<ProbeFn>(dlsym(h, kPrecisCudaProbeSymbol));
    m.create = reinterpret_cast<CreateFn>(dlsym(h, kPrecisCudaCreateSymbol));
    if (!abi || !m.probe || !m.create) {
      m.error = "CUDA module " + path + " lacks the precis_cuda_* entry points";
      m.probe = nullptr;
      return m;
    }
    if (abi() != kPrecisCudaAbiVersion) {
      m.error = "CUDA module " + path + " has ABI version " + std::to_string(abi()) + ", expected " +
                std::to_string(kPrecisCudaAbiVersion) + " (rebuild it with this Precis)";
      m.probe = nullptr;
      return m;
    }
    m.path = path;
    m.handle = h;
    return m;
  }
  m.error = "CUDA backend module not found (this build has no CUDA support, or " + std::string(kModuleName) +
            " is not installed; looked for " + (tried.empty() ? std::string("nothing") : tried) + ")";
  return m;
}

}  // namespace

std::vector<BackendProbe> probeBackends() {
  std::vector<BackendProbe> out;
  out.push_back({"cpu", true, ""});
  {
    auto cpu = createCpuBackend(1);
    out.back().detail = cpu->device().name;
  }
  BackendProbe cuda{"cuda", false, ""};
  CudaModule m = openCudaModule();
  if (!m.probe) {
    cuda.detail = m.error;
  } else {
    char msg[512] = {0};
    const int n = m.probe(msg, sizeof msg);
    cuda.available = n > 0;
    cuda.detail = msg;
  }
  out.push_back(cuda);
  return out;
}

void* cudaModuleSymbol(const char* name, std::string* why) {
  CudaModule m = openCudaModule();
  if (!m.probe) {
    *why = m.error;
    return nullptr;
  }
  char msg[512] = {0};
  if (m.probe(msg, sizeof msg) <= 0) {
    *why = std::string("CUDA unavailable: ") + msg;
    return nullptr;
  }
  void* sym = dlsym(m.handle, name);
  if (!sym) *why = "CUDA module " + m.path + " lacks the entry point " + name;
  return sym;
}

Result<std::unique_ptr<Backend>> createBackend(const std::string& name, const BackendOptions& options) {
  if (name == "cpu") return createCpuBackend(options.threads);
  if (name != "cuda" && name != "auto")
    return makeError("unknown backend '" + name + "' (expected cpu, cuda or auto)");
  CudaModule m = openCudaModule();
  std::string why = m.error;
  if (m.probe) {
    char msg[512] = {0};
    if (m.probe(msg, sizeof msg) > 0) {
      char err[512] = {0};
      Backend* b = m.create(options.device, err, sizeof err);
      if (b) return std::unique_ptr<Backend>(b);
      why = std::string("CUDA backend could not be created: ") + err;
    } else {
      why = std::string("CUDA unavailable: ") + msg;
    }
  }
  if (name == "cuda") return makeError("--backend cuda: " + why);
  return createCpuBackend(options.threads);
}

}  // namespace precis
