#version 450
// Memory bandwidth: dst = src, one vec4 per invocation.
#include "common.glsl"
#include "push_bench.h"
layout(push_constant) uniform PushBlock { BenchCopyPush pc; };
layout(std430, set = 0, binding = 0) readonly buffer Src { vec4 src[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Dst { vec4 dst[]; };
void main() {
  uint i = linear_invocation_id();
  if (i < pc.vec4_count) dst[i] = src[i];
}
