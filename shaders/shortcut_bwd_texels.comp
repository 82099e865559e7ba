#version 450
// shortcut_bwd on four channels per texel (cin, cout and pad_before multiples of 4): dy read
// through an rgba32f texel buffer, dx (=|+=) written as vec4s. One invocation per pixel walks its
// channels, so the pixel's coordinates (divisions, which CPU drivers do lane by lane) are found
// once per pixel rather than once per texel. Accumulating, only the sampled pixels are visited:
// the others would add zeros, which leave every value as it is.
#include "common.glsl"
#include "push_shortcut.h"
layout(push_constant) uniform PushBlock { ShortcutPush pc; };
layout(set = 0, binding = 0) uniform samplerBuffer dy4;       // [n][oh][ow][cout / 4]
layout(std430, set = 0, binding = 1) buffer DX { vec4 dx[]; };  // [n][h][w][cin / 4]
void main() {
  const uint cin4 = pc.cin / 4u, cout4 = pc.cout / 4u;
  const uint q = linear_invocation_id();
  const bool accumulate = pc.accumulate != 0u;
  // Accumulating, q walks the output grid (every pixel of it is a sampled input pixel); writing,
  // the input grid.
  const uint rows = accumulate ? pc.oh : pc.h, cols = accumulate ? pc.ow : pc.w;
  if (q >= pc.n * rows * cols) return;
  const uint col = q % cols, row = (q / cols) % rows, b = q / (cols * rows);
  // The pixel of dx, and the pixel of dy it takes where it is sampled.
  const uint iy = accumulate ? row * pc.stride : row, ix = accumulate ? col * pc.stride : col;
  const uint oy = accumulate ? row : row / pc.stride, ox = accumulate ? col : col / pc.stride;
  const bool sampled = accumulate || (iy % pc.stride == 0u && ix % pc.stride == 0u);
  const int src = int(((b * pc.oh + oy) * pc.ow + ox) * cout4 + pc.pad_before / 4u);
  const uint dst = ((b * pc.h + iy) * pc.w + ix) * cin4;
  for (uint c4 = 0u; c4 < cin4; ++c4) {
    const vec4 g = sampled ? texelFetch(dy4, src + int(c4)) : vec4(0.0);
    if (accumulate) dx[dst + c4] += g;
    else dx[dst + c4] = g;
  }
}
