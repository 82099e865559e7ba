#version 450
// Winograd F(2x2, 3x3), output transform: the 2x2 outputs of tile t, four channels per invocation,
// y = A^T m A (+ bias) from the 16 products m[xi][t][c..c+3] read through an rgba32f view; outputs
// past the image's last row or column (odd output sizes) are not written.
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"
#include "push_winograd.h"
layout(push_constant) uniform PushBlock { WinogradPush pc; };
layout(set = 0, binding = 0) uniform samplerBuffer m4;                      // [16][tiles][cout / 4]
layout(std430, set = 0, binding = 1) readonly buffer Bias { vec4 bias[]; };  // any tensor if !has_bias
layout(std430, set = 0, binding = 2) buffer Y { vec4 y[]; };                 // [n][oh][ow][cout / 4]
#define EPILOGUE_BINDING 3
#include "conv2d_epilogue.glsl"  // forward only: the residual and ReLU

void main() {
  const int cout4 = pc.cout / 4;
  const int i = int(linear_invocation_id());
  if (i >= pc.tiles * cout4) return;
  const int t = i / cout4, c4 = i - t * cout4;
  const int per_image = pc.tiles_h * pc.tiles_w;
  const int image = t / per_image, in_image = t - image * per_image;
  const int ty = in_image / pc.tiles_w, tx = in_image - ty * pc.tiles_w;

  const int plane = pc.tiles * cout4;
  // A^T = [1 1 1 0; 0 1 -1 -1], applied to the rows, then to the columns.
  vec4 s[2][4];
  [[unroll]] for (int c = 0; c < 4; ++c) {
    const vec4 m0 = texelFetch(m4, (0 * 4 + c) * plane + i), m1 = texelFetch(m4, (1 * 4 + c) * plane + i);
    const vec4 m2 = texelFetch(m4, (2 * 4 + c) * plane + i), m3 = texelFetch(m4, (3 * 4 + c) * plane + i);
    s[0][c] = m0 + m1 + m2;
    s[1][c] = m1 - m2 - m3;
  }
  const vec4 shift = pc.has_bias != 0u ? bias[c4] : vec4(0.0);
  [[unroll]] for (int r = 0; r < 2; ++r) {
    const vec4 out_row[2] = vec4[2](s[r][0] + s[r][1] + s[r][2] + shift, s[r][1] - s[r][2] - s[r][3] + shift);
    [[unroll]] for (int c = 0; c < 2; ++c) {
      const int oy = 2 * ty + r, ox = 2 * tx + c;
      if (oy >= pc.oh || ox >= pc.ow) continue;
      const int at = ((image * pc.oh + oy) * pc.ow + ox) * cout4 + c4;
      y[at] = pc.accumulate != 0u ? y[at] + out_row[c] : epilogue4(out_row[c], at);
    }
  }
}
