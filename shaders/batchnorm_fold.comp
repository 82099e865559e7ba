#version 450
// Evaluation: batch norm folded into the convolution before it, bn(conv(x, w)) = conv(x, w') + b'.
// The weight pass writes w'[c][k] = w[c][k] * scale[c]; the bias pass b'[c] = beta[c] - mean[c] * scale[c];
// scale = gamma / sqrt(running_var + eps), as batchnorm_eval_coeffs.comp computes it. Two passes of
// one kernel so that none binds more than 4 storage buffers.
#include "common.glsl"
#include "push_batchnorm.h"
layout(push_constant) uniform PushBlock { BatchNormFoldPush pc; };
layout(std430, set = 0, binding = 0) readonly buffer W { float w[]; };  // [channels][field]; any tensor in the bias pass
layout(std430, set = 0, binding = 1) readonly buffer Affine { float affine[]; };    // [gamma; beta]
layout(std430, set = 0, binding = 2) readonly buffer Running { float running[]; };  // [mean; var]
layout(std430, set = 0, binding = 3) writeonly buffer Folded { float folded[]; };   // w' or b'

void main() {
  const uint i = linear_invocation_id();
  const uint count = pc.bias != 0u ? pc.channels : pc.channels * pc.field;
  if (i >= count) return;
  const uint c = pc.bias != 0u ? i : i / pc.field;
  const float scale = affine[c] / sqrt(running[pc.channels + c] + pc.eps);
  folded[i] = pc.bias != 0u ? affine[pc.channels + c] - running[c] * scale : w[i] * scale;
}
