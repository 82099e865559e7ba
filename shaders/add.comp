#version 450
// y (=|+=) a + b: the residual add, and gradient accumulation (a = dst's old value is not needed:
// accumulate mode adds a + b onto y). With pc.relu, y = max(a + b, 0) as relu_fwd computes it, so
// fusing the ReLU changes no bit.
#include "common.glsl"
#include "push_elementwise.h"
layout(push_constant) uniform PushBlock { ElementwisePush pc; };
layout(std430, set = 0, binding = 0) readonly buffer A { float a[]; };
layout(std430, set = 0, binding = 1) readonly buffer B { float b[]; };
layout(std430, set = 0, binding = 2) buffer Y { float y[]; };
void main() {
  uint i = linear_invocation_id();
  if (i >= pc.count) return;
  float v = a[i] + b[i];
  if (pc.relu != 0u) v = max(v, 0.0);
  y[i] = pc.accumulate != 0u ? y[i] + v : v;
}
