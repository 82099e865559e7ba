#include "data/sampler.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>
#include <utility>

#include "core/error.hpp"
#include "data/rng.hpp"

namespace vkres::data {

EpochSampler::EpochSampler(std::size_t dataset_size, SamplerOptions options)
    : size_(dataset_size), options_(options) {
  if (options.batch_size == 0) throw Error("batch size 0", "use a batch size of at least 1");
  if (dataset_size == 0) throw Error("the dataset is empty: no batches to sample");
  if (options.drop_last && dataset_size < options.batch_size)
    throw Error(fmt::format("the dataset has {} images, fewer than one batch of {}", dataset_size,
                            options.batch_size),
                "use a smaller batch size");
}

std::size_t EpochSampler::num_batches() const {
  const std::size_t b = options_.batch_size;
  return options_.drop_last ? size_ / b : (size_ + b - 1) / b;
}

std::vector<std::size_t> EpochSampler::order(uint64_t epoch) const {
  std::vector<std::size_t> order(size_);
  std::iota(order.begin(), order.end(), std::size_t{0});
  if (options_.shuffle) {
    SplitMix64 rng = SplitMix64::keyed({options_.seed, epoch, 0x5a3d1e5ull});
    for (std::size_t i = size_ - 1; i > 0; --i) std::swap(order[i], order[rng.below(i + 1)]);
  }
  return order;
}

std::span<const std::size_t> EpochSampler::batch(std::span<const std::size_t> order, std::size_t b) const {
  const std::size_t begin = b * options_.batch_size;
  return order.subspan(begin, std::min(options_.batch_size, order.size() - begin));
}

}  // namespace vkres::data
