#version 450
// conv2d_bwd_filter.comp with x and dy read through rgba32f texel buffers (cin and cout multiples
// of 4, and so are both tile sides): per pixel, the tile's TILE_ROWS output channels of dy in
// TILE_ROWS / 4 loads and its TILE_COLS filter positions in TILE_COLS / 4 (four consecutive
// positions are four channels of one tap). Same tiling, same order of multiply-adds, same results.
#include "conv2d_common.glsl"
layout(set = 0, binding = 0) uniform samplerBuffer x4;   // [n][h][w][cin / 4]
layout(set = 0, binding = 1) uniform samplerBuffer dy4;  // [n][oh][ow][cout / 4]
layout(std430, set = 0, binding = 2) writeonly buffer Partial { float partial[]; };

const int ROW_TEXELS = TILE_ROWS / 4;
const int COL_TEXELS = TILE_COLS / 4;
const int PIXELS = 4;

void main() {
  const int filter_size = pc.kh * pc.kw * pc.cin;
  const int col_tiles = (filter_size + TILE_COLS - 1) / TILE_COLS;
  const int tiles = (pc.cout + TILE_ROWS - 1) / TILE_ROWS * col_tiles;
  const int invocation = int(linear_invocation_id());
  const int chunk = invocation / tiles;
  if (chunk >= int(pc.chunks)) return;
  const int tile = invocation - chunk * tiles;
  const int co0 = tile / col_tiles * TILE_ROWS;
  const int j0 = (tile % col_tiles) * TILE_COLS;
  const int cin4 = pc.cin / 4, cout4 = pc.cout / 4;

  // Texels past cout and past the filter re-read the last one: in bounds, never stored.
  int channel_texel[ROW_TEXELS];
  [[unroll]] for (int t = 0; t < ROW_TEXELS; ++t) channel_texel[t] = min(co0 / 4 + t, cout4 - 1);
  int tap_y[COL_TEXELS], tap_x[COL_TEXELS], tap_offset[COL_TEXELS];
  [[unroll]] for (int t = 0; t < COL_TEXELS; ++t) {
    const int j = min(j0 / 4 + t, filter_size / 4 - 1);  // texel index within the filter
    const int tap = j / cin4;
    tap_y[t] = tap / pc.kw;
    tap_x[t] = tap - tap_y[t] * pc.kw;
    tap_offset[t] = (tap_y[t] * pc.w + tap_x[t]) * cin4 + (j - tap * cin4);
  }

  const int pixels = pc.n * pc.oh * pc.ow;
  const int first = chunk * int(pc.chunk_pixels);
  const int end = min(first + int(pc.chunk_pixels), pixels);
  ivec3 o = split_pixel(first, pc.oh, pc.ow);
  clear_tile();
  // Up to PIXELS pixels per step, in order: each accumulator takes their products in a row (see
  // fma_tile4), and a short step finishes the chunk.
  for (int p = first; p < end; p += PIXELS) {
    vec4 a4[PIXELS][ROW_TEXELS], b4[PIXELS][COL_TEXELS];
    [[unroll]] for (int q = 0; q < PIXELS; ++q) {
      const bool pixel_ok = p + q < end;
      const int y0 = o.y * pc.stride_h - pc.pad_h, x0 = o.z * pc.stride_w - pc.pad_w;
      const int window = ((o.x * pc.h + y0) * pc.w + x0) * cin4;  // may be negative; offsets fix it
      [[unroll]] for (int t = 0; t < ROW_TEXELS; ++t) {
        const vec4 v = texelFetch(dy4, pixel_ok ? (p + q) * cout4 + channel_texel[t] : 0);
        a4[q][t] = pixel_ok ? v : vec4(0.0);
      }
      [[unroll]] for (int t = 0; t < COL_TEXELS; ++t) {
        const bool ok = pixel_ok && inside(y0 + tap_y[t], x0 + tap_x[t], pc.h, pc.w);
        const vec4 v = texelFetch(x4, ok ? window + tap_offset[t] : 0);
        b4[q][t] = ok ? v : vec4(0.0);
      }
      // Next pixel, without divisions.
      o.z += 1;
      const bool next_row = o.z == pc.ow;
      o.z = next_row ? 0 : o.z;
      o.y += next_row ? 1 : 0;
      const bool next_image = o.y == pc.oh;
      o.y = next_image ? 0 : o.y;
      o.x += next_image ? 1 : 0;
    }
    [[unroll]] for (int r = 0; r < TILE_ROWS; ++r)
      [[unroll]] for (int c = 0; c < TILE_COLS; ++c) {
        float s = acc[r][c];
        [[unroll]] for (int q = 0; q < PIXELS; ++q) s += a4[q][r / 4][r % 4] * b4[q][c / 4][c % 4];
        acc[r][c] = s;
      }
  }

  const int base = (chunk * pc.cout + co0) * filter_size + j0;
  [[unroll]] for (int r = 0; r < TILE_ROWS; ++r) {
    [[unroll]] for (int c = 0; c < TILE_COLS; ++c) {
      if (co0 + r < pc.cout && j0 + c < filter_size) partial[base + r * filter_size + c] = acc[r][c];
    }
  }
}
