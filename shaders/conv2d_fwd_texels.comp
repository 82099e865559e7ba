#version 450
// conv2d_fwd.comp with its operands read through rgba32f texel buffers, four input channels per
// load (cin a multiple of 4): on CPU drivers the texel path is several times cheaper per float than
// per-lane storage loads. Same tiling, same order of multiply-adds, same results.
#include "conv2d_common.glsl"
layout(set = 0, binding = 0) uniform samplerBuffer x4;  // [n][h][w][cin / 4]
layout(set = 0, binding = 1) uniform samplerBuffer w4;  // [cout][kh][kw][cin / 4]
layout(std430, set = 0, binding = 2) readonly buffer Bias { float bias[]; };  // any tensor if !has_bias
layout(std430, set = 0, binding = 3) writeonly buffer Y { float y[]; };
layout(std430, set = 0, binding = 3) writeonly buffer Y4 { vec4 y4[]; };  // the same tensor, when cout % 4 == 0
#define EPILOGUE_BINDING 4
#include "conv2d_epilogue.glsl"  // the residual (VEC4_STORES only) and ReLU

// Specialization constant 3: store four channels at a time (cout a multiple of 4). On CPU drivers
// every store with a per-lane address is a loop over the lanes, whatever its width.
layout(constant_id = 3) const bool VEC4_STORES = false;

void main() {
  const uint group = linear_group_id();
  const int co0 = int(group % pc.channel_tiles) * TILE_COLS;
  const int first_row = int(group / pc.channel_tiles) * int(LOCAL_SIZE_X) * TILE_ROWS + int(gl_LocalInvocationID.x);
  const int pixels = pc.n * pc.oh * pc.ow;
  const int cin4 = pc.cin / 4;
  const int filter_texels = pc.kh * pc.kw * cin4;

  int image_row[TILE_ROWS], y0[TILE_ROWS], x0[TILE_ROWS];
  [[unroll]] for (int r = 0; r < TILE_ROWS; ++r) {
    const ivec3 o = split_pixel(min(tile_row(first_row, r), pixels - 1), pc.oh, pc.ow);
    image_row[r] = o.x * pc.h;
    y0[r] = o.y * pc.stride_h - pc.pad_h;
    x0[r] = o.z * pc.stride_w - pc.pad_w;
  }
  int filter_start[TILE_COLS];
  [[unroll]] for (int c = 0; c < TILE_COLS; ++c) filter_start[c] = min(co0 + c, pc.cout - 1) * filter_texels;

  clear_tile();
  for (int ky = 0; ky < pc.kh; ++ky) {
    for (int kx = 0; kx < pc.kw; ++kx) {
      int src[TILE_ROWS];
      bool ok[TILE_ROWS];
      [[unroll]] for (int r = 0; r < TILE_ROWS; ++r) {
        const int iy = y0[r] + ky, ix = x0[r] + kx;
        ok[r] = inside(iy, ix, pc.h, pc.w);
        src[r] = ok[r] ? ((image_row[r] + iy) * pc.w + ix) * cin4 : 0;
      }
      const int tap = (ky * pc.kw + kx) * cin4;
      for (int ci = 0; ci < cin4; ++ci) {
        vec4 a[TILE_ROWS], b[TILE_COLS];
        [[unroll]] for (int r = 0; r < TILE_ROWS; ++r) {
          const vec4 v = texelFetch(x4, src[r] + ci);
          a[r] = ok[r] ? v : vec4(0.0);
        }
        [[unroll]] for (int c = 0; c < TILE_COLS; ++c) b[c] = texelFetch(w4, filter_start[c] + tap + ci);
        fma_tile4(a, b);
      }
    }
  }

  if (VEC4_STORES) {
    [[unroll]] for (int c = 0; c < TILE_COLS; c += 4) {
      const int co = co0 + c;
      const vec4 shift = pc.has_bias != 0u ? vec4(bias[min(co, pc.cout - 4)], bias[min(co, pc.cout - 4) + 1],
                                                   bias[min(co, pc.cout - 4) + 2], bias[min(co, pc.cout - 4) + 3])
                                           : vec4(0.0);
      [[unroll]] for (int r = 0; r < TILE_ROWS; ++r) {
        const int p = tile_row(first_row, r);
        if (co < pc.cout && p < pixels)
          y4[(p * pc.cout + co) / 4] =
              epilogue4(vec4(acc[r][c], acc[r][c + 1], acc[r][c + 2], acc[r][c + 3]) + shift, (p * pc.cout + co) / 4);
      }
    }
    return;
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
