// Training forward, pass 1 (body of batchnorm_stats[_vec4|_texels].comp, which define VEC as float or
// vec4): the (mean, M2) of each invocation's rows of one channel, by Welford's update.
// Deviations are taken from a pivot, x[row 0], so that the merged mean can be split exactly into
// pivot + offset; the pivot goes to the mean-hi coefficient row for the merge pass to pick up.
#include "batchnorm_common.glsl"
ROWS_BUFFER(0, x);
layout(std430, set = 0, binding = 1) writeonly buffer Scratch { VEC scratch[]; };
void main() {
  RowWalk w = this_row_walk();
  if (!w.in_range) return;
  VEC pivot = LOAD(x, w.channel);
  VEC mean = VEC(0.0), m2 = VEC(0.0);
  float n = 0.0;
  for (uint r = w.first; r < w.end; ++r) {
    VEC d = LOAD(x, r * pc.channels + w.channel) - pivot;
    n += 1.0;
    VEC delta = d - mean;
    mean += delta / n;
    m2 += delta * (d - mean);
  }
  scratch[partial_index(0u, w.slot, w.channel)] = mean;
  scratch[partial_index(1u, w.slot, w.channel)] = m2;
  if (w.slot == 0u) scratch[coeff_index(COEFF_MEAN_HI, w.channel)] = pivot;
}
