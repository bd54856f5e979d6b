// Model loading with format autodetection: GGUF, a Hugging Face directory (config.json +
// model.safetensors or a sharded index), or a legacy llama2.c version-0 checkpoint.
// Every loader rejects truncated or inconsistent files with a message that starts with the path.
// Tested by tests/model/test_loaders.cpp, test_loader_reject.cpp, test_hf_loader.cpp.
#pragma once
#include <functional>
#include <string>

#include "engine/core/result.h"
#include "engine/model/file_bytes.h"
#include "engine/model/model.h"

namespace precis {

struct LoadOptions {
  // llama2.c tokenizer.bin to attach (llama2.c checkpoints). When empty, a tokenizer.bin next to
  // the model is used if its vocabulary size matches.
  std::string tokenizer_path;
  // Accept NaN/Inf weights; a warning naming the tensor is recorded in Model::metadata["warnings"].
  bool allow_nonfinite = false;
  // Called after each tensor's weights are read and checked (the finiteness scan that touches every
  // byte, in finishModel) with (tensors done, total); returning false stops the load with an error
  // "PATH: loading cancelled after tensor K of N" and nothing of the model is kept. GGUF, llama2.c
  // and Hugging Face files; empty: not called.
  std::function<bool(int done, int total)> progress;
};

// "gguf" (magic "GGUF" or a .gguf name), "precis-quant" (a .safetensors file whose metadata holds a
// Precis quantization config), "safetensors" (a Hugging Face directory, its config.json or a .safetensors file in it),
// "llama2c" (anything else that is a regular file), or "" when the path cannot be read.
std::string detectFormat(const std::string& path);

// Loads a model of any supported format (see detectFormat).
Result<Model> loadModel(const std::string& path, const LoadOptions& options = {});

// Per-format entry points. The *Bytes variants parse an in-memory image (fuzzing, tests);
// tensors reference `bytes` and keep its owner alive.
Result<Model> loadLlama2c(const std::string& path, const LoadOptions& options = {});
Result<Model> loadLlama2cBytes(const FileBytes& bytes, const LoadOptions& options = {});
Result<Model> loadGguf(const std::string& path, const LoadOptions& options = {});
Result<Model> loadGgufBytes(const FileBytes& bytes, const LoadOptions& options = {});
// `path`: the directory, its config.json, or a .safetensors file inside it.
Result<Model> loadHuggingFace(const std::string& path, const LoadOptions& options = {});
// A .safetensors file written by `precis-cli quantize` (engine/quant/quant_io_read.cpp).
Result<Model> loadPrecisQuant(const std::string& path, const LoadOptions& options = {});

}  // namespace precis
