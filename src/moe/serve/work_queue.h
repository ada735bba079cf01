// serve/work_queue.h: the bounded queue between the HTTP threads and the model workers.
// The model and its tape are not re-entrant, so only workers touch a model: one thread
// per ServedModel, each owning its own copy. HTTP threads submit jobs and wait; a
// submission fails (the server answers 503) when `capacity` jobs are already waiting.
#pragma once
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace moe::serve {

class ServedModel;

class WorkQueue {
 public:
  // The job's model; nullptr when the queue shut down before the job could run.
  using Job = std::function<void(ServedModel*)>;

  // One worker per model. `threads` > 0: each worker's OpenMP thread count (OpenMP's
  // setting is per thread, so a worker does not inherit the main thread's).
  WorkQueue(std::vector<std::unique_ptr<ServedModel>> models, size_t capacity, int threads);
  ~WorkQueue();
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // Queues the job; false (the job is dropped) when full or shut down.
  bool try_submit(Job job);
  // Stops taking jobs, calls every waiting job with nullptr, lets running jobs finish
  // (they may watch stopping() to end early) and joins the workers. Idempotent.
  void shutdown();
  bool stopping() const { return stopping_; }
  size_t capacity() const { return capacity_; }
  size_t workers() const { return models_.size(); }

 private:
  void work(ServedModel& model, int threads);

  std::vector<std::unique_ptr<ServedModel>> models_;
  size_t capacity_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Job> jobs_;
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> threads_;
};

}  // namespace moe::serve
