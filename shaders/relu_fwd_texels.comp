#version 450
// relu_fwd on vec4s: y = max(x, 0), x read through a texel buffer.
#include "elementwise_texels.glsl"
layout(set = 0, binding = 0) uniform samplerBuffer x;
layout(std430, set = 0, binding = 1) writeonly buffer Y { vec4 y[]; };
void main() {
  const uvec2 range = lane_range();
  for (uint i = range.x; i < range.y; i += LOCAL_SIZE_X) y[i] = max(texelFetch(x, int(i)), vec4(0.0));
}
