// EpochSampler: the order in which an epoch visits a dataset, and how it is cut into batches.
// Shuffled orders are Fisher-Yates with the module's PRNG keyed by (seed, epoch), so epoch e is
// the same permutation on every run and machine; sequential order is 0..n-1. Training drops the
// last partial batch (drop_last); evaluation keeps it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace vkres::data {

struct SamplerOptions {
  std::size_t batch_size = 128;
  bool shuffle = true;
  bool drop_last = true;
  uint64_t seed = 0;
};

class EpochSampler {
 public:
  // Throws vkres::Error for batch size 0, an empty dataset, or (with drop_last) a dataset smaller
  // than one batch.
  EpochSampler(std::size_t dataset_size, SamplerOptions options);

  std::size_t dataset_size() const { return size_; }
  std::size_t batch_size() const { return options_.batch_size; }
  std::size_t num_batches() const;
  std::vector<std::size_t> order(uint64_t epoch) const;
  // Batch b of an epoch's order: order[b*B, min((b+1)*B, n)).
  std::span<const std::size_t> batch(std::span<const std::size_t> order, std::size_t b) const;

 private:
  std::size_t size_;
  SamplerOptions options_;
};

}  // namespace vkres::data
