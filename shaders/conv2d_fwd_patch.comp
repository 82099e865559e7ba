#version 450
// conv2d_fwd.comp for a small receptive field (kh * kw * cin fixed per pipeline and small: the
// stem's 3 * 3 * 3). Each lane owns TILE_ROWS horizontally adjacent output pixels, whose receptive
// fields overlap: it gathers their union once, one float per r32f fetch (the stem: 90 fetches for
// 8 pixels instead of 216), then runs over the output channels TILE_COLS at a time with those
// accumulators in registers. The loops unroll completely, so every weight sits at an offset known
// at compile time, the same for all lanes: CPU drivers load it once and broadcast it instead of
// once per lane. The products in the same order as conv2d_fwd.comp's, so the same bits.
#include "conv2d_common.glsl"
layout(constant_id = 3) const int KH = 3;
layout(constant_id = 4) const int KW = 3;
layout(constant_id = 5) const int CIN = 3;
layout(constant_id = 6) const int COUT = 16;
layout(constant_id = 7) const int STRIDE_W = 1;
layout(set = 0, binding = 0) uniform samplerBuffer x1;
layout(std430, set = 0, binding = 1) readonly buffer Wt { float wt[]; };
layout(std430, set = 0, binding = 2) readonly buffer Bias { float bias[]; };  // any tensor if !has_bias
layout(std430, set = 0, binding = 3) writeonly buffer Y { float y[]; };
layout(std430, set = 0, binding = 3) writeonly buffer Y4 { vec4 y4[]; };  // the same tensor
#define EPILOGUE_BINDING 4
#include "conv2d_epilogue.glsl"  // the residual (VEC4_STORES only) and ReLU

const int FIELD = KH * KW * CIN;
const int SPAN = (TILE_ROWS - 1) * STRIDE_W + KW;  // input columns under a lane's pixels
// On CPU drivers every store with a per-lane address is a loop over the lanes, whatever its width.
const bool VEC4_STORES = COUT % 4 == 0 && TILE_COLS % 4 == 0;

void main() {
  const int row_groups = (pc.ow + TILE_ROWS - 1) / TILE_ROWS;
  const int groups = pc.n * pc.oh * row_groups;
  const int g = min(int(linear_group_id() * LOCAL_SIZE_X + gl_LocalInvocationID.x), groups - 1);
  const bool live = int(linear_group_id() * LOCAL_SIZE_X + gl_LocalInvocationID.x) < groups;
  const ivec3 o = split_pixel(g, pc.oh, row_groups);  // (image, oy, group in the row)
  const int ox0 = o.z * TILE_ROWS;
  const int y0 = o.y * pc.stride_h - pc.pad_h, x0 = ox0 * STRIDE_W - pc.pad_w;

  // field[(ky * SPAN + column) * CIN + ci]: the input under the lane's pixels, 0 in the padding.
  float field[KH * SPAN * CIN];
  [[unroll]] for (int ky = 0; ky < KH; ++ky)
    [[unroll]] for (int col = 0; col < SPAN; ++col) {
      const bool ok = inside(y0 + ky, x0 + col, pc.h, pc.w);
      const int src = ok ? ((o.x * pc.h + y0 + ky) * pc.w + x0 + col) * CIN : 0;
      [[unroll]] for (int ci = 0; ci < CIN; ++ci) {
        const float v = texelFetch(x1, src + ci).r;
        field[(ky * SPAN + col) * CIN + ci] = ok ? v : 0.0;
      }
    }

  const int first_pixel = (o.x * pc.oh + o.y) * pc.ow + ox0;
  [[unroll]] for (int c0 = 0; c0 < COUT; c0 += TILE_COLS) {
    float sum[TILE_ROWS][TILE_COLS];
    [[unroll]] for (int r = 0; r < TILE_ROWS; ++r)
      [[unroll]] for (int c = 0; c < TILE_COLS; ++c) sum[r][c] = 0.0;
    [[unroll]] for (int ky = 0; ky < KH; ++ky)
      [[unroll]] for (int kx = 0; kx < KW; ++kx)
        [[unroll]] for (int ci = 0; ci < CIN; ++ci)
          [[unroll]] for (int c = 0; c < TILE_COLS; ++c) {
            // Columns past cout re-read the last filter: in bounds, and never stored.
            const float w = wt[min(c0 + c, COUT - 1) * FIELD + (ky * KW + kx) * CIN + ci];
            [[unroll]] for (int r = 0; r < TILE_ROWS; ++r)
              sum[r][c] += field[(ky * SPAN + r * STRIDE_W + kx) * CIN + ci] * w;
          }
    [[unroll]] for (int r = 0; r < TILE_ROWS; ++r) {
      const int p = first_pixel + r;
      const bool stored = live && ox0 + r < pc.ow;
      if (stored && VEC4_STORES) {
        [[unroll]] for (int c = 0; c < TILE_COLS; c += 4) {
          const int co = c0 + c;
          const vec4 shift = pc.has_bias != 0u ? vec4(bias[co], bias[co + 1], bias[co + 2], bias[co + 3]) : vec4(0.0);
          const vec4 v = vec4(sum[r][c], sum[r][c + 1], sum[r][c + 2], sum[r][c + 3]) + shift;
          if (co < COUT) y4[(p * COUT + co) / 4] = epilogue4(v, (p * COUT + co) / 4);
        }
      } else if (stored) {
        [[unroll]] for (int c = 0; c < TILE_COLS; ++c) {
          const int co = c0 + c;
          const float shift = pc.has_bias != 0u ? bias[min(co, COUT - 1)] : 0.0;
          if (co < COUT) y[p * COUT + co] = relu_epilogue(sum[r][c] + shift);
        }
      }
    }
  }
}
