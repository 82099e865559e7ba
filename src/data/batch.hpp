// BatchAssembler: dataset indices -> one float NHWC batch [n][h][w][3] plus int32 labels, with
// per-channel normalization ((x/255 - mean[c]) / std[c]) and, for training, the CIFAR
// augmentation of He et al.: zero padding (pixel value 0, before normalization), a random crop of
// the original size and a horizontal flip with probability 1/2. Each sample's draw is a pure
// function of (seed, epoch, position in the epoch), so a batch is the same bytes whichever thread
// assembles it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "data/dataset.hpp"

namespace vkres::data {

struct Normalization {
  std::array<float, 3> mean{0.4914f, 0.4822f, 0.4465f};  // CIFAR-10 training set statistics
  std::array<float, 3> std{0.2470f, 0.2435f, 0.2616f};
  // The exact formula every normalized value is computed with.
  float apply(uint8_t value, int channel) const {
    return (static_cast<float>(value) / 255.0f - mean[channel]) / std[channel];
  }
};

struct AugmentOptions {
  bool enabled = true;  // false: images pass through unchanged (evaluation)
  int pad = 4;          // zero padding on each side before the random crop
  bool flip = true;     // horizontal flip with probability 1/2
};

// One sample's augmentation: the crop's top-left corner in the padded image, in [0, 2*pad], and
// whether the crop is mirrored left-right.
struct AugmentDraw {
  int y = 0;
  int x = 0;
  bool flip = false;
};

struct Batch {
  std::size_t n = 0;
  int height = 0;
  int width = 0;
  std::vector<float> images;  // n * height * width * 3, NHWC
  std::vector<int32_t> labels;
};

class BatchAssembler {
 public:
  BatchAssembler(const Dataset& dataset, Normalization norm, AugmentOptions augment, uint64_t seed);

  const Dataset& dataset() const { return dataset_; }
  AugmentDraw draw(uint64_t epoch, uint64_t position) const;

  // Fills `out` (reusing its storage) with the images at `indices`; sample i is augmented with
  // draw(epoch, first_position + i). Safe to call concurrently on distinct outputs.
  void assemble(std::span<const std::size_t> indices, uint64_t epoch, uint64_t first_position,
                Batch& out) const;

 private:
  const Dataset& dataset_;
  AugmentOptions augment_;
  uint64_t seed_;
  std::array<std::array<float, 256>, 3> lut_;  // lut_[c][v] == norm.apply(v, c)
  float zero_[3];                             // the normalized padding value per channel
};

}  // namespace vkres::data
