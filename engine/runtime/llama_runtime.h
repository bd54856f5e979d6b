// LlamaRuntime: the Llama-family forward pass over a batch of tokens from many sequences of
// different lengths (each token has a sequence slot and a position), with a paged KV cache: per
// layer a pool of blocks of kv_block_size positions, handed to a slot as it writes positions and
// returned by releaseSlot() (engine/runtime/kv_block_table.h). Written once against the Backend
// interface, so it runs on every backend.
// Tested by tests/runtime/test_runtime.cpp (stories260K greedy ids, batched == single-sequence,
// HF fixture logits, GGUF round trip) and tests/runtime/test_paged_kv.cpp (paged logits
// bit-identical to the contiguous layout; exhaustion, release and reuse of blocks).
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/backend/backend.h"
#include "engine/core/result.h"
#include "engine/model/model.h"

namespace precis {

struct RuntimeOptions {
  int max_slots = 1;           // sequences that can be live at once (KV cache slots)
  int max_ctx = 0;             // positions per slot; 0 = the model's context length
  int max_batch_tokens = 512;  // tokens per forward call (activation buffers are sized for this)
  int kv_block_size = 16;      // positions per KV block (max_ctx or more: one contiguous block per slot)
  int kv_blocks = 0;           // blocks in the KV pool; 0 = enough for max_slots full contexts
};

struct KvCacheInfo {
  int block_size = 0;
  int blocks_total = 0;
  int blocks_used = 0;
  uint64_t bytes_total = 0;     // K and V of every layer, all blocks
  uint64_t bytes_per_block = 0; // K and V of every layer, one block
};

// One token of a batch. Tokens of one slot must have their earlier positions already in the
// cache (from earlier calls or earlier in this batch).
struct BatchToken {
  int32_t token = 0;
  int32_t pos = 0;
  int32_t slot = 0;
  bool logits = false;  // produce vocab logits for this token
};

struct KernelUse {
  std::string op;      // "matmul", "attention", ...
  std::string types;   // "q4_0 weights, f32 activations"
  std::string kernel;  // backend's kernelName()
};

class LlamaRuntime {
 public:
  // Uploads the model's weights to the backend (in their stored types). The model must outlive
  // nothing: weights are copied (or, on the CPU, referenced while `model` lives: keep it alive).
  static Result<std::unique_ptr<LlamaRuntime>> create(const Model& model, Backend& backend,
                                                      const RuntimeOptions& options = {});
  ~LlamaRuntime();

  // Runs the forward over `batch` (at most max_batch_tokens tokens; longer batches are split).
  // Writes vocab_size logits for each token with logits == true, in batch order, into `logits`
  // (host memory, size >= count * vocab_size). Each slot first gets the KV blocks covering its
  // positions; when the pool is short the call fails with an error saying so (nothing runs).
  Status forward(std::span<const BatchToken> batch, std::span<float> logits);

  // Returns the KV blocks of `slot` to the pool: its cached positions are gone.
  void releaseSlot(int slot);
  void releaseAllSlots();
  KvCacheInfo kvCache() const;
  // The block table of `slot` (block ids, in position order).
  const std::vector<int32_t>& kvBlocksOf(int slot) const;

  const LlamaConfig& config() const;
  const RuntimeOptions& options() const;
  Backend& backend();
  // The kernels and data types that actually run this model's ops on this backend.
  std::vector<KernelUse> kernelsUsed() const;
  // Bytes of weights resident on the backend.
  uint64_t weightBytes() const;

 private:
  struct Impl;
  explicit LlamaRuntime(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace precis
