#version 450
// First pass of the filter gradient: split-K partial sums
//   partial[chunk][co][ky][kx][ci] = sum over the chunk's output pixels (n, oy, ox) of
//                                    dy[n][oy][ox][co] * x[n][oy*sh - ph + ky][ox*sw - pw + kx][ci].
// GEMM rows are output channels; columns are flattened filter positions j = (ky*kw + kx)*cin + ci,
// so a small cin still fills a tile. Each invocation owns one tile of one chunk and walks the
// chunk's pixels in order; conv2d_sum_chunks adds the chunks up in a fixed order.
#include "conv2d_common.glsl"
layout(std430, set = 0, binding = 0) readonly buffer X { float x[]; };
layout(std430, set = 0, binding = 1) readonly buffer DY { float dy[]; };
float load_x(int i) { return x[i]; }
float load_dy(int i) { return dy[i]; }
#include "conv2d_bwd_filter_body.glsl"
