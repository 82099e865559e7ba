#version 450
// dx[b][pixel][ch] (=|+=) dy[b][ch] / pixels.
#include "common.glsl"
#include "push_pool.h"
layout(push_constant) uniform PushBlock { AvgPoolPush pc; };
layout(std430, set = 0, binding = 0) readonly buffer DY { float dy[]; };
layout(std430, set = 0, binding = 1) buffer DX { float dx[]; };
void main() {
  uint i = linear_invocation_id();
  if (i >= pc.n * pc.pixels * pc.c) return;
  uint b = i / (pc.pixels * pc.c), ch = i % pc.c;
  float g = dy[b * pc.c + ch] / float(pc.pixels);
  dx[i] = pc.accumulate != 0u ? dx[i] + g : g;
}
