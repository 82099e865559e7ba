// Push constants of the pooling kernels (maxpool_*, avgpool_*).
#ifndef VKRES_PUSH_POOL_H
#define VKRES_PUSH_POOL_H
#include "push.h"
#ifdef __cplusplus
namespace vkres::push {
#endif

// Max pool over NHWC activations: x [n][h][w][c] -> y [n][oh][ow][c] with a kh x kw window at
// stride (stride_h, stride_w) and padding (pad_h, pad_w). accumulate (backward only): dx += result.
VKRES_PUSH(MaxPoolPush) {
  uint n;
  uint h;
  uint w;
  uint c;
  uint oh;
  uint ow;
  uint kh;
  uint kw;
  uint stride_h;
  uint stride_w;
  uint pad_h;
  uint pad_w;
  uint accumulate;
} VKRES_PUSH_END

// Global average pool: x [n][pixels][c] -> y [n][c]. accumulate (backward only): dx += result.
VKRES_PUSH(AvgPoolPush) {
  uint n;
  uint pixels;
  uint c;
  uint accumulate;
} VKRES_PUSH_END

#ifdef __cplusplus
}
#endif
#endif
