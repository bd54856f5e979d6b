// Format autodetection and the loadModel entry point (see loader.h).
// Tested by tests/model/test_loaders.cpp.
#include "engine/model/loader.h"

#include <filesystem>
#include <fstream>

#include "engine/quant/quant_io.h"  // isPrecisQuantFile: files written by precis-cli quantize

namespace precis {
namespace fs = std::filesystem;

std::string detectFormat(const std::string& path) {
  std::error_code ec;
  const fs::path p = path;
  if (fs::is_directory(p, ec)) return fs::exists(p / "config.json", ec) ? "safetensors" : "";
  if (!fs::is_regular_file(p, ec)) return "";
  if (p.extension() == ".safetensors" && isPrecisQuantFile(path)) return "precis-quant";
  if (p.filename() == "config.json" || p.extension() == ".safetensors") {
    if (fs::exists(p.parent_path().empty() ? fs::path("config.json") : p.parent_path() / "config.json", ec))
      return "safetensors";
  }
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  if (!in.read(magic, 4)) return p.extension() == ".gguf" ? "gguf" : "llama2c";  // too short: the llama2.c loader says it is truncated
  // A .gguf name goes to the GGUF reader even with a damaged magic, so the error says so.
  if (std::string(magic, 4) == "GGUF" || p.extension() == ".gguf") return "gguf";
  return "llama2c";
}

Result<Model> loadModel(const std::string& path, const LoadOptions& options) {
  const std::string format = detectFormat(path);
  if (format.empty()) {
    std::error_code ec;
    if (!fs::exists(path, ec)) return makeError(path + ": no such file or directory");
    return makeError(path + ": not a model file, nor a directory with config.json");
  }
  if (format == "gguf") return loadGguf(path, options);
  if (format == "precis-quant") return loadPrecisQuant(path, options);
  if (format == "safetensors") return loadHuggingFace(path, options);
  return loadLlama2c(path, options);
}

}  // namespace precis
