#version 450
// y[n][oy][ox][co] = sum over (ky, kx, ci) of x[n][oy*sh - ph + ky][ox*sw - pw + kx][ci] * w[co][ky][kx][ci]
// (+ bias[co]). GEMM rows are output pixels, columns output channels; the reduction runs over taps
// and input channels. A workgroup owns one tile of TILE_COLS output channels (all its lanes read
// the same weights) and LOCAL_SIZE_X * TILE_ROWS pixels. Taps in the zero padding read a valid
// address and use 0 instead.
#include "conv2d_common.glsl"
layout(std430, set = 0, binding = 0) readonly buffer X { float x[]; };
layout(std430, set = 0, binding = 1) readonly buffer Wt { float wt[]; };
float load_x(int i) { return x[i]; }
float load_w(int i) { return wt[i]; }
#include "conv2d_fwd_body.glsl"
