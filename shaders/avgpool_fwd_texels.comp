#version 450
// avgpool_fwd on four channels per invocation (c a multiple of 4), x read through an rgba32f texel
// buffer: each component takes the scalar kernel's compensated sum in the same order, so the same
// values, with a quarter of the loads (per-lane storage loads are CPU drivers' slowest kind).
#include "common.glsl"
#include "push_pool.h"
layout(push_constant) uniform PushBlock { AvgPoolPush pc; };
layout(set = 0, binding = 0) uniform samplerBuffer x4;                  // [n][pixels][c / 4]
layout(std430, set = 0, binding = 1) writeonly buffer Y { vec4 y[]; };  // [n][c / 4]
void main() {
  const uint c4 = pc.c / 4u;
  const uint i = linear_invocation_id();
  if (i >= pc.n * c4) return;
  const uint b = i / c4, ch4 = i % c4;
  precise vec4 sum = vec4(0.0), lost = vec4(0.0);
  for (uint p = 0; p < pc.pixels; ++p) {
    precise vec4 term = texelFetch(x4, int((b * pc.pixels + p) * c4 + ch4)) - lost;
    precise vec4 next = sum + term;
    lost = (next - sum) - term;
    sum = next;
  }
  y[i] = sum / float(pc.pixels);
}
