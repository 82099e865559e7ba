#include "data/loader.hpp"

#include <algorithm>

#include "core/error.hpp"

namespace vkres::data {

Loader::Loader(const BatchAssembler& assembler, const EpochSampler& sampler, uint64_t epoch, LoaderOptions options)
    : assembler_(assembler),
      sampler_(sampler),
      epoch_(epoch),
      order_(sampler.order(epoch)),
      num_batches_(sampler.num_batches()) {
  if (options.workers == 0 || options.max_in_flight == 0)
    throw Error("the loader needs at least one worker and one batch in flight");
  next_claim_ = consumed_ = std::min(options.first_batch, num_batches_);
  slots_.resize(options.max_in_flight);
  workers_.reserve(options.workers);
  for (std::size_t i = 0; i < options.workers; ++i) workers_.emplace_back([this] { work(); });
}

Loader::~Loader() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  claimable_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void Loader::work() {
  const std::size_t k = slots_.size();
  std::unique_lock lock(mutex_);
  for (;;) {
    // A batch may be claimed once the batch k before it, which used the same slot, is consumed.
    claimable_.wait(lock, [&] { return stop_ || next_claim_ >= num_batches_ || next_claim_ < consumed_ + k; });
    if (stop_ || next_claim_ >= num_batches_) return;
    const std::size_t b = next_claim_++;
    Slot& slot = slots_[b % k];
    lock.unlock();
    std::exception_ptr error;
    try {
      assembler_.assemble(sampler_.batch(order_, b), epoch_, b * sampler_.batch_size(), slot.batch);
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    slot.error = error;
    slot.ready = true;
    ready_.notify_all();
  }
}

bool Loader::next(Batch& out) {
  std::unique_lock lock(mutex_);
  if (consumed_ >= num_batches_) return false;
  Slot& slot = slots_[consumed_ % slots_.size()];
  ready_.wait(lock, [&] { return slot.ready; });
  if (slot.error) {
    // The epoch ends here: the same error again on every later call, and no more work.
    stop_ = true;
    claimable_.notify_all();
    std::rethrow_exception(slot.error);
  }
  std::swap(out, slot.batch);
  slot.ready = false;
  ++consumed_;
  lock.unlock();
  claimable_.notify_all();
  return true;
}

}  // namespace vkres::data
