#version 450
// Winograd F(2x2, 3x3) and F(4x4, 3x3), the 16 or 36 GEMMs (one per transformed position xi):
// m[xi][t][co] = sum over ci of v[xi][t][ci] * u[xi][co][ci],
// rows = tiles, columns = cout (tiles of a multiple of 4 columns), with the register tile of the
// convolution kernels (gemm_tile.glsl).
#include "gemm_tile.glsl"
#include "push_winograd.h"
layout(push_constant) uniform PushBlock { WinogradPush pc; };
layout(set = 0, binding = 0) uniform samplerBuffer v4;  // [positions][tiles][cin / 4]
layout(set = 0, binding = 1) uniform samplerBuffer u4;  // [positions][cout][cin / 4]
layout(std430, set = 0, binding = 2) writeonly buffer M { vec4 m[]; };  // [positions][tiles][cout / 4]

void main() {
  const uint group = linear_group_id();
  const uint per_position = pc.row_groups * pc.channel_tiles;
  const int xi = int(group / per_position);
  if (xi >= pc.positions) return;  // graph::grid_1d rounds the grid up
  const uint rest = group - uint(xi) * per_position;
  const int co0 = int(rest % pc.channel_tiles) * TILE_COLS;
  const int first_row = int(rest / pc.channel_tiles) * int(LOCAL_SIZE_X) * TILE_ROWS + int(gl_LocalInvocationID.x);
  const int cin4 = pc.cin / 4;

  int a_start[TILE_ROWS], b_start[TILE_COLS];
  [[unroll]] for (int r = 0; r < TILE_ROWS; ++r)
    a_start[r] = (xi * pc.tiles + min(tile_row(first_row, r), pc.tiles - 1)) * cin4;
  [[unroll]] for (int c = 0; c < TILE_COLS; ++c) b_start[c] = (xi * pc.cout + min(co0 + c, pc.cout - 1)) * cin4;

  clear_tile();
  for (int ci = 0; ci < cin4; ++ci) {
    vec4 a[TILE_ROWS], b[TILE_COLS];
    [[unroll]] for (int r = 0; r < TILE_ROWS; ++r) a[r] = texelFetch(v4, a_start[r] + ci);
    [[unroll]] for (int c = 0; c < TILE_COLS; ++c) b[c] = texelFetch(u4, b_start[c] + ci);
    fma_tile4(a, b);
  }

  // Four channels per store (cout and every tile width are multiples of 4): on CPU drivers each
  // store with a per-lane address is a loop over the lanes, whatever its width.
  [[unroll]] for (int c = 0; c < TILE_COLS; c += 4) {
    const int co = co0 + c;
    [[unroll]] for (int r = 0; r < TILE_ROWS; ++r) {
      const int t = tile_row(first_row, r);
      if (co < pc.cout && t < pc.tiles)
        m[((xi * pc.tiles + t) * pc.cout + co) / 4] = vec4(acc[r][c], acc[r][c + 1], acc[r][c + 2], acc[r][c + 3]);
    }
  }
}
