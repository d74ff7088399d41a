// ReadQueue: a loader thread that runs batches of reads from a ByteSource in the background, in the
// order they were submitted (ActiveFlow's preloading, papers/activeflow.md §6): the caller submits a
// batch, goes on computing, and waits for the batch's ticket before it reads what the batch filled.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "io/byte_source.h"

namespace jf {

class ReadQueue {
 public:
  explicit ReadQueue(std::unique_ptr<ByteSource> source);
  // Finishes the batches already submitted, then stops the thread.
  ~ReadQueue();
  ReadQueue(const ReadQueue&) = delete;
  ReadQueue& operator=(const ReadQueue&) = delete;

  // Queues a batch (read as ByteSource::read_batch reads it); its destinations must stay valid until
  // its ticket is waited for. Tickets count up from 1.
  uint64_t submit(std::vector<ReadRequest> requests);
  // Blocks until the batch of `ticket` (and every batch before it) has been read; its status. A
  // ticket's status is returned once: waiting for it again gives OK.
  Status wait(uint64_t ticket);
  // Waits for every batch submitted.
  void drain();

  const ByteSource& source() const { return *source_; }
  // Time the thread spent reading, since construction (read under the lock: call between waits).
  double busy_ms() const;

 private:
  void run();

  std::unique_ptr<ByteSource> source_;
  mutable std::mutex mutex_;
  std::condition_variable work_, done_;
  std::deque<std::vector<ReadRequest>> queue_;
  std::map<uint64_t, Status> failed_;  // tickets whose batch failed, until waited for
  uint64_t submitted_ = 0, completed_ = 0;
  double busy_ms_ = 0;
  bool stop_ = false;
  std::thread thread_;  // last: starts once the members it reads exist
};

}  // namespace jf
