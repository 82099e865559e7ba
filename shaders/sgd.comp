#version 450
// One torch.optim.SGD step with momentum over a flat parameter array, in place:
//   g = grad + weight_decay * param
//   buf = first step ? g : momentum * buf + (1 - dampening) * g
//   param -= lr * (nesterov ? g + momentum * buf : buf)
// lr and the first-step flag come from the hyper tensor, so a recorded step replays unchanged.
#include "common.glsl"
#include "push_sgd.h"
layout(push_constant) uniform PushBlock { SgdPush pc; };
layout(std430, set = 0, binding = 0) buffer Param { float param[]; };
layout(std430, set = 0, binding = 1) readonly buffer Grad { float grad[]; };
layout(std430, set = 0, binding = 2) buffer Momentum { float momentum_buf[]; };
layout(std430, set = 0, binding = 3) readonly buffer Hyper { float hyper[]; };
void main() {
  uint i = linear_invocation_id();
  if (i >= pc.count) return;
  float p = param[i];
  float g = grad[i] + pc.weight_decay * p;
  float buf = hyper[SGD_HYPER_FIRST_STEP] != 0.0 ? g : pc.momentum * momentum_buf[i] + (1.0 - pc.dampening) * g;
  momentum_buf[i] = buf;
  float step = pc.nesterov != 0u ? g + pc.momentum * buf : buf;
  param[i] = p - hyper[SGD_HYPER_LR] * step;
}
