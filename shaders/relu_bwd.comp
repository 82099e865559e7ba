#version 450
// dx (=|+=) dy where x > 0, else 0. x may equally be the forward output: x > 0 iff y > 0.
#include "common.glsl"
#include "push_elementwise.h"
layout(push_constant) uniform PushBlock { ElementwisePush pc; };
layout(std430, set = 0, binding = 0) readonly buffer X { float x[]; };
layout(std430, set = 0, binding = 1) readonly buffer DY { float dy[]; };
layout(std430, set = 0, binding = 2) buffer DX { float dx[]; };
void main() {
  uint i = linear_invocation_id();
  if (i >= pc.count) return;
  float g = x[i] > 0.0 ? dy[i] : 0.0;
  dx[i] = pc.accumulate != 0u ? dx[i] + g : g;
}
