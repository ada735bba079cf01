// serve/work_queue.cpp: worker threads over a bounded deque of jobs.
#include "moe/serve/work_queue.h"

#include <fmt/core.h>

#include <exception>

#include "moe/core/parallel.h"
#include "moe/serve/served_model.h"

namespace moe::serve {

WorkQueue::WorkQueue(std::vector<std::unique_ptr<ServedModel>> models, size_t capacity, int threads)
    : models_(std::move(models)), capacity_(capacity) {
  for (auto& m : models_) threads_.emplace_back([this, model = m.get(), threads] { work(*model, threads); });
}

WorkQueue::~WorkQueue() { shutdown(); }

bool WorkQueue::try_submit(Job job) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ || jobs_.size() >= capacity_) return false;
    jobs_.push_back(std::move(job));
  }
  ready_.notify_one();
  return true;
}

void WorkQueue::shutdown() {
  std::deque<Job> dropped;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    dropped.swap(jobs_);
  }
  ready_.notify_all();
  for (Job& job : dropped) job(nullptr);
  for (std::thread& t : threads_)
    if (t.joinable()) t.join();
}

void WorkQueue::work(ServedModel& model, int threads) {
  if (threads > 0) set_num_threads(threads);
  while (true) {
    Job job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      ready_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // stopping
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    try {
      job(&model);
    } catch (const std::exception& e) {  // jobs report their own errors; this keeps the worker alive
      fmt::print(stderr, "moe serve: a job failed: {}\n", e.what());
    }
  }
}

}  // namespace moe::serve
