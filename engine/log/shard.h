// Sharding a grid across machines: which slice I of N this process runs. From `--shard I/N`, else
// a Slurm job array (SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN of SLURM_ARRAY_TASK_COUNT), else a
// Kubernetes Indexed Job (JOB_COMPLETION_INDEX, with the count from --shard-count or
// PRECIS_SHARD_COUNT, since Kubernetes does not export it), else the whole grid (0 of 1).
// Items are dealt round-robin (item i belongs to shard i % N), so neighbouring grid points, which
// often cost alike, spread evenly. Tested by tests/log/test_policy_shard.cpp.
#pragma once
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "engine/core/result.h"

namespace precis {

struct Shard {
  int index = 0;
  int count = 1;
  std::string source = "none";  // "--shard", "slurm", "kubernetes", "none"
  bool contains(size_t item) const { return static_cast<int>(item % static_cast<size_t>(count)) == index; }
};

// flag: "I/N" or ""; count_flag: the --shard-count value or 0. `getenv` is injectable for tests.
Result<Shard> resolveShard(const std::string& flag, int count_flag,
                           const std::function<const char*(const char*)>& getenv);
// The items of 0..n-1 that belong to `shard`, in order.
std::vector<size_t> shardItems(size_t n, const Shard& shard);

}  // namespace precis
