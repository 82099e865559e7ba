// Elementwise ops: fill, ReLU, residual add, copy. count is in floats.
#pragma once

#include "ops/common.hpp"

namespace vkres::ops {

void fill(OpSink& sink, TensorId dst, uint64_t count, float value);

void relu_forward(OpSink& sink, TensorId x, TensorId y, uint64_t count);
// x may be the forward input or output (x > 0 iff relu(x) > 0).
void relu_backward(OpSink& sink, TensorId x, TensorId dy, GradOut dx, uint64_t count);

// y = a + b (forward residual add; also sums two gradient contributions). With `relu`, y = max(a + b, 0):
// the residual add and the ReLU after it in one pass, bit for bit what relu_forward gives.
void add(OpSink& sink, TensorId a, TensorId b, GradOut y, uint64_t count, bool relu = false);
// dst = src or dst += src: the backward of a residual add passes dy to both inputs this way.
void copy(OpSink& sink, TensorId src, GradOut dst, uint64_t count);

}  // namespace vkres::ops
