// What the conformance harnesses (test_backend_ops, test_backend_lowp) share: every backend that
// probeBackends() finds, created once per suite, and the rule for a row on one of them: an
// unknown or unavailable backend skips the row with the reason (the CUDA rows on a machine without
// a GPU), except that under PRECIS_REQUIRE_CUDA=1 (scripts/gpu-check.sh) a skipped CUDA row is a
// failure; a backend left in its failed state by an earlier row is replaced by a fresh one, so
// that one failure does not hide the results of the rows after it (one GPU run should show every
// problem). Header-only test code.
#pragma once
#include <QString>
#include <QtGlobal>

#include <map>
#include <memory>
#include <string>

#include "engine/backend/backend.h"
#include "engine/backend/registry.h"

namespace precis::test {

struct BackendSlot {
  BackendProbe probe;
  std::unique_ptr<Backend> backend;
  std::string create_error;
};

// Probes and creates every backend (the available ones), logging each.
inline std::map<std::string, BackendSlot> openBackendSlots() {
  std::map<std::string, BackendSlot> all;
  for (const BackendProbe& p : probeBackends()) {
    BackendSlot s;
    s.probe = p;
    if (p.available) {
      auto b = createBackend(p.name);
      if (b.ok()) s.backend = std::move(b.value());
      else s.create_error = b.error().message;
    }
    qInfo("backend %s: %s (%s)", p.name.c_str(), p.available ? "available" : "unavailable", p.detail.c_str());
    all[p.name] = std::move(s);
  }
  return all;
}

// The backend a row runs on, or null with *skip (the row is skipped) or *fail (the row fails) set.
inline Backend* rowBackend(std::map<std::string, BackendSlot>& all, const QString& name, QString* skip,
                           QString* fail) {
  auto it = all.find(name.toStdString());
  if (it == all.end()) {
    *skip = name + " backend not known to the registry";
    return nullptr;
  }
  BackendSlot& s = it->second;
  if (!s.probe.available) {
    const QString why = name + " backend unavailable: " + QString::fromStdString(s.probe.detail);
    (name == "cuda" && qEnvironmentVariableIntValue("PRECIS_REQUIRE_CUDA") == 1 ? *fail : *skip) = why;
    return nullptr;
  }
  if (!s.backend) {
    *fail = name + " probed available but could not be created: " + QString::fromStdString(s.create_error);
    return nullptr;
  }
  if (!s.backend->lastError().empty()) {  // an earlier row failed here: start afresh
    auto fresh = createBackend(name.toStdString());
    if (!fresh.ok()) {
      *fail = QString::fromStdString(fresh.error().message);
      return nullptr;
    }
    s.backend = std::move(fresh.value());
  }
  return s.backend.get();
}

}  // namespace precis::test
