#version 450
// conv2d_bwd_data.comp as a shared-memory tiled implicit GEMM (conv2d_shared_tile.glsl): a
// workgroup owns BLOCK_ROWS input pixels of one stride phase x BLOCK_COLS input channels and walks
// the phase's taps, staging K_STEP output channels of dy and of the filters at a time. Same
// products in the same order as the register-blocked kernels, so the same bits.
#include "conv2d_shared_tile.glsl"
layout(std430, set = 0, binding = 0) readonly buffer DY { float dy[]; };
layout(std430, set = 0, binding = 1) readonly buffer Wt { float wt[]; };
layout(std430, set = 0, binding = 2) buffer DX { float dx[]; };

// Each row's pixel: its image and place on its phase's grid, found once per workgroup.
shared int row_image[BLOCK_ROWS], row_grid_y[BLOCK_ROWS], row_grid_x[BLOCK_ROWS];

void main() {
  const uint group = linear_group_id();
  const int ci0 = int(group % pc.channel_tiles) * BLOCK_COLS;
  const uint pixel_tile = group / pc.channel_tiles;
  const int phase = int(pixel_tile / pc.pixel_tiles);
  if (phase >= pc.stride_h * pc.stride_w) return;  // graph::grid_1d rounds the grid up: whole workgroups
  const int phase_y = phase / pc.stride_w, phase_x = phase - phase_y * pc.stride_w;
  const int q0 = int(pixel_tile % pc.pixel_tiles) * BLOCK_ROWS;
  const int lane = int(gl_LocalInvocationID.x);
  const int phase_rows = (pc.h + pc.stride_h - 1) / pc.stride_h;
  const int phase_cols = (pc.w + pc.stride_w - 1) / pc.stride_w;
  const int phase_pixels = pc.n * phase_rows * phase_cols;
  const int taps = pc.kh * pc.kw;

  for (int r = lane; r < BLOCK_ROWS; r += LANES) {
    const ivec3 o = split_pixel(min(q0 + r, phase_pixels - 1), phase_rows, phase_cols);
    row_image[r] = o.x;
    row_grid_y[r] = o.y;
    row_grid_x[r] = o.z;
  }
  barrier();

  clear_tile();
  for (int ky = (phase_y + pc.pad_h) % pc.stride_h; ky < pc.kh; ky += pc.stride_h) {
    for (int kx = (phase_x + pc.pad_w) % pc.stride_w; kx < pc.kw; kx += pc.stride_w) {
      // The dy pixel of grid pixel (gy, gx) and this tap is (gy + tap_y, gx + tap_x): see
      // conv2d_bwd_data_body.glsl.
      const int tap_y = (phase_y + pc.pad_h - ky) / pc.stride_h, tap_x = (phase_x + pc.pad_w - kx) / pc.stride_w;
      const int tap = (ky * pc.kw + kx) * pc.cin;
      for (int c0 = 0; c0 < pc.cout; c0 += K_STEP) {
        // Consecutive lanes take consecutive channels of one dy pixel, then of one filter tap.
        for (int e = lane; e < K_STEP * BLOCK_ROWS; e += LANES) {
          const int r = e / K_STEP, k = e - r * K_STEP;
          const int oy = row_grid_y[r] + tap_y, ox = row_grid_x[r] + tap_x, co = c0 + k;
          float v = 0.0;
          if (co < pc.cout && inside(oy, ox, pc.oh, pc.ow))
            v = dy[((row_image[r] * pc.oh + oy) * pc.ow + ox) * pc.cout + co];
          stage_a(k, r, v);
        }
        for (int e = lane; e < K_STEP * BLOCK_COLS; e += LANES) {
          const int k = e / BLOCK_COLS, c = e - k * BLOCK_COLS;
          const int co = c0 + k, ci = ci0 + c;
          stage_b(k, c, co < pc.cout && ci < pc.cin ? wt[co * taps * pc.cin + tap + ci] : 0.0);
        }
        barrier();
        multiply_staged(min(K_STEP, pc.cout - c0));
        barrier();
      }
    }
  }

  [[unroll]] for (int r = 0; r < TILE_ROWS; ++r) {
    const int q = q0 + block_row(r);
    const int iy = phase_y + row_grid_y[block_row(r)] * pc.stride_h;
    const int ix = phase_x + row_grid_x[block_row(r)] * pc.stride_w;
    const bool live = q < phase_pixels && iy < pc.h && ix < pc.w;
    const int dst = ((row_image[block_row(r)] * pc.h + iy) * pc.w + ix) * pc.cin;
    [[unroll]] for (int c = 0; c < TILE_COLS; ++c) {
      const int ci = ci0 + block_col(c);
      if (live && ci < pc.cin) dx[dst + ci] = pc.accumulate != 0u ? dx[dst + ci] + acc[r][c] : acc[r][c];
    }
  }
}
