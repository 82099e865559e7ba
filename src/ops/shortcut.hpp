// The option-A shortcut of the CIFAR ResNets: a parameter-free projection that subsamples and
// zero-pads channels where a stage changes width.
#pragma once

#include "ops/common.hpp"

namespace vkres::ops {

// Keeps every stride-th row and column from 0 (oh = ceil(h / stride)) and places the cin input
// channels at [pad_before, pad_before + cin) of cout, the rest zero. The common PyTorch
// reproduction splits the padding evenly, pad_before = (cout - cin) / 2; appending is pad_before = 0.

// x [n][h][w][cin] -> y [n][oh][ow][cout]
void shortcut_a_forward(OpSink& sink, const ShortcutAShape& s, TensorId x, TensorId y);
// dy [n][oh][ow][cout] -> dx [n][h][w][cin]: dy at the sampled positions, zero elsewhere.
void shortcut_a_backward(OpSink& sink, const ShortcutAShape& s, TensorId dy, GradOut dx);

}  // namespace vkres::ops
