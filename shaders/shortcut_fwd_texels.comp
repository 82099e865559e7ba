#version 450
// shortcut_fwd on four channels per invocation (cin, cout and pad_before multiples of 4): x read
// through an rgba32f texel buffer, y written as vec4s. The same values, far fewer per-lane loops.
#include "common.glsl"
#include "push_shortcut.h"
layout(push_constant) uniform PushBlock { ShortcutPush pc; };
layout(set = 0, binding = 0) uniform samplerBuffer x4;                  // [n][h][w][cin / 4]
layout(std430, set = 0, binding = 1) writeonly buffer Y { vec4 y[]; };  // [n][oh][ow][cout / 4]
void main() {
  const uint cin4 = pc.cin / 4u, cout4 = pc.cout / 4u;
  const uint i = linear_invocation_id();
  if (i >= pc.n * pc.oh * pc.ow * cout4) return;
  const uint c4 = i % cout4, pixel = i / cout4;
  const uint ox = pixel % pc.ow, oy = (pixel / pc.ow) % pc.oh, b = pixel / (pc.ow * pc.oh);
  // Unsigned wrap-around sends the texels below pad_before past cin4 as well.
  const uint ci4 = c4 - pc.pad_before / 4u;
  const int src = int(((b * pc.h + oy * pc.stride) * pc.w + ox * pc.stride) * cin4 + ci4);
  y[i] = ci4 < cin4 ? texelFetch(x4, src) : vec4(0.0);
}
