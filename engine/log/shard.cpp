// Shard resolution (see shard.h). Tested by tests/log/test_policy_shard.cpp.
#include "engine/log/shard.h"

#include <cstdlib>

namespace precis {

namespace {

bool parseNonNegative(const char* text, long long* out) {
  if (!text || !*text) return false;
  char* end = nullptr;
  const long long v = std::strtoll(text, &end, 10);
  if (*end || v < 0) return false;
  *out = v;
  return true;
}

Result<Shard> make(long long index, long long count, const std::string& source, const std::string& what) {
  if (count < 1 || count > 1000000) return makeError(what + ": the shard count must be 1 or more");
  if (index < 0 || index >= count)
    return makeError(what + ": shard index " + std::to_string(index) + " is not in 0.." + std::to_string(count - 1));
  return Shard{static_cast<int>(index), static_cast<int>(count), source};
}

}  // namespace

Result<Shard> resolveShard(const std::string& flag, int count_flag,
                           const std::function<const char*(const char*)>& getenv) {
  if (!flag.empty()) {
    const size_t slash = flag.find('/');
    long long i = 0, n = 0;
    if (slash == std::string::npos || !parseNonNegative(flag.substr(0, slash).c_str(), &i) ||
        !parseNonNegative(flag.substr(slash + 1).c_str(), &n))
      return makeError("--shard: '" + flag + "' is not I/N (e.g. 0/4)");
    return make(i, n, "--shard", "--shard " + flag);
  }
  long long id = 0, count = 0, min = 0;
  if (parseNonNegative(getenv("SLURM_ARRAY_TASK_ID"), &id)) {
    if (!parseNonNegative(getenv("SLURM_ARRAY_TASK_COUNT"), &count))
      return makeError("SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not a number");
    parseNonNegative(getenv("SLURM_ARRAY_TASK_MIN"), &min);  // --array=1-8 starts at 1
    return make(id - min, count, "slurm", "SLURM_ARRAY_TASK_ID " + std::to_string(id));
  }
  if (parseNonNegative(getenv("JOB_COMPLETION_INDEX"), &id)) {
    if (count_flag > 0) count = count_flag;
    else if (!parseNonNegative(getenv("PRECIS_SHARD_COUNT"), &count))
      return makeError("JOB_COMPLETION_INDEX is set (a Kubernetes Indexed Job) but the number of shards is not: "
                       "pass --shard-count N or set PRECIS_SHARD_COUNT to the Job's completions");
    return make(id, count, "kubernetes", "JOB_COMPLETION_INDEX " + std::to_string(id));
  }
  return Shard{};
}

std::vector<size_t> shardItems(size_t n, const Shard& shard) {
  std::vector<size_t> out;
  for (size_t i = 0; i < n; ++i)
    if (shard.contains(i)) out.push_back(i);
  return out;
}

}  // namespace precis
