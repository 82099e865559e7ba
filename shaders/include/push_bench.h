// Push constants of the device microbenchmarks.
#include "push.h"
#ifdef __cplusplus
namespace vkres::push {
#endif

VKRES_PUSH(BenchFmaPush) {
  uint iterations;  // of the inner loop; each does 8 vec4 FMAs
  uint count;       // invocations that store a result
  float seed;
} VKRES_PUSH_END

VKRES_PUSH(BenchCopyPush) {
  uint vec4_count;
  uint vec4_per_invocation;
} VKRES_PUSH_END

#ifdef __cplusplus
}
#endif
