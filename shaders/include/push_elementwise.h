// Push constants of the elementwise kernels (fill, relu, add).
#include "push.h"
#ifdef __cplusplus
namespace vkres::push {
#endif

VKRES_PUSH(FillPush) {
  uint count;
  float value;
} VKRES_PUSH_END

// accumulate != 0: dst += result (a later gradient contribution); else dst = result.
VKRES_PUSH(ElementwisePush) {
  uint count;
  uint accumulate;
} VKRES_PUSH_END

#ifdef __cplusplus
}
#endif
