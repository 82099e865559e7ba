#version 450
// dst[i] = value: clears gradients and optimizer state.
#include "common.glsl"
#include "push_elementwise.h"
layout(push_constant) uniform PushBlock { FillPush pc; };
layout(std430, set = 0, binding = 0) writeonly buffer Dst { float dst[]; };
void main() {
  uint i = linear_invocation_id();
  if (i < pc.count) dst[i] = pc.value;
}
