// The body of shaders/conv2d_bwd_data.comp, shared with its r32f texel variant (conv2d_bwd_data_r32f.comp): the
// including shader declares its operand bindings and the load functions (load_dy, load_w),
// so both read the same values in the same order and give the same bits.
#ifndef VKRES_CONV2D_BWD_DATA_BODY_GLSL
#define VKRES_CONV2D_BWD_DATA_BODY_GLSL
layout(std430, set = 0, binding = 2) buffer DX { float dx[]; };

void main() {
  const uint group = linear_group_id();
  const int ci0 = int(group % pc.channel_tiles) * TILE_COLS;
  const uint pixel_tile = group / pc.channel_tiles;
  const int phase = int(pixel_tile / pc.pixel_tiles);
  if (phase >= pc.stride_h * pc.stride_w) return;  // graph::grid_1d rounds the grid up
  const int phase_y = phase / pc.stride_w, phase_x = phase - phase_y * pc.stride_w;
  const int first_row = int(pixel_tile % pc.pixel_tiles) * int(LOCAL_SIZE_X) * TILE_ROWS + int(gl_LocalInvocationID.x);
  // Every phase gets the grid of the largest one (phase 0); pixels off the image are not stored.
  const int phase_rows = (pc.h + pc.stride_h - 1) / pc.stride_h;
  const int phase_cols = (pc.w + pc.stride_w - 1) / pc.stride_w;
  const int phase_pixels = pc.n * phase_rows * phase_cols;
  const int taps = pc.kh * pc.kw;

  // (grid_y, grid_x): the pixel on its phase's grid, whose step is the stride.
  int image[TILE_ROWS], iy[TILE_ROWS], ix[TILE_ROWS], grid_y[TILE_ROWS], grid_x[TILE_ROWS];
  bool live[TILE_ROWS];
  [[unroll]] for (int r = 0; r < TILE_ROWS; ++r) {
    const int q = tile_row(first_row, r);
    const ivec3 o = split_pixel(min(q, phase_pixels - 1), phase_rows, phase_cols);
    image[r] = o.x;
    grid_y[r] = o.y;
    grid_x[r] = o.z;
    iy[r] = phase_y + o.y * pc.stride_h;
    ix[r] = phase_x + o.z * pc.stride_w;
    live[r] = q < phase_pixels && iy[r] < pc.h && ix[r] < pc.w;
  }
  // Columns past cin re-read the last channel: in bounds, and never stored.
  int channel[TILE_COLS];
  [[unroll]] for (int c = 0; c < TILE_COLS; ++c) channel[c] = min(ci0 + c, pc.cin - 1);

  clear_tile();
  for (int ky = (phase_y + pc.pad_h) % pc.stride_h; ky < pc.kh; ky += pc.stride_h) {
    for (int kx = (phase_x + pc.pad_w) % pc.stride_w; kx < pc.kw; kx += pc.stride_w) {
      int src[TILE_ROWS];
      bool ok[TILE_ROWS];
      // dy pixel (iy + ph - ky) / sh = grid_y + (phase_y + ph - ky) / sh: the phase makes the
      // division exact, and once per tap spares every lane a division per row (no lane-wise
      // integer division in CPU drivers' vector units).
      const int tap_y = (phase_y + pc.pad_h - ky) / pc.stride_h, tap_x = (phase_x + pc.pad_w - kx) / pc.stride_w;
      [[unroll]] for (int r = 0; r < TILE_ROWS; ++r) {
        const int oy = grid_y[r] + tap_y, ox = grid_x[r] + tap_x;
        ok[r] = inside(oy, ox, pc.oh, pc.ow);
        src[r] = ok[r] ? ((image[r] * pc.oh + oy) * pc.ow + ox) * pc.cout : 0;
      }
      const int tap = (ky * pc.kw + kx) * pc.cin;
      for (int co = 0; co < pc.cout; ++co) {
        float a[TILE_ROWS], b[TILE_COLS];
        [[unroll]] for (int r = 0; r < TILE_ROWS; ++r) {
          const float v = load_dy(src[r] + co);
          a[r] = ok[r] ? v : 0.0;
        }
        const int filter_tap = co * taps * pc.cin + tap;
        [[unroll]] for (int c = 0; c < TILE_COLS; ++c) b[c] = load_w(filter_tap + channel[c]);
        fma_tile(a, b);
      }
    }
  }

  [[unroll]] for (int r = 0; r < TILE_ROWS; ++r) {
    const int dst = ((image[r] * pc.h + iy[r]) * pc.w + ix[r]) * pc.cin + ci0;
    [[unroll]] for (int c = 0; c < TILE_COLS; ++c) {
      if (live[r] && ci0 + c < pc.cin) dx[dst + c] = pc.accumulate != 0u ? dx[dst + c] + acc[r][c] : acc[r][c];
    }
  }
}

#endif
