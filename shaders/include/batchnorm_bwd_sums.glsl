// Training backward, pass 1 (body of batchnorm_bwd_sums[_vec4|_texels|_masked_texels].comp, which define
// VEC as float or vec4): each invocation's sums of dy and dy * (x - mean) over its rows of one channel.
// With pc.relu, dy is the gradient of the fused ReLU's output, masked here as relu_bwd would. With
// MASKED defined, dy is that of a ReLU after a residual add, masked where its output `mask` is not
// positive (see batchnorm_bwd_dx.glsl).
#include "batchnorm_common.glsl"
ROWS_BUFFER(0, x);
ROWS_BUFFER(1, dy);
layout(std430, set = 0, binding = 2) readonly buffer Saved { VEC saved[]; };  // the SAVED_ rows
layout(std430, set = 0, binding = 3) writeonly buffer Scratch { VEC scratch[]; };
#ifdef MASKED
ROWS_BUFFER(4, mask);
#endif
void main() {
  RowWalk w = this_row_walk();
  if (!w.in_range) return;
  VEC mean_hi = saved[SAVED_MEAN_HI * pc.channels + w.channel];
  VEC mean_lo = saved[SAVED_MEAN_LO * pc.channels + w.channel];
  VEC fwd_scale = saved[SAVED_SCALE * pc.channels + w.channel];
  VEC fwd_shift = saved[SAVED_SHIFT * pc.channels + w.channel];
  bool relu = pc.relu != 0u;
  VEC sum_dy = VEC(0.0), sum_dy_centered = VEC(0.0);
  for (uint r = w.first; r < w.end; ++r) {
    uint i = r * pc.channels + w.channel;
    precise VEC centered = (LOAD(x, i) - mean_hi) - mean_lo;
    VEC g = LOAD(dy, i);
#ifdef MASKED
    g = relu_gradient(LOAD(mask, i), g);
#else
    if (relu) g = relu_gradient(batchnorm_output(centered, fwd_scale, fwd_shift), g);
#endif
    sum_dy += g;
    sum_dy_centered += g * centered;
  }
  scratch[partial_index(0u, w.slot, w.channel)] = sum_dy;
  scratch[partial_index(1u, w.slot, w.channel)] = sum_dy_centered;
}
