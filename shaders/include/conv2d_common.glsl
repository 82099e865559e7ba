// What the convolution GEMM passes (shaders/conv2d_*.comp) share: the register tile
// (gemm_tile.glsl), the push constants and pixel arithmetic. Every pass is a GEMM whose operands
// are gathered from NHWC / OHWI tensors on the fly (implicit GEMM, no im2col buffer).
#ifndef VKRES_CONV2D_COMMON_GLSL
#define VKRES_CONV2D_COMMON_GLSL

#include "common.glsl"
#include "gemm_tile.glsl"
#include "push_conv2d.h"

layout(push_constant) uniform PushBlock { Conv2dPush pc; };

// (image, row, column) of pixel p of an [n][rows][cols] grid.
ivec3 split_pixel(int p, int rows, int cols) {
  const int per_image = rows * cols;
  const int image = p / per_image;
  const int rest = p - image * per_image;
  const int row = rest / cols;
  return ivec3(image, row, rest - row * cols);
}

bool inside(int y, int x, int rows, int cols) { return y >= 0 && y < rows && x >= 0 && x < cols; }

// A forward output after its bias, when the residual is not added here (ops::ConvEpilogue: the
// residual comes in conv2d_epilogue.glsl's four-channel stores only).
float relu_epilogue(float v) { return pc.relu != 0u ? max(v, 0.0) : v; }

#endif
