#version 450
// dst (=|+=) src: passes a gradient through (residual fan-out) without a transfer command.
#include "common.glsl"
#include "push_elementwise.h"
layout(push_constant) uniform PushBlock { ElementwisePush pc; };
layout(std430, set = 0, binding = 0) readonly buffer Src { float src[]; };
layout(std430, set = 0, binding = 1) buffer Dst { float dst[]; };
void main() {
  uint i = linear_invocation_id();
  if (i >= pc.count) return;
  dst[i] = pc.accumulate != 0u ? dst[i] + src[i] : src[i];
}
