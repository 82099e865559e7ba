#version 450
// One torch.optim.SGD step without momentum (no buffer to bind), in place:
//   param -= lr * (grad + weight_decay * param)
// lr comes from the hyper tensor, so a recorded step replays unchanged.
#include "common.glsl"
#include "push_sgd.h"
layout(push_constant) uniform PushBlock { SgdPush pc; };
layout(std430, set = 0, binding = 0) buffer Param { float param[]; };
layout(std430, set = 0, binding = 1) readonly buffer Grad { float grad[]; };
layout(std430, set = 0, binding = 2) readonly buffer Hyper { float hyper[]; };
void main() {
  uint i = linear_invocation_id();
  if (i >= pc.count) return;
  float p = param[i];
  param[i] = p - hyper[SGD_HYPER_LR] * (grad[i] + pc.weight_decay * p);
}
