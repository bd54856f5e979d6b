// The model digest cache: the sha256 of a file is computed once per (path, size, mtime) and kept
// in the experiment log's `digests` table, so logging a run of a multi-GB model costs a stat()
// instead of reading the whole file again. A file whose mtime is within kRacySeconds of the moment
// it was hashed is not cached (it may still be changing within the timestamp's resolution, as
// git's "racy clean" rule); a file that changes while it is hashed is not cached either.
// Tested by tests/log/test_digest_cache.cpp (hits and misses, changed content, size or mtime,
// racy files, folders, survival across reopen, migration from schema version 2).
#pragma once
#include <cstddef>
#include <string>

#include "engine/core/result.h"
#include "engine/log/run_store.h"

namespace precis {

class DigestCache {
 public:
  static constexpr int kRacySeconds = 2;
  // Uses `store`'s connection (same thread), which must outlive the cache.
  explicit DigestCache(RunStore& store) : store_(store) {}

  // sha256 of a regular file (lowercase hex), from the cache when path, size and mtime match.
  // Errors name the file. A failure to write the cache is not an error (it only costs speed).
  Result<std::string> sha256File(const std::string& path);

  size_t hits() const { return hits_; }
  size_t misses() const { return misses_; }

 private:
  RunStore& store_;
  size_t hits_ = 0;
  size_t misses_ = 0;
};

}  // namespace precis
