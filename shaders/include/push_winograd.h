// Push constants of the Winograd F(2x2, 3x3) and F(4x4, 3x3) convolutions (shaders/winograd*.comp,
// src/ops/winograd.cpp).
#include "push.h"
#ifdef __cplusplus
namespace vkres::push {
#endif

// A 3x3 stride-1 convolution of x [n][h][w][cin] into y [n][oh][ow][cout] in m x m output tiles
// (m = 2 or 4): tiles = n * tiles_h * tiles_w, each read from the (m + 2) x (m + 2) input patch at
// (m ty - pad_h, m tx - pad_w), and (m + 2)^2 positions (GEMMs) in the transformed domain.
// For a data gradient x is dy, y is dx and the channels are swapped; a filter gradient transforms
// x and dy [n][oh][ow][cout] and reduces over the tiles (see winograd.cpp).
VKRES_PUSH(WinogradPush) {
  int n;
  int h;
  int w;
  int cin;
  int cout;
  int pad_h;
  int pad_w;
  int oh;
  int ow;
  int tiles_h;
  int tiles_w;
  int tiles;
  int positions;
  // GEMM: workgroups per row of cout tiles, and rows of tile-row workgroups per Winograd position.
  uint channel_tiles;
  uint row_groups;
  // Filter transform: != 0 for a data gradient, whose filter is the layer's, flipped in y and x,
  // with its input and output channels swapped.
  uint transposed;
  uint has_bias;
  // != 0: y += result (a later gradient contribution); else y = result.
  uint accumulate;
  // Forward output transform (conv2d_epilogue.glsl): != 0 adds the residual tensor to each output,
  // then / or applies ReLU.
  uint has_residual;
  uint relu;
  // Filter gradient: its GEMMs' split-K, chunks of chunk_tiles tiles.
  uint chunk_tiles;
  uint chunks;
} VKRES_PUSH_END

#ifdef __cplusplus
}
#endif
