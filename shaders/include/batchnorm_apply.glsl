// Forward, last pass (body of batchnorm_apply[_add][_vec4|_texels].comp, which define VEC as float or
// vec4): y = ((x - mean_hi) - mean_lo) * scale + shift, per-channel coefficients loaded once. With
// RESIDUAL defined, y + residual as the add kernel sums them (a residual block's close); with
// pc.relu, max(y, 0) as relu_fwd computes it. Neither fusion changes a bit.
#include "batchnorm_common.glsl"
ROWS_BUFFER(0, x);
layout(std430, set = 0, binding = 1) readonly buffer Scratch { VEC scratch[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Y { VEC y[]; };
#ifdef RESIDUAL
ROWS_BUFFER(3, residual);
#endif
void main() {
  RowWalk w = this_row_walk();
  if (!w.in_range) return;
  VEC mean_hi = scratch[coeff_index(COEFF_MEAN_HI, w.channel)];
  VEC mean_lo = scratch[coeff_index(COEFF_MEAN_LO, w.channel)];
  VEC scale = scratch[coeff_index(COEFF_SCALE, w.channel)];
  VEC shift = scratch[coeff_index(COEFF_SHIFT, w.channel)];
  for (uint r = w.first; r < w.end; ++r) {
    uint i = r * pc.channels + w.channel;
    precise VEC centered = (LOAD(x, i) - mean_hi) - mean_lo;
#ifdef RESIDUAL
    precise VEC v = batchnorm_output(centered, scale, shift) + LOAD(residual, i);
#else
    const VEC v = batchnorm_output(centered, scale, shift);
#endif
    y[i] = pc.relu != 0u ? max(v, VEC(0.0)) : v;
  }
}
