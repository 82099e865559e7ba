#version 450
// dx (=|+=) dy at the sampled positions (rows and columns that are multiples of stride), else 0.
#include "common.glsl"
#include "push_shortcut.h"
layout(push_constant) uniform PushBlock { ShortcutPush pc; };
layout(std430, set = 0, binding = 0) readonly buffer DY { float dy[]; };
layout(std430, set = 0, binding = 1) buffer DX { float dx[]; };
void main() {
  uint i = linear_invocation_id();
  if (i >= pc.n * pc.h * pc.w * pc.cin) return;
  uint ci = i % pc.cin;
  uint ix = (i / pc.cin) % pc.w;
  uint iy = (i / (pc.cin * pc.w)) % pc.h;
  uint b = i / (pc.cin * pc.w * pc.h);
  bool sampled = iy % pc.stride == 0u && ix % pc.stride == 0u;
  float g = sampled
      ? dy[((b * pc.oh + iy / pc.stride) * pc.ow + ix / pc.stride) * pc.cout + pc.pad_before + ci]
      : 0.0;
  dx[i] = pc.accumulate != 0u ? dx[i] + g : g;
}
