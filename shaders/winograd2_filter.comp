#version 450
// Winograd F(2x2, 3x3), filter transform: u[xi][co][ci] = (G g G^T)[xi] for the 3x3 filter g of
// output channel co and input channel ci, xi = 4 * row + column of the 4x4 result. With
// `transposed` (a data gradient) g is the layer's filter of (ci, co) rotated by 180 degrees.
#include "common.glsl"
#include "push_winograd.h"
layout(push_constant) uniform PushBlock { WinogradPush pc; };
layout(std430, set = 0, binding = 0) readonly buffer W { float w[]; };  // the layer's [cout][3][3][cin]
layout(std430, set = 0, binding = 1) writeonly buffer U { float u[]; };  // [16][cout][cin]

void main() {
  const int i = int(linear_invocation_id());
  if (i >= pc.cout * pc.cin) return;
  const int co = i / pc.cin, ci = i - co * pc.cin;
  float g[3][3];
  for (int ky = 0; ky < 3; ++ky)
    for (int kx = 0; kx < 3; ++kx)
      g[ky][kx] = pc.transposed != 0u ? w[(ci * 9 + (2 - ky) * 3 + (2 - kx)) * pc.cout + co]
                                      : w[(co * 9 + ky * 3 + kx) * pc.cin + ci];
  // G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1], applied to the rows, then to the columns.
  float t[4][3];
  for (int kx = 0; kx < 3; ++kx) {
    t[0][kx] = g[0][kx];
    t[1][kx] = 0.5 * (g[0][kx] + g[1][kx] + g[2][kx]);
    t[2][kx] = 0.5 * (g[0][kx] - g[1][kx] + g[2][kx]);
    t[3][kx] = g[2][kx];
  }
  const int plane = pc.cout * pc.cin;
  for (int r = 0; r < 4; ++r) {
    const float v[4] = float[4](t[r][0], 0.5 * (t[r][0] + t[r][1] + t[r][2]), 0.5 * (t[r][0] - t[r][1] + t[r][2]),
                                t[r][2]);
    for (int c = 0; c < 4; ++c) u[(r * 4 + c) * plane + i] = v[c];
  }
}
