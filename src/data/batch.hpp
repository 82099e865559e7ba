// BatchAssembler: dataset indices -> one float NHWC batch [n][h][w][3] plus int32 labels, with
// per-channel normalization ((x/255 - mean[c]) / std[c]) and, for training, one of two
// augmentations (AugmentKind; by default the dataset's own):
// - PadCrop, the CIFAR augmentation of He et al.: zero padding (pixel value 0, before
//   normalization), a random crop of the original size and a horizontal flip with probability 1/2;
// - RandomResizedCrop, the ImageNet one (imagenet_transform.hpp): a random box of the dataset's
//   load_original() image resized to the dataset's height x width, then the same flip.
// Without augmentation (evaluation) the images are load()'s, unchanged (a folder dataset's load()
// is already its evaluation transform). Each sample's draw is a pure function of (seed, epoch,
// position in the epoch), so a batch is the same bytes whichever thread assembles it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "data/dataset.hpp"
#include "data/imagenet_transform.hpp"

namespace vkres::data {

struct AugmentOptions {
  bool enabled = true;  // false: images pass through unchanged (evaluation)
  int pad = 4;          // PadCrop: zero padding on each side before the random crop
  bool flip = true;     // horizontal flip with probability 1/2
  AugmentKind kind = AugmentKind::DatasetDefault;
  ResizedCropOptions resized_crop{};  // RandomResizedCrop: the box's scale and aspect-ratio ranges
};

// One sample's augmentation: the crop's top-left corner in the padded image, in [0, 2*pad], and
// whether the crop is mirrored left-right.
struct AugmentDraw {
  int y = 0;
  int x = 0;
  bool flip = false;
};

// One sample's RandomResizedCrop: the box of the original image and the flip.
struct ResizedCropDraw {
  CropBox box;
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
  // The augmentation used when enabled: options.kind, or the dataset's default_augment().
  AugmentKind kind() const { return kind_; }
  // PadCrop's draw for a sample ({pad, pad, no flip} when augmentation is off).
  AugmentDraw draw(uint64_t epoch, uint64_t position) const;
  // RandomResizedCrop's draw for a sample whose original image is image_height x image_width
  // (the whole image, no flip, when augmentation is off).
  ResizedCropDraw draw_resized_crop(uint64_t epoch, uint64_t position, int image_height, int image_width) const;

  // Fills `out` (reusing its storage) with the images at `indices`; sample i is augmented with
  // draw(epoch, first_position + i) or, for RandomResizedCrop, draw_resized_crop(epoch,
  // first_position + i, ...). Safe to call concurrently on distinct outputs.
  void assemble(std::span<const std::size_t> indices, uint64_t epoch, uint64_t first_position,
                Batch& out) const;

 private:
  // Writes one normalized h x w sample from an h x w uint8 image, shifted by (dy, dx) (pixels
  // outside the image are zero_) and mirrored when flip.
  void write(const uint8_t* image, int dy, int dx, bool flip, float* dst) const;

  const Dataset& dataset_;
  AugmentOptions augment_;
  AugmentKind kind_;
  uint64_t seed_;
  std::array<std::array<float, 256>, 3> lut_;  // lut_[c][v] == norm.apply(v, c)
  float zero_[3];                             // the normalized padding value per channel
};

}  // namespace vkres::data
