#version 450
// relu_bwd on vec4s: dx (=|+=) dy where x > 0, else 0; x and dy read through texel buffers.
#include "elementwise_texels.glsl"
layout(set = 0, binding = 0) uniform samplerBuffer x;
layout(set = 0, binding = 1) uniform samplerBuffer dy;
layout(std430, set = 0, binding = 2) buffer DX { vec4 dx[]; };
void main() {
  const uvec2 range = lane_range();
  for (uint i = range.x; i < range.y; i += LOCAL_SIZE_X) {
    const vec4 g = mix(vec4(0.0), texelFetch(dy, int(i)), greaterThan(texelFetch(x, int(i)), vec4(0.0)));
    dx[i] = pc.accumulate != 0u ? dx[i] + g : g;
  }
}
