#version 450
// Softmax cross-entropy, pass 1 of 2, one invocation per sample: its loss with PyTorch's label
// smoothing, how many classes have a logit strictly above its label's (top-k correctness), and
// its row of dlogits, the gradient of the batch-mean loss. softmax_ce_reduce sums over the batch.
// A label outside [0, classes) reads nothing: its sample is flagged and its gradient is zero.
#include "common.glsl"
#include "push_loss.h"
layout(push_constant) uniform PushBlock { CrossEntropyPush pc; };
layout(std430, set = 0, binding = 0) readonly buffer Logits { float logits[]; };
layout(std430, set = 0, binding = 1) readonly buffer Labels { int labels[]; };
layout(std430, set = 0, binding = 2) buffer DLogits { float dlogits[]; };
layout(std430, set = 0, binding = 3) writeonly buffer Metrics { float metrics[]; };

void store_gradient(uint at, float g) { dlogits[at] = pc.accumulate != 0u ? dlogits[at] + g : g; }

void main() {
  uint b = linear_invocation_id();
  if (b >= pc.n) return;
  uint row = b * pc.classes;
  uint loss_at = CE_SUMMARY_FLOATS + b, rank_at = CE_SUMMARY_FLOATS + pc.n + b;
  int label = labels[b];
  if (label < 0 || label >= int(pc.classes)) {
    metrics[loss_at] = 0.0;
    metrics[rank_at] = -1.0;
    for (uint j = 0; j < pc.classes; ++j) store_gradient(row + j, 0.0);
    return;
  }

  float label_logit = logits[row + uint(label)];
  float top = label_logit;
  for (uint j = 0; j < pc.classes; ++j) top = max(top, logits[row + j]);
  // Shifted by the maximum so that exp cannot overflow.
  float sum_exp = 0.0, sum_shifted = 0.0;
  uint above = 0u;
  for (uint j = 0; j < pc.classes; ++j) {
    float z = logits[row + j];
    sum_exp += exp(z - top);
    sum_shifted += z - top;
    if (z > label_logit) ++above;
  }
  float log_sum = log(sum_exp);
  // Smoothing mixes -log p(label) with the mean over classes of -log p(class).
  float nll = (top - label_logit) + log_sum;
  float mean_nll = log_sum - sum_shifted / float(pc.classes);
  metrics[loss_at] = (1.0 - pc.smoothing) * nll + pc.smoothing * mean_nll;
  metrics[rank_at] = float(above);

  // The targets sum to one, so d(loss)/dz_j = softmax_j - target_j; the batch mean divides by n.
  float uniform_target = pc.smoothing / float(pc.classes);
  for (uint j = 0; j < pc.classes; ++j) {
    float target = uniform_target + (j == uint(label) ? 1.0 - pc.smoothing : 0.0);
    float p = exp(logits[row + j] - top) / sum_exp;
    store_gradient(row + j, (p - target) / float(pc.n));
  }
}
