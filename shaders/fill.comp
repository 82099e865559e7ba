#version 450
// Sets every float of a buffer range to a constant (used to clear gradients and in tests).
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(std430, set = 0, binding = 0) writeonly buffer Dst { float dst[]; };
layout(push_constant) uniform Push { uint count; float value; } pc;
void main() {
  uint i = linear_invocation_id();
  if (i < pc.count) dst[i] = pc.value;
}
