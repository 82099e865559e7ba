#version 450
// Winograd F(2x2, 3x3) and F(4x4, 3x3) filter gradients, the 16 or 36 GEMMs (one per transformed
// position xi), each split over the tiles into chunks (split-K):
// partial[chunk][xi][co][ci] = sum over the chunk's tiles t, in order, of e[xi][t][co] * v[xi][t][ci],
// rows = cout, columns = cin (both multiples of 4, as are the tile's sides), with the register tile
// of the convolution kernels (gemm_tile.glsl). A chunk's lanes share its tiles: neighbouring lanes
// take neighbouring channel blocks of one position.
#include "gemm_tile.glsl"
#include "push_winograd.h"
layout(push_constant) uniform PushBlock { WinogradPush pc; };
layout(set = 0, binding = 0) uniform samplerBuffer e4;  // [positions][tiles][cout / 4]
layout(set = 0, binding = 1) uniform samplerBuffer v4;  // [positions][tiles][cin / 4]
layout(std430, set = 0, binding = 2) writeonly buffer Partial { vec4 partial[]; };  // [chunks][positions][cout][cin / 4]

const int ROW_TEXELS = TILE_ROWS / 4;
const int COL_TEXELS = TILE_COLS / 4;
const int TILES_PER_STEP = 4;

void main() {
  const int col_tiles = (pc.cin + TILE_COLS - 1) / TILE_COLS;
  const int per_position = (pc.cout + TILE_ROWS - 1) / TILE_ROWS * col_tiles;
  const int invocation = int(linear_invocation_id());
  const int task = invocation / per_position;  // chunk * positions + xi
  if (task >= int(pc.chunks) * pc.positions) return;
  const int chunk = task / pc.positions, xi = task - chunk * pc.positions;
  const int block = invocation - task * per_position;
  const int co0 = block / col_tiles * TILE_ROWS, ci0 = (block % col_tiles) * TILE_COLS;
  const int cout4 = pc.cout / 4, cin4 = pc.cin / 4;

  // Texels past cout and cin re-read the last one: in bounds, never stored.
  int row_texel[ROW_TEXELS], col_texel[COL_TEXELS];
  [[unroll]] for (int r = 0; r < ROW_TEXELS; ++r) row_texel[r] = xi * pc.tiles * cout4 + min(co0 / 4 + r, cout4 - 1);
  [[unroll]] for (int c = 0; c < COL_TEXELS; ++c) col_texel[c] = xi * pc.tiles * cin4 + min(ci0 / 4 + c, cin4 - 1);

  const int first = chunk * int(pc.chunk_tiles);
  const int end = min(first + int(pc.chunk_tiles), pc.tiles);
  clear_tile();
  // Up to TILES_PER_STEP tiles per step, in order: each accumulator takes their products in a row
  // (see fma_tile4), and a short step finishes the chunk.
  for (int t = first; t < end; t += TILES_PER_STEP) {
    vec4 a4[TILES_PER_STEP][ROW_TEXELS], b4[TILES_PER_STEP][COL_TEXELS];
    [[unroll]] for (int q = 0; q < TILES_PER_STEP; ++q) {
      const bool ok = t + q < end;
      [[unroll]] for (int r = 0; r < ROW_TEXELS; ++r) {
        const vec4 value = texelFetch(e4, ok ? (t + q) * cout4 + row_texel[r] : 0);
        a4[q][r] = ok ? value : vec4(0.0);
      }
      [[unroll]] for (int c = 0; c < COL_TEXELS; ++c) {
        const vec4 value = texelFetch(v4, ok ? (t + q) * cin4 + col_texel[c] : 0);
        b4[q][c] = ok ? value : vec4(0.0);
      }
    }
    [[unroll]] for (int r = 0; r < TILE_ROWS; ++r)
      [[unroll]] for (int c = 0; c < TILE_COLS; ++c) {
        float s = acc[r][c];
        [[unroll]] for (int q = 0; q < TILES_PER_STEP; ++q) s += a4[q][r / 4][r % 4] * b4[q][c / 4][c % 4];
        acc[r][c] = s;
      }
  }

  // Four channels per store: every store with a per-lane address is a loop over the lanes on CPU
  // drivers, whatever its width.
  const int base = (task * pc.cout + co0) * cin4 + ci0 / 4;
  [[unroll]] for (int r = 0; r < TILE_ROWS; ++r)
    [[unroll]] for (int c = 0; c < TILE_COLS; c += 4)
      if (co0 + r < pc.cout && ci0 + c < pc.cin)
        partial[base + r * cin4 + c / 4] = vec4(acc[r][c], acc[r][c + 1], acc[r][c + 2], acc[r][c + 3]);
}
