// Per-channel normalization of uint8 RGB values into the floats a model sees:
// (x/255 - mean[c]) / std[c], as torchvision's ToTensor + Normalize.
#pragma once

#include <array>
#include <cstdint>

namespace vkres::data {

struct Normalization {
  std::array<float, 3> mean{0.4914f, 0.4822f, 0.4465f};  // CIFAR-10 training set statistics
  std::array<float, 3> std{0.2470f, 0.2435f, 0.2616f};

  // The statistics of the ImageNet training set that torchvision's reference recipe uses.
  static Normalization imagenet() { return {{0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f}}; }

  // The exact formula every normalized value is computed with.
  float apply(uint8_t value, int channel) const {
    return (static_cast<float>(value) / 255.0f - mean[channel]) / std[channel];
  }
};

}  // namespace vkres::data
