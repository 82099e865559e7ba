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
// relu != 0 (add only, never with accumulate): dst = max(a + b, 0), the residual add and the ReLU
// after it in one pass (see nn::ForwardGraph).
VKRES_PUSH(ElementwisePush) {
  uint count;
  uint accumulate;
  uint relu;
} VKRES_PUSH_END

#ifdef __cplusplus
}
#endif
