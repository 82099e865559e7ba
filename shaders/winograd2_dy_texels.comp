#version 450
// Winograd F(2x2, 3x3) filter gradient, dy transform: e[xi][t][c..c+3] = (A g A^T)[xi] for the 2x2
// block g of dy at output tile t (zero past the last row or column), four channels per invocation,
// read through an rgba32f view. The forward's output transform read backwards: y = A^T m A gives
// dL/dm = A dy A^T.
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"
#include "push_winograd.h"
layout(push_constant) uniform PushBlock { WinogradPush pc; };
layout(set = 0, binding = 0) uniform samplerBuffer dy4;                  // [n][oh][ow][cout / 4]
layout(std430, set = 0, binding = 1) writeonly buffer E { vec4 e[]; };  // [16][tiles][cout / 4]

// A = [1 0; 1 1; 1 -1; 0 -1] times (a, b).
vec4[4] a4(vec4 a, vec4 b) { return vec4[4](a, a + b, a - b, -b); }

void main() {
  const int cout4 = pc.cout / 4;
  const int i = int(linear_invocation_id());
  if (i >= pc.tiles * cout4) return;
  const int t = i / cout4, c4 = i - t * cout4;
  const int per_image = pc.tiles_h * pc.tiles_w;
  const int image = t / per_image, in_image = t - image * per_image;
  const int ty = in_image / pc.tiles_w, tx = in_image - ty * pc.tiles_w;

  vec4 s[2][4];  // A applied down each column of g: s[column][row]
  [[unroll]] for (int c = 0; c < 2; ++c) {
    vec4 g[2];
    [[unroll]] for (int r = 0; r < 2; ++r) {
      const int oy = 2 * ty + r, ox = 2 * tx + c;
      const bool ok = oy < pc.oh && ox < pc.ow;
      const vec4 value = texelFetch(dy4, ok ? ((image * pc.oh + oy) * pc.ow + ox) * cout4 + c4 : 0);
      g[r] = ok ? value : vec4(0.0);
    }
    s[c] = a4(g[0], g[1]);
  }
  const int plane = pc.tiles * cout4;
  [[unroll]] for (int r = 0; r < 4; ++r) {
    const vec4 row[4] = a4(s[0][r], s[1][r]);
    [[unroll]] for (int c = 0; c < 4; ++c) e[(r * 4 + c) * plane + i] = row[c];
  }
}
