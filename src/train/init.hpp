// The starting weights of a fresh run, as torchvision initializes its ResNets: conv weights
// He-normal with fan_out (std = sqrt(2 / (cout * kh * kw))), BN gamma 1 and beta 0 (gamma 0 on the
// last BN of each residual branch with zero_init_last_bn), the classifier as nn.Linear's default
// (weight and bias uniform in +-1/sqrt(in_features)), running statistics 0 and 1.
// Every value is a pure function of (seed, entry name, index): the same seed gives the same bits
// on every machine, whatever the order entries are asked for in.
#pragma once

#include <cstdint>

#include "nn/model_state.hpp"

namespace vkres::train {

nn::ModelState::StateValues initial_values(const nn::ModelSpec& spec, uint64_t seed);

}  // namespace vkres::train
