#version 450
// dx[n][iy][ix][ci] (=|+=) the sum over taps (ky, kx) and output channels co of
// dy[n][oy][ox][co] * w[co][ky][kx][ci], where iy = oy*sh - ph + ky and ix = ox*sw - pw + kx.
// Input pixels are split into their sh x sw stride phases (iy % sh, ix % sw): within one phase
// the taps that land on an output pixel are the same for every pixel (ky = (iy + ph) mod sh, then
// every sh-th), so no lane walks taps that miss. GEMM rows are the pixels of one phase, columns
// input channels; a workgroup owns one tile of TILE_COLS input channels (all its lanes read the
// same weights) and LOCAL_SIZE_X * TILE_ROWS pixels of one phase.
#include "conv2d_common.glsl"
layout(std430, set = 0, binding = 0) readonly buffer DY { float dy[]; };
layout(std430, set = 0, binding = 1) readonly buffer Wt { float wt[]; };
float load_dy(int i) { return dy[i]; }
float load_w(int i) { return wt[i]; }
#include "conv2d_bwd_data_body.glsl"
