// ThreadPool implementation: workers spin briefly on the generation counter (decode steps are
// tens of microseconds apart), then sleep on a condition variable.
#include "engine/core/thread_pool.h"

#include <algorithm>

namespace precis {

ThreadPool::ThreadPool(int threads) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  threads_ = threads;
  for (int i = 1; i < threads_; ++i) workers_.emplace_back([this, i] { workerLoop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
    generation_.fetch_add(1);
  }
  wake_.notify_all();
  for (auto& w : workers_) w.join();
}

void ThreadPool::runChunks(int /*worker*/) {
  for (;;) {
    const int64_t begin = next_.fetch_add(chunk_);
    if (begin >= job_n_) break;
    (*job_)(begin, std::min(job_n_, begin + chunk_));
  }
}

void ThreadPool::workerLoop(int index) {
  uint64_t seen = 0;
  for (;;) {
    // Spin for a short while before sleeping: consecutive ops arrive microseconds apart.
    uint64_t gen = generation_.load(std::memory_order_acquire);
    for (int spin = 0; gen == seen && spin < 20000; ++spin) {
#if defined(__x86_64__)
      __builtin_ia32_pause();
#endif
      gen = generation_.load(std::memory_order_acquire);
    }
    if (gen == seen) {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return generation_.load() != seen; });
      gen = generation_.load();
    }
    seen = gen;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stop_) return;
    }
    runChunks(index);
    pending_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

void ThreadPool::parallelFor(int64_t n, int64_t min_chunk,
                             const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  min_chunk = std::max<int64_t>(1, min_chunk);
  if (threads_ == 1 || n <= min_chunk) {
    fn(0, n);
    return;
  }
  // Chunks: a few per thread for balance, never smaller than min_chunk.
  const int64_t target = (n + threads_ * 4 - 1) / (threads_ * 4);
  chunk_ = std::max(min_chunk, target);
  job_ = &fn;
  job_n_ = n;
  next_.store(0);
  pending_.store(threads_ - 1, std::memory_order_release);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    generation_.fetch_add(1, std::memory_order_acq_rel);
  }
  wake_.notify_all();
  runChunks(0);
  // Spin briefly, then yield: on a loaded machine a descheduled worker must get the core back.
  for (int spin = 0; pending_.load(std::memory_order_acquire) != 0; ++spin) {
    if (spin < 4000) {
#if defined(__x86_64__)
      __builtin_ia32_pause();
#endif
    } else {
      std::this_thread::yield();
    }
  }
  job_ = nullptr;
}

}  // namespace precis
