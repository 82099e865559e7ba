#version 450
// conv2d_fwd.comp as a shared-memory tiled implicit GEMM (conv2d_shared_tile.glsl): a workgroup
// owns BLOCK_ROWS output pixels x BLOCK_COLS output channels and walks the taps, staging K_STEP
// input channels of the pixels' receptive fields and of the filters at a time. Same products in
// the same order as the register-blocked kernels, so the same bits.
#include "conv2d_shared_tile.glsl"
layout(std430, set = 0, binding = 0) readonly buffer X { float x[]; };
layout(std430, set = 0, binding = 1) readonly buffer Wt { float wt[]; };
layout(std430, set = 0, binding = 2) readonly buffer Bias { float bias[]; };  // any tensor if !has_bias
layout(std430, set = 0, binding = 3) writeonly buffer Y { float y[]; };

// Where each row's receptive field starts, found once per workgroup.
shared int row_image[BLOCK_ROWS], row_y0[BLOCK_ROWS], row_x0[BLOCK_ROWS];

void main() {
  const uint group = linear_group_id();
  const int co0 = int(group % pc.channel_tiles) * BLOCK_COLS;
  const int p0 = int(group / pc.channel_tiles) * BLOCK_ROWS;
  const int lane = int(gl_LocalInvocationID.x);
  const int pixels = pc.n * pc.oh * pc.ow;
  const int filter_size = pc.kh * pc.kw * pc.cin;

  // Rows past the end take the last pixel: in bounds, and never stored.
  for (int r = lane; r < BLOCK_ROWS; r += LANES) {
    const ivec3 o = split_pixel(min(p0 + r, pixels - 1), pc.oh, pc.ow);
    row_image[r] = o.x * pc.h;
    row_y0[r] = o.y * pc.stride_h - pc.pad_h;
    row_x0[r] = o.z * pc.stride_w - pc.pad_w;
  }
  barrier();

  clear_tile();
  for (int ky = 0; ky < pc.kh; ++ky) {
    for (int kx = 0; kx < pc.kw; ++kx) {
      const int tap = (ky * pc.kw + kx) * pc.cin;
      for (int c0 = 0; c0 < pc.cin; c0 += K_STEP) {
        // Consecutive lanes take consecutive channels of one pixel (contiguous in NHWC).
        for (int e = lane; e < K_STEP * BLOCK_ROWS; e += LANES) {
          const int r = e / K_STEP, k = e - r * K_STEP;
          const int iy = row_y0[r] + ky, ix = row_x0[r] + kx, ci = c0 + k;
          float v = 0.0;
          if (ci < pc.cin && inside(iy, ix, pc.h, pc.w)) v = x[((row_image[r] + iy) * pc.w + ix) * pc.cin + ci];
          stage_a(k, r, v);
        }
        for (int e = lane; e < K_STEP * BLOCK_COLS; e += LANES) {
          const int c = e / K_STEP, k = e - c * K_STEP;
          const int co = co0 + c, ci = c0 + k;
          stage_b(k, c, co < pc.cout && ci < pc.cin ? wt[co * filter_size + tap + ci] : 0.0);
        }
        barrier();
        multiply_staged(min(K_STEP, pc.cin - c0));
        barrier();
      }
    }
  }

  [[unroll]] for (int c = 0; c < TILE_COLS; ++c) {
    const int co = co0 + block_col(c);
    const float shift = pc.has_bias != 0u ? bias[min(co, pc.cout - 1)] : 0.0;
    [[unroll]] for (int r = 0; r < TILE_ROWS; ++r) {
      const int p = p0 + block_row(r);
      if (co < pc.cout && p < pixels) y[p * pc.cout + co] = relu_epilogue(acc[r][c] + shift);
    }
  }
}
