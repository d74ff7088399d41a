#include "io/read_queue.h"

#include <utility>

#include "base/clock.h"

namespace jf {

ReadQueue::ReadQueue(std::unique_ptr<ByteSource> source)
    : source_(std::move(source)), thread_([this] { run(); }) {}

ReadQueue::~ReadQueue() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  work_.notify_one();
  thread_.join();
}

uint64_t ReadQueue::submit(std::vector<ReadRequest> requests) {
  uint64_t ticket = 0;
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(requests));
    ticket = ++submitted_;
  }
  work_.notify_one();
  return ticket;
}

Status ReadQueue::wait(uint64_t ticket) {
  std::unique_lock lock(mutex_);
  done_.wait(lock, [&] { return completed_ >= ticket; });
  const auto failed = failed_.find(ticket);
  if (failed == failed_.end()) return Status();
  Status status = std::move(failed->second);
  failed_.erase(failed);
  return status;
}

void ReadQueue::drain() {
  std::unique_lock lock(mutex_);
  const uint64_t last = submitted_;
  done_.wait(lock, [&] { return completed_ >= last; });
}

double ReadQueue::busy_ms() const {
  std::lock_guard lock(mutex_);
  return busy_ms_;
}

// The thread: batches in order until stopped with none left.
void ReadQueue::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    work_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;
    const std::vector<ReadRequest> batch = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    const double start_ms = now_ms();
    Status status = source_->read_batch(batch);
    const double ms = now_ms() - start_ms;
    lock.lock();
    busy_ms_ += ms;
    ++completed_;
    if (!status.ok()) failed_.emplace(completed_, std::move(status));
    done_.notify_all();
  }
}

}  // namespace jf
