// Envelope collection (see envelope.h). Tested by tests/log/test_envelope.cpp.
#include "engine/log/envelope.h"

#include <sys/utsname.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <thread>

#include "engine/core/build_info.h"
#include "engine/log/digest_cache.h"
#include "engine/log/sha256.h"


namespace precis {

namespace {

std::string cpuModel() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) return line.substr(colon + 2);
    }
  return "unknown";
}

void putLe(Sha256& h, uint64_t v, int bytes) {
  uint8_t b[8];
  for (int i = 0; i < bytes; ++i) b[i] = uint8_t(v >> (8 * i));
  h.update(b, bytes);
}

}  // namespace

nlohmann::ordered_json hostEnvelope() {
  nlohmann::ordered_json j;
  j["cpu"] = cpuModel();
  j["cores"] = std::thread::hardware_concurrency();
  utsname u{};
  if (uname(&u) == 0) {
    j["os"] = std::string(u.sysname) + " " + u.release;
    j["os_version"] = u.version;
    j["arch"] = u.machine;
    j["hostname"] = u.nodename;
  }
  j["precis_version"] = precisVersion();
  j["git_commit"] = precisGitCommit();
  return j;
}

nlohmann::ordered_json deviceEnvelope(const DeviceInfo& d) {
  nlohmann::ordered_json j;
  j["backend"] = d.backend;
  j["name"] = d.name;
  j["memory_total"] = d.memory_total;
  if (d.threads) j["threads"] = d.threads;
  if (!d.compute_capability.empty()) j["compute_capability"] = d.compute_capability;
  if (!d.driver_version.empty()) j["driver_version"] = d.driver_version;
  if (!d.runtime_version.empty()) j["cuda_runtime_version"] = d.runtime_version;
  j["blas"] = d.blas;  // "cuBLAS 13.1.0" on CUDA, "OpenBLAS ..." on the CPU
  return j;
}

Result<std::string> sha256Path(const std::string& path, DigestCache* cache) {
  namespace fs = std::filesystem;
  auto fileDigest = [&](const std::string& p) { return cache ? cache->sha256File(p) : sha256File(p); };
  std::error_code ec;
  if (!fs::is_directory(path, ec)) return fileDigest(path);
  std::vector<std::string> files;
  for (fs::recursive_directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec))
    if (it->is_regular_file()) files.push_back(fs::relative(it->path(), path).generic_string());
  if (ec) return makeError(path + ": cannot list the folder for hashing: " + ec.message());
  std::sort(files.begin(), files.end());
  std::string manifest;
  for (const std::string& f : files) {
    Result<std::string> d = fileDigest((fs::path(path) / f).string());
    if (!d) return d.error();
    manifest += *d + "  " + f + "\n";
  }
  return sha256Hex(manifest);
}

std::string tokenDigest(const std::vector<std::vector<int32_t>>& sequences) {
  Sha256 h;
  for (const std::vector<int32_t>& s : sequences) {
    putLe(h, s.size(), 8);
    for (int32_t t : s) putLe(h, static_cast<uint32_t>(t), 4);
  }
  return h.finishHex();
}

Result<nlohmann::ordered_json> collectEnvelope(const EnvelopeInputs& in) {
  nlohmann::ordered_json j;
  j["schema"] = 1;
  j["host"] = hostEnvelope();
  if (in.device) j["device"] = deviceEnvelope(*in.device);
  if (!in.model_path.empty()) {
    Result<std::string> d = sha256Path(in.model_path, in.digests);
    if (!d) return d.error();
    j["model"] = {{"path", in.model_path}, {"sha256", *d}};
  }
  if (!in.tokenizer_path.empty()) {
    Result<std::string> d = sha256Path(in.tokenizer_path, in.digests);
    if (!d) return d.error();
    j["tokenizer"] = {{"path", in.tokenizer_path}, {"sha256", *d}};
  }
  nlohmann::ordered_json data = nlohmann::ordered_json::object();
  if (!in.data_path.empty()) {
    Result<std::string> d = sha256Path(in.data_path, in.digests);
    if (!d) return d.error();
    data["path"] = in.data_path;
    data["sha256"] = *d;
  }
  if (!in.data_digest.empty()) data["tokens_sha256"] = in.data_digest;
  if (!data.empty()) j["data"] = data;
  if (in.seed) j["seed"] = *in.seed;
  nlohmann::ordered_json knobs = nlohmann::ordered_json::object();
  for (const auto& [k, v] : in.knobs) knobs[k] = v;
  j["knobs"] = knobs;
  return j;
}

}  // namespace precis
