// Training backward, last pass (body of batchnorm_bwd_dx[_vec4|_texels].comp, which define VEC as float or
// vec4): dx (=|+=) scale * ((dy - mean(dy)) - (x - mean) * proj), coefficients loaded once. With
// pc.relu, dy is masked first as in batchnorm_bwd_sums.glsl.
#include "batchnorm_common.glsl"
ROWS_BUFFER(0, x);
ROWS_BUFFER(1, dy);
layout(std430, set = 0, binding = 2) readonly buffer Scratch { VEC scratch[]; };
layout(std430, set = 0, binding = 3) buffer DX { VEC dx[]; };
void main() {
  RowWalk w = this_row_walk();
  if (!w.in_range) return;
  VEC mean_hi = scratch[coeff_index(COEFF_MEAN_HI, w.channel)];
  VEC mean_lo = scratch[coeff_index(COEFF_MEAN_LO, w.channel)];
  VEC scale = scratch[coeff_index(COEFF_SCALE, w.channel)];
  VEC dy_mean = scratch[coeff_index(COEFF_SHIFT, w.channel)];
  VEC proj = scratch[coeff_index(COEFF_PROJ, w.channel)];
  VEC fwd_shift = scratch[coeff_index(COEFF_FWD_SHIFT, w.channel)];
  bool accumulate = pc.accumulate != 0u, relu = pc.relu != 0u;
  for (uint r = w.first; r < w.end; ++r) {
    uint i = r * pc.channels + w.channel;
    precise VEC centered = (LOAD(x, i) - mean_hi) - mean_lo;
    VEC d = LOAD(dy, i);
    if (relu) d = relu_gradient(batchnorm_output(centered, scale, fwd_shift), d);
    VEC g = scale * ((d - dy_mean) - centered * proj);
    dx[i] = accumulate ? dx[i] + g : g;
  }
}
