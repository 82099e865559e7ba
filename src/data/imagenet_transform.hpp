// The ImageNet transforms of torchvision's reference recipe on PIL images, reproduced so that a
// folder dataset gives the bytes a PyTorch run would:
// - training: RandomResizedCrop(S, scale=(0.08, 1), ratio=(3/4, 4/3)) (ten attempts at a random
//   box, then the centre-crop fallback) followed by a horizontal flip with probability 1/2;
// - evaluation: Resize(round(S * 256/224)) on the shorter side, then CenterCrop(S).
// Resizing is PIL's BILINEAR: a triangle filter widened by the scale factor when shrinking (so it
// antialiases), clipped at the image's edges, applied as two 8-bit passes (horizontal first, each
// rounded to uint8) with 22-bit fixed-point weights, exactly as Pillow's Resample.c.
// Random draws come from the caller's SplitMix64, not from torch's generator: the boxes follow
// the same distribution, not the same sequence.
#pragma once

#include <cstdint>

#include "data/dataset.hpp"
#include "data/rng.hpp"

namespace vkres::data {

// A rectangle of an image, in pixels.
struct CropBox {
  int top = 0;
  int left = 0;
  int height = 0;
  int width = 0;
  bool operator==(const CropBox&) const = default;
};

struct ResizedCropOptions {
  double min_scale = 0.08;  // the box's area as a fraction of the image's, drawn uniformly
  double max_scale = 1.0;
  double min_ratio = 3.0 / 4.0;  // the box's width / height, drawn log-uniformly
  double max_ratio = 4.0 / 3.0;
};

// Python's round(): halves go to the even neighbour (what torchvision's int(round(x)) does).
int round_half_even(double x);

// torchvision's RandomResizedCrop.get_params for a height x width image.
CropBox random_resized_crop_box(int height, int width, const ResizedCropOptions& options, SplitMix64& rng);

// The `box` region of `src` resized to out_height x out_width as PIL's
// src.crop(box).resize((out_width, out_height), BILINEAR); only the pixels of the resized image
// inside `window` are computed, into dst (window.height x window.width x 3, row-major RGB).
void resize_bilinear(const Image& src, CropBox box, int out_height, int out_width, CropBox window, uint8_t* dst);

// The evaluation transform's intermediate size for output size S: round(S * 256 / 224).
int eval_resize_size(int size);
// torchvision's Resize(n) on a height x width image: the shorter side becomes n, the longer
// int(n * long / short). Returns {new_height, new_width}.
std::pair<int, int> resized_shorter_side(int height, int width, int n);
// torchvision's CenterCrop(size) box in a height x width image (no larger than the image).
CropBox center_crop_box(int height, int width, int size);

// Resize(eval_resize_size(size)) then CenterCrop(size): size x size x 3 bytes into dst.
void eval_transform(const Image& src, int size, uint8_t* dst);

}  // namespace vkres::data
