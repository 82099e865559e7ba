// Push constants of the SGD kernels (sgd*), and the layout of their hyper tensor: the values that
// change between replays of a recorded step live in a buffer, not in push constants.
#ifndef VKRES_PUSH_SGD_H
#define VKRES_PUSH_SGD_H
#include "push.h"
#ifdef __cplusplus
namespace vkres::push {
#endif

// torch.optim.SGD's fixed hyperparameters; nesterov is 0 or 1.
VKRES_PUSH(SgdPush) {
  uint count;
  float momentum;
  float dampening;
  float weight_decay;
  uint nesterov;
} VKRES_PUSH_END

// The hyper tensor, in floats.
const uint SGD_HYPER_LR = 0u;          // learning rate of this step
const uint SGD_HYPER_FIRST_STEP = 1u;  // 1: the momentum buffer starts as the gradient; 0: it updates
const uint SGD_HYPER_FLOATS = 2u;

#ifdef __cplusplus
}
#endif
#endif
