#version 450
// add on vec4s: y (=|+=) a + b, or y = max(a + b, 0) with pc.relu, a and b read through texel buffers.
#include "elementwise_texels.glsl"
layout(set = 0, binding = 0) uniform samplerBuffer a;
layout(set = 0, binding = 1) uniform samplerBuffer b;
layout(std430, set = 0, binding = 2) buffer Y { vec4 y[]; };
void main() {
  const uvec2 range = lane_range();
  for (uint i = range.x; i < range.y; i += LOCAL_SIZE_X) {
    vec4 v = texelFetch(a, int(i)) + texelFetch(b, int(i));
    if (pc.relu != 0u) v = max(v, vec4(0.0));
    y[i] = pc.accumulate != 0u ? y[i] + v : v;
  }
}
