// Push constants of the softmax cross-entropy kernels (softmax_ce_*), and the layout of their
// metrics tensor, shared by the kernels and the host.
#ifndef VKRES_PUSH_LOSS_H
#define VKRES_PUSH_LOSS_H
#include "push.h"
#ifdef __cplusplus
namespace vkres::push {
#endif

// logits [n][classes]; smoothing is PyTorch's label_smoothing. accumulate: dlogits += result.
VKRES_PUSH(CrossEntropyPush) {
  uint n;
  uint classes;
  float smoothing;
  uint accumulate;
} VKRES_PUSH_END

// The metrics tensor, in floats: a summary, then per-sample values (counts are exact up to 2^24).
const uint CE_LOSS_MEAN = 0u;       // the loss: mean over the batch
const uint CE_LOSS_SUM = 1u;        // sum of the per-sample losses
const uint CE_CORRECT_TOP1 = 2u;    // samples whose label's logit has no class strictly above it
const uint CE_CORRECT_TOP5 = 3u;    // ... fewer than 5 classes strictly above it
const uint CE_INVALID_LABELS = 4u;  // labels outside [0, classes): nonzero means the batch is bad
const uint CE_SUMMARY_FLOATS = 5u;
// [CE_SUMMARY_FLOATS, +n): per-sample loss (0 for an invalid label).
// [CE_SUMMARY_FLOATS + n, +n): per-sample count of classes strictly above the label, -1 if invalid.

#ifdef __cplusplus
}
#endif
#endif
