// Host facts read from /proc and OpenBLAS (see cpu_info.h).
#include "engine/backend/cpu/cpu_info.h"

#include <cblas.h>
#include <unistd.h>

#include <fstream>
#include <string>

namespace precis {

std::string cpuModelName() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) {
        std::string name = line.substr(colon + 1);
        const auto b = name.find_first_not_of(' ');
        return b == std::string::npos ? name : name.substr(b);
      }
    }
  }
  return "unknown CPU";
}

uint64_t hostMemoryTotal() {
  return uint64_t(sysconf(_SC_PHYS_PAGES)) * uint64_t(sysconf(_SC_PAGE_SIZE));
}

uint64_t hostMemoryAvailable() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  uint64_t kb = 0;
  std::string unit;
  while (in >> key >> kb >> unit)
    if (key == "MemAvailable:") return kb * 1024;
  return uint64_t(sysconf(_SC_AVPHYS_PAGES)) * uint64_t(sysconf(_SC_PAGE_SIZE));
}

std::string openblasDescription() {
  const char* cfg = openblas_get_config();
  std::string s = cfg ? cfg : "OpenBLAS";
  const char* core = openblas_get_corename();
  if (core) s += std::string(" core=") + core;
  return s;
}

}  // namespace precis
