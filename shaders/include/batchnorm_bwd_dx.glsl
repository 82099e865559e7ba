// Training backward, last pass (body of batchnorm_bwd_dx[_vec4|_texels|_masked_texels].comp, which define
// VEC as float or vec4): dx (=|+=) scale * ((dy - mean(dy)) - (x - mean) * proj), coefficients loaded
// once. With pc.relu, dy is masked first as in batchnorm_bwd_sums.glsl. With MASKED defined, dy is the
// gradient of relu(batchnorm(x) + residual), masked where that ReLU's output `mask` is not positive,
// as relu_bwd would; the masked dy, which is also the residual's gradient, goes back over dy in place
// (binding 5 is dy's storage), so that no pass of its own makes it.
#include "batchnorm_common.glsl"
ROWS_BUFFER(0, x);
ROWS_BUFFER(1, dy);
layout(std430, set = 0, binding = 2) readonly buffer Scratch { VEC scratch[]; };
layout(std430, set = 0, binding = 3) buffer DX { VEC dx[]; };
#ifdef MASKED
ROWS_BUFFER(4, mask);
layout(std430, set = 0, binding = 5) writeonly buffer MaskedDY { VEC masked_dy[]; };
#endif
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
#ifdef MASKED
    d = relu_gradient(LOAD(mask, i), d);
    masked_dy[i] = d;
#else
    if (relu) d = relu_gradient(batchnorm_output(centered, scale, fwd_shift), d);
#endif
    VEC g = scale * ((d - dy_mean) - centered * proj);
    dx[i] = accumulate ? dx[i] + g : g;
  }
}
