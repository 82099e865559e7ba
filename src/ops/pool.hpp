// Max pool and global average pool over NHWC activations.
#pragma once

#include "ops/common.hpp"

namespace vkres::ops {

// PyTorch's MaxPool2d without dilation or ceil_mode; the ResNet stem uses 3x3, stride 2, pad 1.
// Padding must stay within half the kernel (PyTorch's limit), so every window holds an input.

// x [n][h][w][c] -> y [n][oh][ow][c], and argmax [n][oh][ow][c] int32: the iy * w + ix of each
// window's maximum (PyTorch's return_indices), the first one in row-major window order on ties.
// Training keeps argmax for the backward pass; evaluation passes TensorId{} and the op writes it
// to a scratch buffer.
void maxpool_forward(OpSink& sink, const Pool2dShape& s, TensorId x, TensorId y, TensorId argmax);
// dy [n][oh][ow][c] -> dx [n][h][w][c]: each input gets the sum of dy over the windows whose
// maximum it is (overlapping windows can share one).
void maxpool_backward(OpSink& sink, const Pool2dShape& s, TensorId argmax, TensorId dy, GradOut dx);

// x [n][h][w][c] -> y [n][c], the mean over the h * w pixels.
void global_avgpool_forward(OpSink& sink, uint32_t n, uint32_t h, uint32_t w, uint32_t c, TensorId x, TensorId y);
// dy [n][c] -> dx [n][h][w][c] = dy / (h * w) at every pixel.
void global_avgpool_backward(OpSink& sink, uint32_t n, uint32_t h, uint32_t w, uint32_t c, TensorId dy, GradOut dx);

}  // namespace vkres::ops
