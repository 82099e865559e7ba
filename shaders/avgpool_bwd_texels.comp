#version 450
// avgpool_bwd on four channels per texel (c a multiple of 4): one invocation per (image, texel of
// channels) loads its dy once and writes it, divided, to every pixel of the image, as vec4s. The
// same values as the scalar kernel, with a load per image instead of one per element.
#include "common.glsl"
#include "push_pool.h"
layout(push_constant) uniform PushBlock { AvgPoolPush pc; };
layout(set = 0, binding = 0) uniform samplerBuffer dy4;       // [n][c / 4]
layout(std430, set = 0, binding = 1) buffer DX { vec4 dx[]; };  // [n][pixels][c / 4]
void main() {
  const uint c4 = pc.c / 4u;
  const uint i = linear_invocation_id();
  if (i >= pc.n * c4) return;
  const uint b = i / c4, ch4 = i % c4;
  const vec4 g = texelFetch(dy4, int(i)) / float(pc.pixels);
  const bool accumulate = pc.accumulate != 0u;
  for (uint p = 0; p < pc.pixels; ++p) {
    const uint j = (b * pc.pixels + p) * c4 + ch4;
    if (accumulate) dx[j] += g;
    else dx[j] = g;
  }
}
