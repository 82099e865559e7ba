// The body of shaders/conv2d_fwd.comp, shared with its r32f texel variant (conv2d_fwd_r32f.comp): the
// including shader declares its operand bindings and the load functions (load_x, load_w),
// so both read the same values in the same order and give the same bits.
#ifndef VKRES_CONV2D_FWD_BODY_GLSL
#define VKRES_CONV2D_FWD_BODY_GLSL
layout(std430, set = 0, binding = 2) readonly buffer Bias { float bias[]; };  // any tensor if !has_bias
layout(std430, set = 0, binding = 3) writeonly buffer Y { float y[]; };

void main() {
  const uint group = linear_group_id();
  const int co0 = int(group % pc.channel_tiles) * TILE_COLS;
  const int first_row = int(group / pc.channel_tiles) * int(LOCAL_SIZE_X) * TILE_ROWS + int(gl_LocalInvocationID.x);
  const int pixels = pc.n * pc.oh * pc.ow;
  const int filter_size = pc.kh * pc.kw * pc.cin;

  // Where each row's receptive field starts. Rows past the end compute a copy of the last pixel.
  int image_row[TILE_ROWS], y0[TILE_ROWS], x0[TILE_ROWS];
  [[unroll]] for (int r = 0; r < TILE_ROWS; ++r) {
    const ivec3 o = split_pixel(min(tile_row(first_row, r), pixels - 1), pc.oh, pc.ow);
    image_row[r] = o.x * pc.h;
    y0[r] = o.y * pc.stride_h - pc.pad_h;
    x0[r] = o.z * pc.stride_w - pc.pad_w;
  }
  // Columns past cout re-read the last filter: in bounds, and never stored.
  int filter_start[TILE_COLS];
  [[unroll]] for (int c = 0; c < TILE_COLS; ++c) filter_start[c] = min(co0 + c, pc.cout - 1) * filter_size;

  clear_tile();
  for (int ky = 0; ky < pc.kh; ++ky) {
    for (int kx = 0; kx < pc.kw; ++kx) {
      int src[TILE_ROWS];
      bool ok[TILE_ROWS];
      [[unroll]] for (int r = 0; r < TILE_ROWS; ++r) {
        const int iy = y0[r] + ky, ix = x0[r] + kx;
        ok[r] = inside(iy, ix, pc.h, pc.w);
        src[r] = ok[r] ? ((image_row[r] + iy) * pc.w + ix) * pc.cin : 0;
      }
      const int tap = (ky * pc.kw + kx) * pc.cin;
      for (int ci = 0; ci < pc.cin; ++ci) {
        float a[TILE_ROWS], b[TILE_COLS];
        [[unroll]] for (int r = 0; r < TILE_ROWS; ++r) {
          const float v = load_x(src[r] + ci);
          a[r] = ok[r] ? v : 0.0;
        }
        [[unroll]] for (int c = 0; c < TILE_COLS; ++c) b[c] = load_w(filter_start[c] + tap + ci);
        fma_tile(a, b);
      }
    }
  }

  [[unroll]] for (int c = 0; c < TILE_COLS; ++c) {
    const int co = co0 + c;
    const float shift = pc.has_bias != 0u ? bias[min(co, pc.cout - 1)] : 0.0;
    [[unroll]] for (int r = 0; r < TILE_ROWS; ++r) {
      const int p = tile_row(first_row, r);
      if (co < pc.cout && p < pixels) y[p * pc.cout + co] = relu_epilogue(acc[r][c] + shift);
    }
  }
}

#endif
