#version 450
// dx (=|+=) the sum of dy over the windows whose argmax is this element. A gather over the few
// windows that cover each input, in row-major window order: deterministic, and no atomics.
#include "common.glsl"
#include "push_pool.h"
layout(push_constant) uniform PushBlock { MaxPoolPush pc; };
layout(std430, set = 0, binding = 0) readonly buffer Argmax { int argmax[]; };
layout(std430, set = 0, binding = 1) readonly buffer DY { float dy[]; };
layout(std430, set = 0, binding = 2) buffer DX { float dx[]; };

// [begin, end) of the output positions along one axis whose window covers input position `at`:
// those o with o * stride - pad <= at <= o * stride - pad + kernel - 1.
uvec2 covering_windows(uint at, uint kernel, uint stride, uint pad, uint out_size) {
  uint padded = at + pad;
  uint begin = padded < kernel ? 0u : (padded - kernel) / stride + 1u;
  uint end = min(padded / stride + 1u, out_size);
  return uvec2(begin, end);
}

void main() {
  uint i = linear_invocation_id();
  if (i >= pc.n * pc.h * pc.w * pc.c) return;
  uint ch = i % pc.c;
  uint ix = (i / pc.c) % pc.w;
  uint iy = (i / (pc.c * pc.w)) % pc.h;
  uint b = i / (pc.c * pc.w * pc.h);
  int here = int(iy * pc.w + ix);
  uvec2 rows = covering_windows(iy, pc.kh, pc.stride_h, pc.pad_h, pc.oh);
  uvec2 cols = covering_windows(ix, pc.kw, pc.stride_w, pc.pad_w, pc.ow);
  float g = 0.0;
  for (uint oy = rows.x; oy < rows.y; ++oy) {
    for (uint ox = cols.x; ox < cols.y; ++ox) {
      uint o = ((b * pc.oh + oy) * pc.ow + ox) * pc.c + ch;
      if (argmax[o] == here) g += dy[o];
    }
  }
  dx[i] = pc.accumulate != 0u ? dx[i] + g : g;
}
