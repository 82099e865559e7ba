#version 450
// y = max(x, 0)
#include "common.glsl"
#include "push_elementwise.h"
layout(push_constant) uniform PushBlock { ElementwisePush pc; };
layout(std430, set = 0, binding = 0) readonly buffer X { float x[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Y { float y[]; };
void main() {
  uint i = linear_invocation_id();
  if (i < pc.count) y[i] = max(x[i], 0.0);
}
