#version 450
// Winograd F(4x4, 3x3), input transform: v[xi][t][c..c+3] = (B^T d B)[xi] for the 6x6 input patch d
// of tile t (zero outside the image), four channels per invocation, read through an rgba32f view.
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"
#include "push_winograd.h"
layout(push_constant) uniform PushBlock { WinogradPush pc; };
layout(set = 0, binding = 0) uniform samplerBuffer x4;                   // [n][h][w][cin / 4]
layout(std430, set = 0, binding = 1) writeonly buffer V { vec4 v[]; };  // [36][tiles][cin / 4]

// B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1].
vec4[6] bt6(vec4 d0, vec4 d1, vec4 d2, vec4 d3, vec4 d4, vec4 d5) {
  return vec4[6](4.0 * d0 - 5.0 * d2 + d4, d3 + d4 - 4.0 * (d1 + d2), 4.0 * (d1 - d2) + d4 - d3,
                 2.0 * (d3 - d1) + d4 - d2, 2.0 * (d1 - d3) + d4 - d2, 4.0 * d1 - 5.0 * d3 + d5);
}

void main() {
  const int cin4 = pc.cin / 4;
  const int i = int(linear_invocation_id());
  if (i >= pc.tiles * cin4) return;
  const int t = i / cin4, c4 = i - t * cin4;
  const int per_image = pc.tiles_h * pc.tiles_w;
  const int image = t / per_image, in_image = t - image * per_image;
  const int ty = in_image / pc.tiles_w, tx = in_image - ty * pc.tiles_w;
  const int y0 = 4 * ty - pc.pad_h, x0 = 4 * tx - pc.pad_w;

  vec4 s[6][6];  // B^T applied down each column of the patch: s[column][row]
  [[unroll]] for (int c = 0; c < 6; ++c) {
    vec4 d[6];
    [[unroll]] for (int r = 0; r < 6; ++r) {
      const int y = y0 + r, x = x0 + c;
      const bool ok = y >= 0 && y < pc.h && x >= 0 && x < pc.w;
      const vec4 value = texelFetch(x4, ok ? ((image * pc.h + y) * pc.w + x) * cin4 + c4 : 0);
      d[r] = ok ? value : vec4(0.0);
    }
    s[c] = bt6(d[0], d[1], d[2], d[3], d[4], d[5]);
  }
  const int plane = pc.tiles * cin4;
  [[unroll]] for (int r = 0; r < 6; ++r) {
    const vec4 row[6] = bt6(s[0][r], s[1][r], s[2][r], s[3][r], s[4][r], s[5][r]);
    [[unroll]] for (int c = 0; c < 6; ++c) v[(r * 6 + c) * plane + i] = row[c];
  }
}
