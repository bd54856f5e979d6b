// ThreadPool: a fixed set of workers that split a range of rows between them (parallelFor).
// The calling thread takes part, so a pool of 1 runs everything inline with no synchronisation.
// Tested by tests/runtime/test_thread_pool.cpp.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace precis {

class ThreadPool {
 public:
  // threads: total threads including the caller; 0 = std::thread::hardware_concurrency().
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return threads_; }
  // Calls fn(begin, end) on disjoint chunks covering [0, n), each at least min_chunk long
  // (except the last), and returns when all are done. Not reentrant.
  void parallelFor(int64_t n, int64_t min_chunk, const std::function<void(int64_t, int64_t)>& fn);

 private:
  void workerLoop(int index);
  void runChunks(int worker);

  int threads_ = 1;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  bool stop_ = false;
  // The job of the current generation.
  const std::function<void(int64_t, int64_t)>* job_ = nullptr;
  int64_t job_n_ = 0;
  int64_t chunk_ = 0;
  std::atomic<int64_t> next_{0};
};

}  // namespace precis
