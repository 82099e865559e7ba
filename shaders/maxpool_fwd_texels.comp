#version 450
// maxpool_fwd.comp for c a multiple of 4: four channels per invocation, x read through an rgba32f
// texel view, y and argmax stored four at a time (on CPU drivers every per-lane access is a loop
// over the lanes, whatever its width). Per channel the same comparisons in the same order, so the
// same maxima and the same argmax: the first maximum in row-major window order.
#include "common.glsl"
#include "push_pool.h"
layout(push_constant) uniform PushBlock { MaxPoolPush pc; };
layout(set = 0, binding = 0) uniform samplerBuffer x4;                          // [n][h][w][c / 4]
layout(std430, set = 0, binding = 1) writeonly buffer Y { vec4 y4[]; };         // [n][oh][ow][c / 4]
layout(std430, set = 0, binding = 2) writeonly buffer Argmax { ivec4 argmax4[]; };
void main() {
  const uint i = linear_invocation_id();
  const uint c4 = pc.c / 4u;
  if (i >= pc.n * pc.oh * pc.ow * c4) return;
  const uint ch4 = i % c4, pixel = i / c4;
  const uint ox = pixel % pc.ow, oy = (pixel / pc.ow) % pc.oh, b = pixel / (pc.ow * pc.oh);
  // The window clipped to the image: skipping padded positions is what -infinity padding does.
  const int top = int(oy * pc.stride_h) - int(pc.pad_h);
  const int left = int(ox * pc.stride_w) - int(pc.pad_w);
  const uint y_begin = uint(max(top, 0)), y_end = uint(min(top + int(pc.kh), int(pc.h)));
  const uint x_begin = uint(max(left, 0)), x_end = uint(min(left + int(pc.kw), int(pc.w)));
  vec4 best = vec4(0.0);
  ivec4 best_index = ivec4(-1);
  for (uint iy = y_begin; iy < y_end; ++iy) {
    for (uint ix = x_begin; ix < x_end; ++ix) {
      const vec4 v = texelFetch(x4, int(((b * pc.h + iy) * pc.w + ix) * c4 + ch4));
      const bvec4 take = bvec4(uvec4(lessThan(best_index, ivec4(0))) | uvec4(greaterThan(v, best)));
      best = mix(best, v, take);
      best_index = mix(best_index, ivec4(int(iy * pc.w + ix)), take);
    }
  }
  y4[i] = best;
  argmax4[i] = best_index;
}
