// The option-A shortcut of the CIFAR ResNets: a parameter-free projection that subsamples and
// zero-pads channels where a stage changes width.
#pragma once

#include "ops/common.hpp"

namespace vkres::ops {

// Keeps every stride-th row and column from 0 (oh = ceil(h / stride)) and places the cin input
// channels at [pad_before, pad_before + cin) of cout, the rest zero. The common PyTorch
// reproduction splits the padding evenly, pad_before = (cout - cin) / 2; appending is pad_before = 0.
struct ShortcutAShape {
  uint32_t n = 1, h = 1, w = 1, cin = 1, cout = 1;
  uint32_t stride = 2;
  uint32_t pad_before = 0;
  uint32_t oh() const { return (h + stride - 1) / stride; }
  uint32_t ow() const { return (w + stride - 1) / stride; }
  uint64_t input_count() const { return uint64_t(n) * h * w * cin; }
  uint64_t output_count() const { return uint64_t(n) * oh() * ow() * cout; }
};

// x [n][h][w][cin] -> y [n][oh][ow][cout]
void shortcut_a_forward(OpSink& sink, const ShortcutAShape& s, TensorId x, TensorId y);
// dy [n][oh][ow][cout] -> dx [n][h][w][cin]: dy at the sampled positions, zero elsewhere.
void shortcut_a_backward(OpSink& sink, const ShortcutAShape& s, TensorId dy, GradOut dx);

}  // namespace vkres::ops
