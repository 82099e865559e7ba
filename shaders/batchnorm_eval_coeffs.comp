#version 450
// Evaluation forward, pass 1, one invocation per channel: the coefficients of batchnorm_apply from
// the running statistics.
#include "batchnorm_common.glsl"
layout(std430, set = 0, binding = 0) readonly buffer Affine { float affine[]; };    // [gamma; beta]
layout(std430, set = 0, binding = 1) readonly buffer Running { float running[]; };  // [mean; var]
layout(std430, set = 0, binding = 2) writeonly buffer Scratch { float scratch[]; };
void main() {
  uint c = linear_invocation_id();
  if (c >= pc.channels) return;
  scratch[coeff_index(COEFF_MEAN_HI, c)] = running[c];
  scratch[coeff_index(COEFF_MEAN_LO, c)] = 0.0;
  scratch[coeff_index(COEFF_SCALE, c)] = affine[c] / sqrt(running[pc.channels + c] + pc.eps);
  scratch[coeff_index(COEFF_SHIFT, c)] = affine[pc.channels + c];
}
