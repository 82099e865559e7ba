#version 450
// copy on vec4s: dst (=|+=) src, src read through a texel buffer.
#include "elementwise_texels.glsl"
layout(set = 0, binding = 0) uniform samplerBuffer src;
layout(std430, set = 0, binding = 1) buffer Dst { vec4 dst[]; };
void main() {
  const uvec2 range = lane_range();
  for (uint i = range.x; i < range.y; i += LOCAL_SIZE_X) {
    const vec4 v = texelFetch(src, int(i));
    dst[i] = pc.accumulate != 0u ? dst[i] + v : v;
  }
}
