#version 450
// Training backward, pass 2, one invocation per channel: adds the partial sums in slot order into
// dbeta = sum(dy) and dgamma = invstd * sum(dy * (x - mean)), and leaves the coefficients of
// dx = scale * ((dy - mean(dy)) - (x - mean) * proj) in scratch.
#include "batchnorm_common.glsl"
layout(std430, set = 0, binding = 0) buffer Scratch { float scratch[]; };
layout(std430, set = 0, binding = 1) readonly buffer Affine { float affine[]; };  // [gamma; beta]
layout(std430, set = 0, binding = 2) readonly buffer Saved { float saved[]; };    // the SAVED_ rows
layout(std430, set = 0, binding = 3) buffer DAffine { float daffine[]; };         // [dgamma; dbeta]
void main() {
  uint c = linear_invocation_id();
  if (c >= pc.channels) return;
  float sum_dy = 0.0, sum_dy_centered = 0.0;
  for (uint s = 0u; s < slot_count(); ++s) {
    sum_dy += scratch[partial_index(0u, s, c)];
    sum_dy_centered += scratch[partial_index(1u, s, c)];
  }
  float invstd = saved[SAVED_INVSTD * pc.channels + c];
  float dgamma = sum_dy_centered * invstd;
  float dbeta = sum_dy;
  bool accumulate = pc.accumulate != 0u;
  daffine[c] = accumulate ? daffine[c] + dgamma : dgamma;
  daffine[pc.channels + c] = accumulate ? daffine[pc.channels + c] + dbeta : dbeta;

  float count = float(pc.count);
  scratch[coeff_index(COEFF_MEAN_HI, c)] = saved[SAVED_MEAN_HI * pc.channels + c];
  scratch[coeff_index(COEFF_MEAN_LO, c)] = saved[SAVED_MEAN_LO * pc.channels + c];
  scratch[coeff_index(COEFF_FWD_SHIFT, c)] = saved[SAVED_SHIFT * pc.channels + c];
  scratch[coeff_index(COEFF_SCALE, c)] = affine[c] * invstd;
  scratch[coeff_index(COEFF_SHIFT, c)] = sum_dy / count;
  scratch[coeff_index(COEFF_PROJ, c)] = dgamma * invstd / count;
}
