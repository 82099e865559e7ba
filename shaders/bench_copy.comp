#version 450
// Memory bandwidth: dst = src in vec4s. Each workgroup copies one contiguous chunk, its lanes
// side by side on every step, so that per-workgroup start-up cost (high on CPU drivers) is paid
// once per chunk rather than once per vec4.
#include "common.glsl"
#include "push_bench.h"
layout(push_constant) uniform PushBlock { BenchCopyPush pc; };
layout(std430, set = 0, binding = 0) readonly buffer Src { vec4 src[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Dst { vec4 dst[]; };
void main() {
  const uint chunk = LOCAL_SIZE_X * pc.vec4_per_invocation;
  const uint begin = linear_group_id() * chunk + gl_LocalInvocationID.x;
  const uint end = min(linear_group_id() * chunk + chunk, pc.vec4_count);
  for (uint i = begin; i < end; i += LOCAL_SIZE_X) dst[i] = src[i];
}
