// The body of shaders/conv2d_bwd_filter.comp, shared with its r32f texel variant (conv2d_bwd_filter_r32f.comp): the
// including shader declares its operand bindings and the load functions (load_x, load_dy),
// so both read the same values in the same order and give the same bits.
#ifndef VKRES_CONV2D_BWD_FILTER_BODY_GLSL
#define VKRES_CONV2D_BWD_FILTER_BODY_GLSL
layout(std430, set = 0, binding = 2) writeonly buffer Partial { float partial[]; };

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

  // Rows past cout and columns past the filter re-read the last one: in bounds, never stored.
  int channel[TILE_ROWS];
  [[unroll]] for (int r = 0; r < TILE_ROWS; ++r) channel[r] = min(co0 + r, pc.cout - 1);
  int tap_y[TILE_COLS], tap_x[TILE_COLS], tap_offset[TILE_COLS];
  [[unroll]] for (int c = 0; c < TILE_COLS; ++c) {
    const int j = min(j0 + c, filter_size - 1);
    const int tap = j / pc.cin;
    tap_y[c] = tap / pc.kw;
    tap_x[c] = tap - tap_y[c] * pc.kw;
    tap_offset[c] = (tap_y[c] * pc.w + tap_x[c]) * pc.cin + (j - tap * pc.cin);
  }

  const int pixels = pc.n * pc.oh * pc.ow;
  const int first = chunk * int(pc.chunk_pixels);
  const int end = min(first + int(pc.chunk_pixels), pixels);
  ivec3 o = split_pixel(first, pc.oh, pc.ow);  // (image, oy, ox) of pixel p, stepped along
  clear_tile();
  for (int p = first; p < end; ++p) {
    const int y0 = o.y * pc.stride_h - pc.pad_h, x0 = o.z * pc.stride_w - pc.pad_w;
    const int window = ((o.x * pc.h + y0) * pc.w + x0) * pc.cin;  // may be negative; offsets fix it
    float a[TILE_ROWS], b[TILE_COLS];
    [[unroll]] for (int r = 0; r < TILE_ROWS; ++r) a[r] = load_dy(p * pc.cout + channel[r]);
    [[unroll]] for (int c = 0; c < TILE_COLS; ++c) {
      const bool ok = inside(y0 + tap_y[c], x0 + tap_x[c], pc.h, pc.w);
      const float v = load_x(ok ? window + tap_offset[c] : 0);
      b[c] = ok ? v : 0.0;
    }
    fma_tile(a, b);
    // Next pixel, without divisions.
    o.z += 1;
    const bool next_row = o.z == pc.ow;
    o.z = next_row ? 0 : o.z;
    o.y += next_row ? 1 : 0;
    const bool next_image = o.y == pc.oh;
    o.y = next_image ? 0 : o.y;
    o.x += next_image ? 1 : 0;
  }

  const int base = (chunk * pc.cout + co0) * filter_size + j0;
  [[unroll]] for (int r = 0; r < TILE_ROWS; ++r) {
    [[unroll]] for (int c = 0; c < TILE_COLS; ++c) {
      if (co0 + r < pc.cout && j0 + c < filter_size) partial[base + r * filter_size + c] = acc[r][c];
    }
  }
}

#endif
