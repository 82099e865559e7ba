// The built-in synthetic dataset: 32x32 RGB images drawn on the fly from (seed, split, index), so
// training and tests run with no download. Ten classes = five shapes (circle, square, triangle,
// cross, ring) x two colour families (warm, cool), at a random position and size on a random
// greyish background, with additive pixel noise: learnable by a small CNN, but not by looking at
// one pixel. The same (seed, split, index) always gives the same bytes.
#pragma once

#include "data/dataset.hpp"

namespace vkres::data {

struct SyntheticOptions {
  uint64_t seed = 0;
  std::size_t train_size = 10000;
  std::size_t test_size = 2000;
};

class SyntheticDataset final : public Dataset {
 public:
  explicit SyntheticDataset(Split split, SyntheticOptions options = {});

  std::string name() const override;
  std::size_t size() const override { return size_; }
  int num_classes() const override { return 10; }
  int height() const override { return 32; }
  int width() const override { return 32; }
  const std::vector<std::string>& class_names() const override { return class_names_; }
  void load(std::size_t index, std::span<uint8_t> hwc_rgb, int32_t& label) const override;

 private:
  Split split_;
  uint64_t seed_;
  std::size_t size_;
  std::vector<std::string> class_names_;
};

}  // namespace vkres::data
