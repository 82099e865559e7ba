#version 450
// y = the maximum of each window; argmax = where it is, as iy * w + ix (PyTorch's return_indices),
// which is all the backward pass needs. Padding never wins (PyTorch pads with -infinity, and the
// host ensures every window holds an input); ties keep the first maximum in row-major window order.
#include "common.glsl"
#include "push_pool.h"
layout(push_constant) uniform PushBlock { MaxPoolPush pc; };
layout(std430, set = 0, binding = 0) readonly buffer X { float x[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Y { float y[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Argmax { int argmax[]; };
void main() {
  uint i = linear_invocation_id();
  if (i >= pc.n * pc.oh * pc.ow * pc.c) return;
  uint ch = i % pc.c;
  uint ox = (i / pc.c) % pc.ow;
  uint oy = (i / (pc.c * pc.ow)) % pc.oh;
  uint b = i / (pc.c * pc.ow * pc.oh);
  // The window clipped to the image: skipping padded positions is what -infinity padding does.
  int top = int(oy * pc.stride_h) - int(pc.pad_h);
  int left = int(ox * pc.stride_w) - int(pc.pad_w);
  uint y_begin = uint(max(top, 0)), y_end = uint(min(top + int(pc.kh), int(pc.h)));
  uint x_begin = uint(max(left, 0)), x_end = uint(min(left + int(pc.kw), int(pc.w)));
  float best = 0.0;
  int best_index = -1;
  for (uint iy = y_begin; iy < y_end; ++iy) {
    for (uint ix = x_begin; ix < x_end; ++ix) {
      float v = x[((b * pc.h + iy) * pc.w + ix) * pc.c + ch];
      if (best_index < 0 || v > best) {
        best = v;
        best_index = int(iy * pc.w + ix);
      }
    }
  }
  y[i] = best;
  argmax[i] = best_index;
}
