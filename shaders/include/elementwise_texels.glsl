// Shared by the _texels elementwise kernels: vec4 elements, inputs read through rgba32f texel
// buffers, outputs written as vec4 storage. On CPU drivers a workgroup's start-up is costly and
// per-lane storage loads are scalar loops, so each workgroup owns one contiguous chunk of
// VEC4_PER_LANE * LOCAL_SIZE_X vec4s that its lanes walk side by side (as bench_copy does).
#ifndef VKRES_ELEMENTWISE_TEXELS_GLSL
#define VKRES_ELEMENTWISE_TEXELS_GLSL

#include "common.glsl"
#include "push_elementwise.h"
layout(push_constant) uniform PushBlock { ElementwisePush pc; };  // count in vec4s

const uint VEC4_PER_LANE = 16u;  // kVec4PerLane in src/ops/elementwise.cpp

// [first vec4 of this lane, end of the workgroup's chunk); step LOCAL_SIZE_X.
uvec2 lane_range() {
  const uint chunk = LOCAL_SIZE_X * VEC4_PER_LANE;
  const uint begin = linear_group_id() * chunk;
  return uvec2(begin + gl_LocalInvocationID.x, min(begin + chunk, pc.count));
}

#endif
