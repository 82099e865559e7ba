#version 450
// Winograd F(4x4, 3x3), output transform: the 4x4 outputs of tile t, four channels per invocation,
// y = A^T m A (+ bias) from the 36 products m[xi][t][c..c+3] read through an rgba32f view; outputs
// past the image's last rows or columns (sizes not a multiple of 4) are not written.
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"
#include "push_winograd.h"
layout(push_constant) uniform PushBlock { WinogradPush pc; };
layout(set = 0, binding = 0) uniform samplerBuffer m4;                      // [36][tiles][cout / 4]
layout(std430, set = 0, binding = 1) readonly buffer Bias { vec4 bias[]; };  // any tensor if !has_bias
layout(std430, set = 0, binding = 2) buffer Y { vec4 y[]; };                 // [n][oh][ow][cout / 4]
#define EPILOGUE_BINDING 3
#include "conv2d_epilogue.glsl"  // forward only: the residual and ReLU

// A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1].
vec4[4] at4(vec4 m0, vec4 m1, vec4 m2, vec4 m3, vec4 m4, vec4 m5) {
  const vec4 sum12 = m1 + m2, diff12 = m1 - m2, sum34 = m3 + m4, diff34 = m3 - m4;
  return vec4[4](m0 + sum12 + sum34, diff12 + 2.0 * diff34, sum12 + 4.0 * sum34, diff12 + 8.0 * diff34 + m5);
}

void main() {
  const int cout4 = pc.cout / 4;
  const int i = int(linear_invocation_id());
  if (i >= pc.tiles * cout4) return;
  const int t = i / cout4, c4 = i - t * cout4;
  const int per_image = pc.tiles_h * pc.tiles_w;
  const int image = t / per_image, in_image = t - image * per_image;
  const int ty = in_image / pc.tiles_w, tx = in_image - ty * pc.tiles_w;

  const int plane = pc.tiles * cout4;
  vec4 s[6][4];  // A^T applied down each column of m: s[column][output row]
  [[unroll]] for (int c = 0; c < 6; ++c) {
    vec4 m[6];
    [[unroll]] for (int r = 0; r < 6; ++r) m[r] = texelFetch(m4, (r * 6 + c) * plane + i);
    s[c] = at4(m[0], m[1], m[2], m[3], m[4], m[5]);
  }
  const vec4 shift = pc.has_bias != 0u ? bias[c4] : vec4(0.0);
  [[unroll]] for (int r = 0; r < 4; ++r) {
    const vec4 out_row[4] = at4(s[0][r], s[1][r], s[2][r], s[3][r], s[4][r], s[5][r]);
    const int oy = 4 * ty + r;
    [[unroll]] for (int c = 0; c < 4; ++c) {
      const int ox = 4 * tx + c;
      if (oy < pc.oh && ox < pc.ow) {
        const int at = ((image * pc.oh + oy) * pc.ow + ox) * cout4 + c4;
        y[at] = pc.accumulate != 0u ? y[at] + out_row[c] + shift : epilogue4(out_row[c] + shift, at);
      }
    }
  }
}
