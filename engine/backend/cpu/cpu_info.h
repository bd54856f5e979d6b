// Host facts for DeviceInfo and the run envelope: CPU model name, memory, OpenBLAS build.
#pragma once
#include <cstdint>
#include <string>

namespace precis {

std::string cpuModelName();
uint64_t hostMemoryTotal();
uint64_t hostMemoryAvailable();
std::string openblasDescription();  // e.g. "OpenBLAS 0.3.21 (pthread, Haswell)"

}  // namespace precis
