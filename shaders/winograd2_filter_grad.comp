#version 450
// Winograd F(2x2, 3x3) filter gradient, last pass: for output channel co and input channels
// ci..ci+3, m[xi] = the chunks' partial sums of position xi added in chunk order (the same bits
// every run), then dw[co][ky][kx][ci..ci+3] (=|+=) (G^T m G)[ky][kx], the forward's filter
// transform u = G g G^T read backwards.
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"
#include "push_winograd.h"
layout(push_constant) uniform PushBlock { WinogradPush pc; };
layout(std430, set = 0, binding = 0) readonly buffer Partial { vec4 partial[]; };  // [chunks][16][cout][cin / 4]
layout(std430, set = 0, binding = 1) buffer DW { vec4 dw[]; };                       // [cout][3][3][cin / 4]

// G^T = [1 1/2 1/2 0; 0 1/2 -1/2 0; 0 1/2 1/2 1] times (a, b, c, d).
vec4[3] gt3(vec4 a, vec4 b, vec4 c, vec4 d) {
  const vec4 half_sum = 0.5 * (b + c);
  return vec4[3](a + half_sum, 0.5 * (b - c), half_sum + d);
}

void main() {
  const int cin4 = pc.cin / 4;
  const int i = int(linear_invocation_id());
  if (i >= pc.cout * cin4) return;
  const int plane = pc.cout * cin4;  // one position of one chunk
  vec4 m[16];
  [[unroll]] for (int xi = 0; xi < 16; ++xi) {
    vec4 sum = vec4(0.0);
    for (int chunk = 0; chunk < int(pc.chunks); ++chunk) sum += partial[(chunk * 16 + xi) * plane + i];
    m[xi] = sum;
  }
  vec4 s[4][3];  // G^T applied down each column of m: s[column][ky]
  [[unroll]] for (int c = 0; c < 4; ++c) s[c] = gt3(m[c], m[4 + c], m[8 + c], m[12 + c]);
  const int co = i / cin4, c4 = i - co * cin4;
  [[unroll]] for (int ky = 0; ky < 3; ++ky) {
    const vec4 row[3] = gt3(s[0][ky], s[1][ky], s[2][ky], s[3][ky]);
    [[unroll]] for (int kx = 0; kx < 3; ++kx) {
      const int at = ((co * 3 + ky) * 3 + kx) * cin4 + c4;
      dw[at] = pc.accumulate != 0u ? dw[at] + row[kx] : row[kx];
    }
  }
}
