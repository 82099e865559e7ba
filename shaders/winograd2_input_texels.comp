#version 450
// Winograd F(2x2, 3x3), input transform: v[xi][t][c..c+3] = (B^T d B)[xi] for the 4x4 input patch d
// of tile t (zero outside the image), four channels per invocation, read through an rgba32f view.
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"
#include "push_winograd.h"
layout(push_constant) uniform PushBlock { WinogradPush pc; };
layout(set = 0, binding = 0) uniform samplerBuffer x4;                   // [n][h][w][cin / 4]
layout(std430, set = 0, binding = 1) writeonly buffer V { vec4 v[]; };  // [16][tiles][cin / 4]

void main() {
  const int cin4 = pc.cin / 4;
  const int i = int(linear_invocation_id());
  if (i >= pc.tiles * cin4) return;
  const int t = i / cin4, c4 = i - t * cin4;
  const int per_image = pc.tiles_h * pc.tiles_w;
  const int image = t / per_image, in_image = t - image * per_image;
  const int ty = in_image / pc.tiles_w, tx = in_image - ty * pc.tiles_w;
  const int y0 = 2 * ty - pc.pad_h, x0 = 2 * tx - pc.pad_w;

  vec4 d[4][4];
  [[unroll]] for (int r = 0; r < 4; ++r)
    [[unroll]] for (int c = 0; c < 4; ++c) {
      const int y = y0 + r, x = x0 + c;
      const bool ok = y >= 0 && y < pc.h && x >= 0 && x < pc.w;
      const vec4 value = texelFetch(x4, ok ? ((image * pc.h + y) * pc.w + x) * cin4 + c4 : 0);
      d[r][c] = ok ? value : vec4(0.0);
    }
  // B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], applied to the rows, then to the columns.
  vec4 s[4][4];
  [[unroll]] for (int c = 0; c < 4; ++c) {
    s[0][c] = d[0][c] - d[2][c];
    s[1][c] = d[1][c] + d[2][c];
    s[2][c] = d[2][c] - d[1][c];
    s[3][c] = d[1][c] - d[3][c];
  }
  const int plane = pc.tiles * cin4;
  [[unroll]] for (int r = 0; r < 4; ++r) {
    v[(r * 4 + 0) * plane + i] = s[r][0] - s[r][2];
    v[(r * 4 + 1) * plane + i] = s[r][1] + s[r][2];
    v[(r * 4 + 2) * plane + i] = s[r][2] - s[r][1];
    v[(r * 4 + 3) * plane + i] = s[r][1] - s[r][3];
  }
}
