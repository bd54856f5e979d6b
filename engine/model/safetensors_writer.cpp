// writeSafetensors (see safetensors.h): u64 header length, JSON header padded with spaces to a
// multiple of 8 bytes, then the tensors' bytes back to back in the given order. Output goes to a
// temporary file renamed into place only when complete.
// Tested by tests/quant/test_quant_io.cpp (round trip through parseSafetensors, refusals).
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <set>

#include <nlohmann/json.hpp>

#include "engine/model/safetensors.h"

namespace precis {
namespace {

size_t dtypeBytes(const std::string& dtype) {
  if (dtype == "F32") return 4;
  if (dtype == "F16" || dtype == "BF16") return 2;
  if (dtype == "U8") return 1;
  return 0;
}

}  // namespace

Status writeSafetensors(const std::string& path, const std::vector<SafetensorsOut>& tensors,
                        const std::map<std::string, std::string>& metadata, const std::function<bool(double)>& progress) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) {
    nlohmann::ordered_json m = nlohmann::ordered_json::object();
    for (const auto& [k, v] : metadata) m[k] = v;
    header["__metadata__"] = m;
  }
  std::set<std::string> names;
  uint64_t offset = 0;
  for (const SafetensorsOut& t : tensors) {
    const size_t eb = dtypeBytes(t.dtype);
    if (eb == 0) return makeError(path + ": tensor " + t.name + ": dtype " + t.dtype + " cannot be written (F32, F16, BF16, U8)");
    if (t.name.empty() || t.name == "__metadata__" || !names.insert(t.name).second)
      return makeError(path + ": tensor name '" + t.name + "' is empty, reserved or repeated");
    uint64_t n = 1;
    for (int64_t d : t.shape) {
      if (d < 0) return makeError(path + ": tensor " + t.name + " has a negative dimension");
      n *= uint64_t(d);
    }
    if (n * eb != t.bytes || (t.bytes && !t.data))
      return makeError(path + ": tensor " + t.name + " has " + std::to_string(t.bytes) + " bytes; its shape and dtype need " +
                       std::to_string(n * eb));
    header[t.name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.bytes}}};
    offset += t.bytes;
  }
  std::string h;
  try {
    h = header.dump();
  } catch (const std::exception& e) {
    return makeError(path + ": metadata is not valid UTF-8 (" + e.what() + ")");
  }
  while (h.size() % 8 != 0) h += ' ';
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) return makeError(path + ": cannot create the file (" + std::strerror(errno) + ")");
  Status st;
  auto put = [&](const void* p, size_t n) {
    if (st && n && std::fwrite(p, 1, n, f) != n) st = makeError(path + ": write failed (" + std::strerror(errno) + ")");
  };
  const uint64_t hl = h.size();
  put(&hl, 8);
  put(h.data(), h.size());
  uint64_t done = 0;
  for (const SafetensorsOut& t : tensors) {
    put(t.data, t.bytes);
    done += t.bytes;
    if (st && progress && offset && !progress(double(done) / double(offset))) st = makeError(path + ": writing cancelled");
    if (!st) break;
  }
  if (std::fclose(f) != 0 && st) st = makeError(path + ": write failed (" + std::strerror(errno) + ")");
  if (st && std::rename(tmp.c_str(), path.c_str()) != 0)
    st = makeError(path + ": cannot rename " + tmp + " into place (" + std::strerror(errno) + ")");
  if (!st) std::remove(tmp.c_str());
  return st;
}

}  // namespace precis
