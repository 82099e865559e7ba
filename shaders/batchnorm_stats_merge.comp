#version 450
// Training forward, pass 2, one invocation per channel: merges the partial (mean, M2) in slot order
// (Chan et al.), updates the running statistics, saves (mean, invstd, mean_lo, scale, beta) for the
// backward pass and leaves the coefficients of y = ((x - mean_hi) - mean_lo) * scale + beta in scratch.
#include "batchnorm_common.glsl"
layout(std430, set = 0, binding = 0) buffer Scratch { float scratch[]; };
layout(std430, set = 0, binding = 1) readonly buffer Affine { float affine[]; };    // [gamma; beta]
layout(std430, set = 0, binding = 2) buffer Running { float running[]; };         // [mean; var]
layout(std430, set = 0, binding = 3) writeonly buffer Saved { float saved[]; };   // the SAVED_ rows
void main() {
  uint c = linear_invocation_id();
  if (c >= pc.channels) return;
  float n = 0.0, mean = 0.0, m2 = 0.0;
  for (uint s = 0u; s < slot_count(); ++s) {
    float nb = float(rows_in_slot(s));
    if (nb == 0.0) continue;
    float total = n + nb;
    float delta = scratch[partial_index(0u, s, c)] - mean;
    mean += delta * (nb / total);
    m2 += scratch[partial_index(1u, s, c)] + delta * delta * (n * nb / total);
    n = total;
  }
  // mean_hi + mean_lo = pivot + mean exactly (Knuth's TwoSum; mean_part is the share of mean that
  // made it into mean_hi). precise keeps the compiler from simplifying the rounding errors away.
  float pivot = scratch[coeff_index(COEFF_MEAN_HI, c)];
  precise float mean_hi = pivot + mean;
  precise float mean_part = mean_hi - pivot;
  precise float mean_lo = (pivot - (mean_hi - mean_part)) + (mean - mean_part);

  float var = m2 / float(pc.count);
  float invstd = 1.0 / sqrt(var + pc.eps);
  float unbiased_var = m2 / float(pc.count - 1u);
  running[c] = (1.0 - pc.momentum) * running[c] + pc.momentum * mean_hi;
  running[pc.channels + c] = (1.0 - pc.momentum) * running[pc.channels + c] + pc.momentum * unbiased_var;

  float scale = affine[c] * invstd;
  float shift = affine[pc.channels + c];
  saved[SAVED_MEAN_HI * pc.channels + c] = mean_hi;
  saved[SAVED_INVSTD * pc.channels + c] = invstd;
  saved[SAVED_MEAN_LO * pc.channels + c] = mean_lo;
  saved[SAVED_SCALE * pc.channels + c] = scale;
  saved[SAVED_SHIFT * pc.channels + c] = shift;

  scratch[coeff_index(COEFF_MEAN_HI, c)] = mean_hi;
  scratch[coeff_index(COEFF_MEAN_LO, c)] = mean_lo;
  scratch[coeff_index(COEFF_SCALE, c)] = scale;
  scratch[coeff_index(COEFF_SHIFT, c)] = shift;
}
