#version 450
// shortcut_bwd on four channels per invocation (cin, cout and pad_before multiples of 4): dy read
// through an rgba32f texel buffer, dx (=|+=) written as vec4s. The same values, far fewer per-lane
// loops.
#include "common.glsl"
#include "push_shortcut.h"
layout(push_constant) uniform PushBlock { ShortcutPush pc; };
layout(set = 0, binding = 0) uniform samplerBuffer dy4;       // [n][oh][ow][cout / 4]
layout(std430, set = 0, binding = 1) buffer DX { vec4 dx[]; };  // [n][h][w][cin / 4]
void main() {
  const uint cin4 = pc.cin / 4u, cout4 = pc.cout / 4u;
  const uint i = linear_invocation_id();
  if (i >= pc.n * pc.h * pc.w * cin4) return;
  const uint c4 = i % cin4, pixel = i / cin4;
  const uint ix = pixel % pc.w, iy = (pixel / pc.w) % pc.h, b = pixel / (pc.w * pc.h);
  const bool sampled = iy % pc.stride == 0u && ix % pc.stride == 0u;
  const int src = int(((b * pc.oh + iy / pc.stride) * pc.ow + ix / pc.stride) * cout4 + pc.pad_before / 4u + c4);
  const vec4 g = sampled ? texelFetch(dy4, src) : vec4(0.0);
  dx[i] = pc.accumulate != 0u ? dx[i] + g : g;
}
