// DigestCache (see digest_cache.h). Paths are keyed absolute and normalised. All SQL comes from
// log_sql.h. Tested by tests/log/test_digest_cache.cpp.
#include "engine/log/digest_cache.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "engine/log/log_sql.h"
#include "engine/log/sha256.h"

namespace precis {

namespace {

struct FileStamp {
  int64_t size = 0;
  int64_t mtime_ns = 0;
  bool operator==(const FileStamp& o) const { return size == o.size && mtime_ns == o.mtime_ns; }
};

Result<FileStamp> stamp(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return makeError(path + ": cannot read the file: " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return makeError(path + ": not a regular file");
  return FileStamp{static_cast<int64_t>(st.st_size),
                   static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
}

}  // namespace

Result<std::string> DigestCache::sha256File(const std::string& typed_path) {
  std::error_code ec;
  const std::filesystem::path abs = std::filesystem::absolute(typed_path, ec);
  const std::string path = ec ? typed_path : abs.lexically_normal().string();
  Result<FileStamp> before = stamp(path);
  if (!before) return before.error();
  Db& db = store_.connection();
  if (Result<Stmt> q = db.prepare(sql::kSelectDigest)) {
    Result<bool> row = q->bind(1, path).step();
    if (row && *row && q->int64(0) == before->size && q->int64(1) == before->mtime_ns && q->text(2).size() == 64) {
      ++hits_;
      return q->text(2);
    }
  }
  ++misses_;
  const int64_t hashed_at_ns = nowMs() * 1000000;
  Result<std::string> digest = precis::sha256File(path);
  if (!digest) return digest.error();
  Result<FileStamp> after = stamp(path);
  const bool settled = before->mtime_ns < hashed_at_ns - int64_t{kRacySeconds} * 1000000000;
  if (after && *after == *before && settled) {
    Transaction tx(db);
    if (tx.begin()) {
      Result<Stmt> up = db.prepare(sql::kUpsertDigest);
      if (up && up->bind(1, path).bind(2, before->size).bind(3, before->mtime_ns).bind(4, *digest).bind(5, nowMs()).run())
        (void)tx.commit();
    }
  }
  return digest;
}

}  // namespace precis
