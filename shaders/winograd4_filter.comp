#version 450
// Winograd F(4x4, 3x3), filter transform: u[xi][co][ci] = (G g G^T)[xi] for the 3x3 filter g of
// output channel co and input channel ci, xi = 6 * row + column of the 6x6 result. With
// `transposed` (a data gradient) g is the layer's filter of (ci, co) rotated by 180 degrees.
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"
#include "push_winograd.h"
layout(push_constant) uniform PushBlock { WinogradPush pc; };
layout(std430, set = 0, binding = 0) readonly buffer W { float w[]; };  // the layer's [cout][3][3][cin]
layout(std430, set = 0, binding = 1) writeonly buffer U { float u[]; };  // [36][cout][cin]

// G = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1] times (a, b, c).
float[6] g6(float a, float b, float c) {
  return float[6](a / 4.0, -(a + b + c) / 6.0, -(a - b + c) / 6.0, a / 24.0 + b / 12.0 + c / 6.0,
                  a / 24.0 - b / 12.0 + c / 6.0, c);
}

void main() {
  const int i = int(linear_invocation_id());
  if (i >= pc.cout * pc.cin) return;
  const int co = i / pc.cin, ci = i - co * pc.cin;
  float g[3][3];
  [[unroll]] for (int ky = 0; ky < 3; ++ky)
    [[unroll]] for (int kx = 0; kx < 3; ++kx)
      g[ky][kx] = pc.transposed != 0u ? w[(ci * 9 + (2 - ky) * 3 + (2 - kx)) * pc.cout + co]
                                      : w[(co * 9 + ky * 3 + kx) * pc.cin + ci];
  float t[3][6];  // G applied down each column of g: t[kx][row]
  [[unroll]] for (int kx = 0; kx < 3; ++kx) t[kx] = g6(g[0][kx], g[1][kx], g[2][kx]);
  const int plane = pc.cout * pc.cin;
  [[unroll]] for (int r = 0; r < 6; ++r) {
    const float v[6] = g6(t[0][r], t[1][r], t[2][r]);
    [[unroll]] for (int c = 0; c < 6; ++c) u[(r * 6 + c) * plane + i] = v[c];
  }
}
