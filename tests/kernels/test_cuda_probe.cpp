// test_cuda_probe: loads the built CUDA module (libprecis-cuda.so) with dlopen, as the registry does,
// and checks its C entry points on whatever machine runs it:
//  - without a driver or GPU: precis_cuda_probe returns <= 0 and names the reason, and
//    precis_cuda_create returns nullptr with a message, without crashing;
//  - with a GPU: probe returns >= 1 and lists it, and the created backend reports a device name,
//    memory, compute capability and versions, and runs a tiny op end to end.
// Also the training entry points (precis_cuda_train_create/destroy).
// Built only when PRECIS_CUDA is on; labels kernels, gpu. PRECIS_REQUIRE_CUDA=1 makes "no device" a failure.
#include <dlfcn.h>

#include <QtTest>
#include <cstring>
#include <vector>

#include "engine/backend/backend.h"
#include "engine/backend/cuda/cuda_module_api.h"

namespace precis {

class TestCudaProbe : public QObject {
  Q_OBJECT

 private:
  void* handle_ = nullptr;
  PrecisCudaProbeFn probe_ = nullptr;
  PrecisCudaCreateFn create_ = nullptr;
  PrecisCudaDestroyFn destroy_ = nullptr;

  template <class Fn>
  Fn symbol(const char* name) {
    return reinterpret_cast<Fn>(dlsym(handle_, name));
  }

 private slots:
  void initTestCase() {
    handle_ = dlopen(PRECIS_CUDA_MODULE_PATH, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    const char* err = handle_ ? nullptr : dlerror();
    QVERIFY2(handle_, qPrintable(QStringLiteral("dlopen %1: %2").arg(PRECIS_CUDA_MODULE_PATH, err ? err : "?")));
  }

  void exportsTheEntryPointsAndAbiVersion() {
    auto abi = symbol<PrecisCudaAbiVersionFn>(kPrecisCudaAbiVersionSymbol);
    probe_ = symbol<PrecisCudaProbeFn>(kPrecisCudaProbeSymbol);
    create_ = symbol<PrecisCudaCreateFn>(kPrecisCudaCreateSymbol);
    destroy_ = symbol<PrecisCudaDestroyFn>(kPrecisCudaDestroySymbol);
    QVERIFY(abi && probe_ && create_ && destroy_);
    QCOMPARE(abi(), kPrecisCudaAbiVersion);
    // Nothing else leaks out of the module (it links static libraries with hidden symbols).
    QVERIFY(dlsym(handle_, "_ZN6precis11dtypeTraitsENS_5DTypeE") == nullptr);
  }

  void probeAndCreateAgree() {
    QVERIFY(probe_ && create_);
    char msg[512];
    std::memset(msg, 'x', sizeof msg);
    const int n = probe_(msg, sizeof msg);
    QVERIFY2(std::memchr(msg, '\0', sizeof msg) != nullptr, "probe message not terminated");
    QVERIFY2(std::strlen(msg) > 0, "probe gave no message");
    qInfo("precis_cuda_probe: %d (%s)", n, msg);
    // Probing again gives the same answer (no CUDA call after a failure may change it).
    char again[512] = {0};
    QCOMPARE(probe_(again, sizeof again), n);
    QCOMPARE(QString(again), QString(msg));

    char err[512];
    std::memset(err, 'x', sizeof err);
    Backend* b = create_(0, err, sizeof err);
    QVERIFY2(std::memchr(err, '\0', sizeof err) != nullptr, "create message not terminated");
    if (n <= 0) {
      const QString why(msg);
      // scripts/gpu-check.sh sets PRECIS_REQUIRE_CUDA=1: there the device must be found.
      QVERIFY2(qEnvironmentVariableIntValue("PRECIS_REQUIRE_CUDA") != 1, qPrintable("PRECIS_REQUIRE_CUDA=1 but " + why));
      QVERIFY2(why.contains("driver") || why.contains("device") || why.contains("CUDA"),
               qPrintable("probe message does not name a reason: " + why));
      QVERIFY2(b == nullptr, "create succeeded where probe found no device");
      QVERIFY2(std::strlen(err) > 0, "create failed without a message");
      qInfo("precis_cuda_create(0): nullptr (%s)", err);
      // A tiny message buffer is truncated, not overrun.
      char tiny[4] = {'a', 'b', 'c', 'd'};
      probe_(tiny, 3);
      QCOMPARE(tiny[2], '\0');
      QCOMPARE(tiny[3], 'd');
      return;
    }
    QVERIFY2(b != nullptr, err);
    const DeviceInfo& info = b->device();
    qInfo("device: %s, cc %s, %.1f/%.1f GiB free, driver %s, runtime %s, %s", info.name.c_str(),
          info.compute_capability.c_str(), info.memory_free / 1073741824.0,
          info.memory_total / 1073741824.0, info.driver_version.c_str(),
          info.runtime_version.c_str(), info.blas.c_str());
    QCOMPARE(QString::fromStdString(info.backend), QStringLiteral("cuda"));
    QVERIFY(!info.name.empty());
    QVERIFY(info.memory_total > 0 && info.memory_free > 0 && info.memory_free <= info.memory_total);
    QVERIFY(!info.compute_capability.empty() && !info.driver_version.empty());
    QVERIFY(QString::fromStdString(info.blas).startsWith("cuBLAS "));
    // A tiny op end to end: y += x on 3 elements.
    const float x[3] = {1.f, -2.5f, 0.25f};
    const float y0[3] = {10.f, 20.f, 30.f};
    auto bx = b->alloc(sizeof x);
    auto by = b->alloc(sizeof y0);
    QVERIFY(bx && by);
    b->upload(*bx, 0, x, sizeof x);
    b->upload(*by, 0, y0, sizeof y0);
    b->add(makeView(by->data(), DType::F32, 1, 3), makeView(bx->data(), DType::F32, 1, 3));
    float y[3] = {0, 0, 0};
    b->download(*by, 0, y, sizeof y);
    QVERIFY2(b->lastError().empty(), b->lastError().c_str());
    QCOMPARE(y[0], 11.f);
    QCOMPARE(y[1], 17.5f);
    QCOMPARE(y[2], 30.25f);
    bx.reset();
    by.reset();
    destroy_(b);
  }

  void createRejectsAMissingDevice() {
    QVERIFY(create_);
    char err[256] = {0};
    Backend* b = create_(1 << 20, err, sizeof err);
    QVERIFY(b == nullptr);
    QVERIFY2(std::strlen(err) > 0, "no message for a device that does not exist");
    destroy_(nullptr);  // ignored
  }

  // The training entry points (ABI 4): present; a device that does not exist is refused with a
  // message (on every machine: without a driver the device count check fails first).
  void trainingEntryPoints() {
    auto create = symbol<PrecisCudaTrainCreateFn>(kPrecisCudaTrainCreateSymbol);
    auto destroy = symbol<PrecisCudaTrainDestroyFn>(kPrecisCudaTrainDestroySymbol);
    QVERIFY(create && destroy);
    char err[256];
    std::memset(err, 'x', sizeof err);
    TrainBackend* b = create(1 << 20, 0, err, sizeof err);
    QVERIFY(b == nullptr);
    QVERIFY2(std::memchr(err, '\0', sizeof err) != nullptr && std::strlen(err) > 0, "no message");
    qInfo("precis_cuda_train_create(1 << 20): nullptr (%s)", err);
    destroy(nullptr);  // ignored
  }
};

}  // namespace precis

QTEST_GUILESS_MAIN(precis::TestCudaProbe)
#include "test_cuda_probe.moc"
