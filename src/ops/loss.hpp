// Softmax cross-entropy (torch.nn.CrossEntropyLoss with label_smoothing, mean over the batch),
// its gradient, and the batch's loss and top-1 / top-5 counts.
#pragma once

#include <span>

#include "ops/common.hpp"

namespace vkres::ops {

// The metrics tensor, floats (layout in shaders/include/push_loss.h):
//   [0] loss (batch mean)  [1] loss sum  [2] correct top-1  [3] correct top-5  [4] invalid labels
//   [5, 5 + n) per-sample loss          [5 + n, 5 + 2n) per-sample classes ranked above the label
// A sample is correct at k when fewer than k classes have a logit strictly greater than its
// label's. A label outside [0, classes) is counted in [4], its loss is 0 and rank -1, and its
// dlogits row is zero; the batch's loss then means nothing, so read_cross_entropy_metrics throws.
uint64_t cross_entropy_metrics_floats(uint32_t n);

// logits [n][classes] fp32, labels [n] int32 -> dlogits [n][classes] (the gradient of the mean
// loss) and metrics. Two dispatches: per-sample values, then a fixed-order reduction over the batch.
void softmax_cross_entropy(OpSink& sink, uint32_t n, uint32_t classes, float smoothing, TensorId logits,
                           TensorId labels, GradOut dlogits, TensorId metrics);

struct CrossEntropyMetrics {
  double loss = 0;  // batch mean
  double loss_sum = 0;
  uint64_t correct_top1 = 0;
  uint64_t correct_top5 = 0;
};
// The summary of a downloaded metrics tensor; throws Error when the batch had invalid labels.
CrossEntropyMetrics read_cross_entropy_metrics(std::span<const float> metrics, uint32_t classes);

}  // namespace vkres::ops
