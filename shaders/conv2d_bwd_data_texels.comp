#version 450
// conv2d_bwd_data.comp with dy and the weights read through rgba32f texel buffers (cin and cout
// multiples of 4, and so is TILE_COLS): four output channels of dy per load, and per output
// channel the tile's TILE_COLS input channels of one tap in TILE_COLS / 4 loads. Same tiling, same
// order of multiply-adds, same results.
#include "conv2d_common.glsl"
layout(set = 0, binding = 0) uniform samplerBuffer dy4;  // [n][oh][ow][cout / 4]
layout(set = 0, binding = 1) uniform samplerBuffer w4;   // [cout][kh][kw][cin / 4]
layout(std430, set = 0, binding = 2) buffer DX { vec4 dx[]; };  // [n][h][w][cin / 4]

const int COL_TEXELS = TILE_COLS / 4;

void main() {
  const uint group = linear_group_id();
  const int ci0 = int(group % pc.channel_tiles) * TILE_COLS;
  const uint pixel_tile = group / pc.channel_tiles;
  const int phase = int(pixel_tile / pc.pixel_tiles);
  if (phase >= pc.stride_h * pc.stride_w) return;  // graph::grid_1d rounds the grid up
  const int phase_y = phase / pc.stride_w, phase_x = phase - phase_y * pc.stride_w;
  const int first_row = int(pixel_tile % pc.pixel_tiles) * int(LOCAL_SIZE_X) * TILE_ROWS + int(gl_LocalInvocationID.x);
  const int phase_rows = (pc.h + pc.stride_h - 1) / pc.stride_h;
  const int phase_cols = (pc.w + pc.stride_w - 1) / pc.stride_w;
  const int phase_pixels = pc.n * phase_rows * phase_cols;
  const int cin4 = pc.cin / 4, cout4 = pc.cout / 4;
  const int filter_texels = pc.kh * pc.kw * cin4;

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
  // Column texels past cin re-read the last texel: in bounds, and never stored.
  int channel_texel[COL_TEXELS];
  [[unroll]] for (int t = 0; t < COL_TEXELS; ++t) channel_texel[t] = min(ci0 / 4 + t, cin4 - 1);

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
        src[r] = ok[r] ? ((image[r] * pc.oh + oy) * pc.ow + ox) * cout4 : 0;
      }
      const int tap = (ky * pc.kw + kx) * cin4;
      for (int co4 = 0; co4 < cout4; ++co4) {
        vec4 a[TILE_ROWS];
        [[unroll]] for (int r = 0; r < TILE_ROWS; ++r) {
          const vec4 v = texelFetch(dy4, src[r] + co4);
          a[r] = ok[r] ? v : vec4(0.0);
        }
        // The tile's input channels of this tap for the four output channels: row k of b is co4 * 4 + k.
        vec4 b[4][COL_TEXELS];
        [[unroll]] for (int k = 0; k < 4; ++k) {
          const int filter_tap = (co4 * 4 + k) * filter_texels + tap;
          [[unroll]] for (int t = 0; t < COL_TEXELS; ++t) b[k][t] = texelFetch(w4, filter_tap + channel_texel[t]);
        }
        // Output channels in order, as conv2d_bwd_data.comp adds them, each accumulator visited once
        // (see fma_tile4).
        [[unroll]] for (int r = 0; r < TILE_ROWS; ++r)
          [[unroll]] for (int c = 0; c < TILE_COLS; ++c) {
            float s = acc[r][c];
            s += a[r].x * b[0][c / 4][c % 4];
            s += a[r].y * b[1][c / 4][c % 4];
            s += a[r].z * b[2][c / 4][c % 4];
            s += a[r].w * b[3][c / 4][c % 4];
            acc[r][c] = s;
          }
      }
    }
  }

  // Four channels per store: on CPU drivers every access with a per-lane address is a loop over
  // the lanes, whatever its width.
  [[unroll]] for (int r = 0; r < TILE_ROWS; ++r) {
    const int dst = ((image[r] * pc.h + iy[r]) * pc.w + ix[r]) * cin4 + ci0 / 4;
    [[unroll]] for (int t = 0; t < COL_TEXELS; ++t) {
      const vec4 sum = vec4(acc[r][4 * t], acc[r][4 * t + 1], acc[r][4 * t + 2], acc[r][4 * t + 3]);
      if (live[r] && ci0 + 4 * t < pc.cin) dx[dst + t] = pc.accumulate != 0u ? dx[dst + t] + sum : sum;
    }
  }
}
