#version 450
// shortcut_fwd on four channels per texel (cin, cout and pad_before multiples of 4): x read
// through an rgba32f texel buffer, y written as vec4s. One invocation per output pixel walks its
// channels, so the pixel's coordinates (divisions, which CPU drivers do lane by lane) are found
// once per pixel rather than once per texel.
#include "common.glsl"
#include "push_shortcut.h"
layout(push_constant) uniform PushBlock { ShortcutPush pc; };
layout(set = 0, binding = 0) uniform samplerBuffer x4;                  // [n][h][w][cin / 4]
layout(std430, set = 0, binding = 1) writeonly buffer Y { vec4 y[]; };  // [n][oh][ow][cout / 4]
void main() {
  const uint cin4 = pc.cin / 4u, cout4 = pc.cout / 4u, pad4 = pc.pad_before / 4u;
  const uint pixel = linear_invocation_id();
  if (pixel >= pc.n * pc.oh * pc.ow) return;
  const uint ox = pixel % pc.ow, oy = (pixel / pc.ow) % pc.oh, b = pixel / (pc.ow * pc.oh);
  const int src = int(((b * pc.h + oy * pc.stride) * pc.w + ox * pc.stride) * cin4);
  const uint dst = pixel * cout4;
  for (uint c4 = 0u; c4 < cout4; ++c4) {
    // Unsigned wrap-around sends the texels below pad_before past cin4 as well.
    const uint ci4 = c4 - pad4;
    y[dst + c4] = ci4 < cin4 ? texelFetch(x4, src + int(ci4)) : vec4(0.0);
  }
}
