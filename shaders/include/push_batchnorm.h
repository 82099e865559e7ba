// Push constants of the batch-norm kernels (shaders/batchnorm_*.comp, src/ops/batchnorm.cpp).
//
// Every pass sees the activation as rows [count][channels]. A row-walking pass (stats, apply,
// bwd_sums, bwd_dx) gives each workgroup one (channel tile, chunk of rows): its lanes cover
// tile_width consecutive channels times `phases`, and phase p walks the p-th contiguous part of the
// chunk, so each subgroup streams through memory. Its partial results go to scratch slot
// chunk * phases + phase. The per-channel passes (merges, eval coefficients) run one invocation
// per channel and read the same geometry to find the slots.
//
// The _vec4 kernels count channels in vec4s: for them channels, tile_width and coeffs_offset are in
// units of 4 floats; for every other kernel in floats.
#include "push.h"
#ifdef __cplusplus
namespace vkres::push {
#endif

VKRES_PUSH(BatchNormPush) {
  uint count;           // rows (n * h * w)
  uint channels;        // row width in the kernel's elements (see above)
  uint tile_width;      // channels per workgroup: min(row width, workgroup size)
  uint phases;          // parts of a chunk, one per row of lanes: workgroup size / tile_width
  uint rows_per_chunk;  // a multiple of phases
  uint chunks;
  uint coeffs_offset;   // where the per-channel coefficient rows start in scratch
  uint accumulate;      // gradient outputs: != 0 adds to the destination, else overwrites
  uint relu;            // != 0: the ReLU that follows is fused in (apply writes max(y, 0); bwd_sums and
                        // bwd_dx take its output's gradient and mask it)
  float eps;
  float momentum;
} VKRES_PUSH_END

// Evaluation folded into the convolution before it (batchnorm_fold.comp): `channels` output
// channels of `field` weights each; the bias pass (bias != 0) writes the per-channel shifts.
VKRES_PUSH(BatchNormFoldPush) {
  uint channels;
  uint field;
  uint bias;
  float eps;
} VKRES_PUSH_END

#ifdef __cplusplus
}
#endif
