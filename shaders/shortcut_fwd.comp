#version 450
// Option-A shortcut: y[b][oy][ow][co] = x[b][oy*stride][ox*stride][co - pad_before] for the input
// channels, 0 for the zero-padded ones.
#include "common.glsl"
#include "push_shortcut.h"
layout(push_constant) uniform PushBlock { ShortcutPush pc; };
layout(std430, set = 0, binding = 0) readonly buffer X { float x[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Y { float y[]; };
void main() {
  uint i = linear_invocation_id();
  if (i >= pc.n * pc.oh * pc.ow * pc.cout) return;
  uint co = i % pc.cout;
  uint ox = (i / pc.cout) % pc.ow;
  uint oy = (i / (pc.cout * pc.ow)) % pc.oh;
  uint b = i / (pc.cout * pc.ow * pc.oh);
  // Unsigned wrap-around sends channels below pad_before past cin as well.
  uint ci = co - pc.pad_before;
  y[i] = ci < pc.cin ? x[((b * pc.h + oy * pc.stride) * pc.w + ox * pc.stride) * pc.cin + ci] : 0.0;
}
