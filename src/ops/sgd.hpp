// One step of torch.optim.SGD over flat parameter, gradient and momentum arrays.
#pragma once

#include <array>

#include "ops/common.hpp"
#include "push_sgd.h"

namespace vkres::ops {

// The hyperparameters fixed when the step is recorded (push constants). torch.optim.SGD's rules
// apply: none negative, and Nesterov needs momentum > 0 and dampening == 0.
struct SgdConfig {
  float momentum = 0.9f;
  float dampening = 0.0f;
  float weight_decay = 0.0f;
  bool nesterov = false;
};

// The hyper tensor holds what changes between replays of a recorded step, as floats:
//   [0] lr   [1] first step: 1 makes the momentum buffer the gradient (PyTorch creates it then), 0 updates it
using SgdHyper = std::array<float, push::SGD_HYPER_FLOATS>;
SgdHyper sgd_hyper(float lr, bool first_step);

// In place, for count floats:
//   g = grad + weight_decay * param
//   if momentum != 0: buf = (first step ? g : momentum * buf + (1 - dampening) * g)
//                     g = nesterov ? g + momentum * buf : buf
//   param -= lr * g
// momentum_buf is neither bound nor touched when cfg.momentum == 0 (pass TensorId{}).
// Throws Error when cfg breaks torch.optim.SGD's rules.
void sgd_step(OpSink& sink, const SgdConfig& cfg, TensorId param, TensorId grad, TensorId momentum_buf, TensorId hyper,
              uint64_t count);

}  // namespace vkres::ops
