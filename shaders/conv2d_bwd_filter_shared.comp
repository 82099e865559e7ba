#version 450
// conv2d_bwd_filter.comp as a shared-memory tiled GEMM (conv2d_shared_tile.glsl): a workgroup
// owns BLOCK_ROWS output channels x BLOCK_COLS filter positions of one split-K chunk and walks the
// chunk's output pixels, staging K_STEP pixels of dy and of the matching input windows at a time.
// The chunks are the register-blocked kernel's and so are the products and their order: the same
// partial sums, bit for bit.
#include "conv2d_shared_tile.glsl"
layout(std430, set = 0, binding = 0) readonly buffer X { float x[]; };
layout(std430, set = 0, binding = 1) readonly buffer DY { float dy[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Partial { float partial[]; };

// Each column's filter position: its tap and its offset from the window's first float.
shared int col_tap_y[BLOCK_COLS], col_tap_x[BLOCK_COLS], col_offset[BLOCK_COLS];

void main() {
  const int filter_size = pc.kh * pc.kw * pc.cin;
  const int col_blocks = (filter_size + BLOCK_COLS - 1) / BLOCK_COLS;
  const int blocks = (pc.cout + BLOCK_ROWS - 1) / BLOCK_ROWS * col_blocks;
  const int group = int(linear_group_id());
  const int chunk = group / blocks;
  if (chunk >= int(pc.chunks)) return;  // graph::grid_1d rounds the grid up: whole workgroups
  const int block = group - chunk * blocks;
  const int co0 = block / col_blocks * BLOCK_ROWS;
  const int j0 = (block % col_blocks) * BLOCK_COLS;
  const int lane = int(gl_LocalInvocationID.x);

  // Columns past the filter take the last position: in bounds, and never stored.
  for (int c = lane; c < BLOCK_COLS; c += LANES) {
    const int j = min(j0 + c, filter_size - 1);
    const int tap = j / pc.cin;
    col_tap_y[c] = tap / pc.kw;
    col_tap_x[c] = tap - col_tap_y[c] * pc.kw;
    col_offset[c] = (col_tap_y[c] * pc.w + col_tap_x[c]) * pc.cin + (j - tap * pc.cin);
  }
  barrier();

  const int pixels = pc.n * pc.oh * pc.ow;
  const int first = chunk * int(pc.chunk_pixels);
  const int end = min(first + int(pc.chunk_pixels), pixels);
  clear_tile();
  for (int p0 = first; p0 < end; p0 += K_STEP) {
    // Consecutive lanes take consecutive channels of one dy pixel, then consecutive filter
    // positions (mostly consecutive floats of one input pixel).
    for (int e = lane; e < K_STEP * BLOCK_ROWS; e += LANES) {
      const int k = e / BLOCK_ROWS, r = e - k * BLOCK_ROWS;
      const int p = p0 + k, co = co0 + r;
      stage_a(k, r, p < end && co < pc.cout ? dy[p * pc.cout + co] : 0.0);
    }
    for (int e = lane; e < K_STEP * BLOCK_COLS; e += LANES) {
      const int k = e / BLOCK_COLS, c = e - k * BLOCK_COLS;
      const int p = p0 + k;
      const ivec3 o = split_pixel(min(p, end - 1), pc.oh, pc.ow);
      const int y0 = o.y * pc.stride_h - pc.pad_h, x0 = o.z * pc.stride_w - pc.pad_w;
      float v = 0.0;
      if (p < end && inside(y0 + col_tap_y[c], x0 + col_tap_x[c], pc.h, pc.w))
        v = x[((o.x * pc.h + y0) * pc.w + x0) * pc.cin + col_offset[c]];
      stage_b(k, c, v);
    }
    barrier();
    multiply_staged(min(K_STEP, end - p0));
    barrier();
  }

  const int base = (chunk * pc.cout + co0) * filter_size + j0;
  [[unroll]] for (int r = 0; r < TILE_ROWS; ++r) {
    [[unroll]] for (int c = 0; c < TILE_COLS; ++c) {
      const int row = block_row(r), col = block_col(c);
      if (co0 + row < pc.cout && j0 + col < filter_size) partial[base + row * filter_size + col] = acc[r][c];
    }
  }
}
