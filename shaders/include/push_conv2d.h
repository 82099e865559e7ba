// Push constants of the convolution kernels (shaders/conv2d_*.comp).
#include "push.h"
#ifdef __cplusplus
namespace vkres::push {
#endif

// The convolution's shape and the launch layout of one pass. Coordinates are signed because padded
// input coordinates go negative.
VKRES_PUSH(Conv2dPush) {
  int n;
  int h;
  int w;
  int cin;
  int cout;
  int kh;
  int kw;
  int stride_h;
  int stride_w;
  int pad_h;
  int pad_w;
  int oh;
  int ow;
  // Forward: workgroups per row of cout tiles. Data gradient: workgroups per row of cin tiles, and
  // rows of pixel tiles per stride phase.
  uint channel_tiles;
  uint pixel_tiles;
  // Filter and bias gradients (split-K): output pixels (n, oy, ox) per chunk, and chunks.
  uint chunk_pixels;
  uint chunks;
  uint has_bias;
  // != 0: dst += result (a later gradient contribution); else dst = result.
  uint accumulate;
  // Forward (conv2d_epilogue.glsl): != 0 adds the residual tensor to each output, then / or applies
  // ReLU.
  uint has_residual;
  uint relu;
} VKRES_PUSH_END

// The second pass of a split-K reduction: dst[i] (=|+=) the sum over c, in order, of partial[c * count + i].
VKRES_PUSH(ChunkSumPush) {
  uint count;
  uint chunks;
  uint accumulate;
} VKRES_PUSH_END

#ifdef __cplusplus
}
#endif
