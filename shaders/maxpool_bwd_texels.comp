#version 450
// maxpool_bwd.comp for c a multiple of 4: four channels per invocation, argmax and dy read through
// rgba32i and rgba32f texel views, dx four at a time. Per channel the same additions in the same order (a
// window whose argmax is elsewhere adds nothing, not even a zero), so the same bits.
#include "common.glsl"
#include "push_pool.h"
layout(push_constant) uniform PushBlock { MaxPoolPush pc; };
layout(set = 0, binding = 0) uniform isamplerBuffer argmax4;      // [n][oh][ow][c / 4]
layout(set = 0, binding = 1) uniform samplerBuffer dy4;            // [n][oh][ow][c / 4]
layout(std430, set = 0, binding = 2) buffer DX { vec4 dx4[]; };    // [n][h][w][c / 4]

// [begin, end) of the output positions along one axis whose window covers input position `at`
// (as in maxpool_bwd.comp).
uvec2 covering_windows(uint at, uint kernel, uint stride, uint pad, uint out_size) {
  const uint padded = at + pad;
  const uint begin = padded < kernel ? 0u : (padded - kernel) / stride + 1u;
  const uint end = min(padded / stride + 1u, out_size);
  return uvec2(begin, end);
}

void main() {
  const uint i = linear_invocation_id();
  const uint c4 = pc.c / 4u;
  if (i >= pc.n * pc.h * pc.w * c4) return;
  const uint ch4 = i % c4, pixel = i / c4;
  const uint ix = pixel % pc.w, iy = (pixel / pc.w) % pc.h, b = pixel / (pc.w * pc.h);
  const ivec4 here = ivec4(int(iy * pc.w + ix));
  const uvec2 rows = covering_windows(iy, pc.kh, pc.stride_h, pc.pad_h, pc.oh);
  const uvec2 cols = covering_windows(ix, pc.kw, pc.stride_w, pc.pad_w, pc.ow);
  vec4 g = vec4(0.0);
  for (uint oy = rows.x; oy < rows.y; ++oy) {
    for (uint ox = cols.x; ox < cols.y; ++ox) {
      const int o = int(((b * pc.oh + oy) * pc.ow + ox) * c4 + ch4);
      g = mix(g, g + texelFetch(dy4, o), equal(texelFetch(argmax4, o), here));
    }
  }
  dx4[i] = pc.accumulate != 0u ? dx4[i] + g : g;
}
