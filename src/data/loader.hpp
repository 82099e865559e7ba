// Loader: one epoch of batches assembled on worker threads ahead of the consumer, at most
// max_in_flight batches at a time (2: double buffering), delivered strictly in order. Batch b
// always holds the same bytes whatever the number of workers, because assembly is a pure function
// of (sampler order, epoch, position). An exception in a worker is rethrown by next() at the batch
// it failed on. Destroying the loader early stops and joins the workers without waiting for the
// rest of the epoch.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "data/batch.hpp"
#include "data/sampler.hpp"

namespace vkres::data {

struct LoaderOptions {
  std::size_t workers = 2;
  std::size_t max_in_flight = 2;
  // Start the epoch at this batch (a resumed run): the batches before it are never assembled.
  std::size_t first_batch = 0;
};

class Loader {
 public:
  // The assembler and sampler must outlive the loader.
  Loader(const BatchAssembler& assembler, const EpochSampler& sampler, uint64_t epoch,
         LoaderOptions options = {});
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  std::size_t num_batches() const { return num_batches_; }
  // Swaps the next batch into `out` (its old storage is reused for a later batch); false once the
  // epoch is over. Rethrows a worker's exception.
  bool next(Batch& out);

 private:
  struct Slot {
    Batch batch;
    bool ready = false;
    std::exception_ptr error;
  };

  void work();

  const BatchAssembler& assembler_;
  const EpochSampler& sampler_;
  uint64_t epoch_;
  std::vector<std::size_t> order_;
  std::size_t num_batches_;

  std::mutex mutex_;
  std::condition_variable claimable_;  // workers wait for a free slot
  std::condition_variable ready_;      // the consumer waits for its batch
  std::vector<Slot> slots_;            // batch b lives in slots_[b % max_in_flight]
  std::size_t next_claim_ = 0;
  std::size_t consumed_ = 0;
  bool stop_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace vkres::data
