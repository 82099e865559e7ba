#version 450
// Softmax cross-entropy, pass 2 of 2: one invocation combines the per-sample values of
// softmax_ce_rows in sample order (fixed order, no atomics), into the summary of the metrics tensor.
#include "common.glsl"
#include "push_loss.h"
layout(push_constant) uniform PushBlock { CrossEntropyPush pc; };
layout(std430, set = 0, binding = 0) buffer Metrics { float metrics[]; };
void main() {
  if (linear_invocation_id() != 0u) return;
  float loss_sum = 0.0, top1 = 0.0, top5 = 0.0, invalid = 0.0;
  for (uint b = 0; b < pc.n; ++b) {
    float above = metrics[CE_SUMMARY_FLOATS + pc.n + b];
    if (above < 0.0) {
      invalid += 1.0;
      continue;
    }
    loss_sum += metrics[CE_SUMMARY_FLOATS + b];
    top1 += above < 1.0 ? 1.0 : 0.0;
    top5 += above < 5.0 ? 1.0 : 0.0;
  }
  metrics[CE_LOSS_MEAN] = loss_sum / float(pc.n);
  metrics[CE_LOSS_SUM] = loss_sum;
  metrics[CE_CORRECT_TOP1] = top1;
  metrics[CE_CORRECT_TOP5] = top5;
  metrics[CE_INVALID_LABELS] = invalid;
}
