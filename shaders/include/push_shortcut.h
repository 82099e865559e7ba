// Push constants of the option-A shortcut kernels (shortcut_*).
#ifndef VKRES_PUSH_SHORTCUT_H
#define VKRES_PUSH_SHORTCUT_H
#include "push.h"
#ifdef __cplusplus
namespace vkres::push {
#endif

// x [n][h][w][cin] -> y [n][oh][ow][cout]: every stride-th row and column from 0, input channels
// at [pad_before, pad_before + cin), zeros elsewhere. accumulate (backward only): dx += result.
VKRES_PUSH(ShortcutPush) {
  uint n;
  uint h;
  uint w;
  uint cin;
  uint cout;
  uint oh;
  uint ow;
  uint stride;
  uint pad_before;
  uint accumulate;
} VKRES_PUSH_END

#ifdef __cplusplus
}
#endif
#endif
