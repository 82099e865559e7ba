// Launch geometry and scratch layout shared by the batch-norm kernels (see push_batchnorm.h).
#ifndef VKRES_BATCHNORM_COMMON_GLSL
#define VKRES_BATCHNORM_COMMON_GLSL

#include "common.glsl"
#include "push_batchnorm.h"
layout(push_constant) uniform PushBlock { BatchNormPush pc; };

// The row-walked tensors (x, dy) are declared with ROWS_BUFFER(binding, name) and read with
// LOAD(name, i): storage buffers of VEC, or, in the _texels variants (VEC vec4, TEXELS defined),
// rgba32f texel buffers, which CPU drivers read several times faster.
#ifdef TEXELS
#define ROWS_BUFFER(b, name) layout(set = 0, binding = b) uniform samplerBuffer name##_texels
#define LOAD(name, i) texelFetch(name##_texels, int(i))
#else
#define ROWS_BUFFER(b, name) layout(std430, set = 0, binding = b) readonly buffer name##_block { VEC name[]; }
#define LOAD(name, i) name[i]
#endif

// Per-channel coefficient rows in scratch, written by a merge pass and read by an elementwise pass.
// The mean is carried as hi + lo: a large offset (mean 100, std 0.1) would otherwise lose most of
// the digits of x - mean to the rounding of the mean itself.
const uint COEFF_MEAN_HI = 0u;
const uint COEFF_MEAN_LO = 1u;
const uint COEFF_SCALE = 2u;  // gamma * invstd
const uint COEFF_SHIFT = 3u;  // forward: beta; backward: mean(dy)
const uint COEFF_PROJ = 4u;   // backward only: invstd^2 * mean(dy * (x - mean))
// Backward only: the forward's shift (beta), with which a fused ReLU's mask is recomputed; the
// forward's scale is COEFF_SCALE, the same gamma * invstd.
const uint COEFF_FWD_SHIFT = 5u;

// Rows of the saved-statistics tensor (ops::kBatchNormSavedRows of them): the statistics, then the
// forward's coefficients, with which the backward pass of a fused ReLU recomputes the sign of the
// forward's output instead of reading it.
const uint SAVED_MEAN_HI = 0u;
const uint SAVED_INVSTD = 1u;
const uint SAVED_MEAN_LO = 2u;
const uint SAVED_SCALE = 3u;
const uint SAVED_SHIFT = 4u;

#ifdef VEC
// The forward's output before a fused ReLU. precise forbids contracting it into an FMA, so the
// apply pass and the backward passes that recompute it round alike, bit for bit.
VEC batchnorm_output(VEC centered, VEC scale, VEC shift) {
  precise VEC v = centered * scale + shift;
  return v;
}
#endif

// relu_bwd of the fused ReLU: dy where the output before it is positive, else 0.
float relu_gradient(float before_relu, float dy) { return before_relu > 0.0 ? dy : 0.0; }
vec4 relu_gradient(vec4 before_relu, vec4 dy) { return mix(vec4(0.0), dy, greaterThan(before_relu, vec4(0.0))); }

// The contiguous rows [first, end) of one channel that one invocation walks; its partial results
// go to scratch slot `slot`.
struct RowWalk {
  uint channel;
  uint first;
  uint end;
  uint slot;
  bool in_range;
};

uint channel_tiles() { return (pc.channels + pc.tile_width - 1u) / pc.tile_width; }
uint slot_count() { return pc.chunks * pc.phases; }

// Rows of `slot` = (chunk, phase): phase p of a chunk owns the p-th of its `phases` equal parts.
uvec2 slot_rows(uint slot) {
  uint rows_per_phase = pc.rows_per_chunk / pc.phases;
  uint first = (slot / pc.phases) * pc.rows_per_chunk + (slot % pc.phases) * rows_per_phase;
  return uvec2(first, min(pc.count, first + rows_per_phase));
}

uint rows_in_slot(uint slot) {
  uvec2 rows = slot_rows(slot);
  return rows.x < rows.y ? rows.y - rows.x : 0u;
}

RowWalk this_row_walk() {
  uint group = linear_group_id();
  uint chunk = group / channel_tiles();
  uint lane = gl_LocalInvocationID.x;
  uint phase = lane / pc.tile_width;
  RowWalk w;
  w.channel = (group % channel_tiles()) * pc.tile_width + lane % pc.tile_width;
  w.slot = chunk * pc.phases + phase;
  uvec2 rows = slot_rows(w.slot);
  w.first = rows.x;
  w.end = rows.y;
  w.in_range = chunk < pc.chunks && phase < pc.phases && w.channel < pc.channels;
  return w;
}

// Scratch holds `quantity`-major partial results [quantity][slot][channel], then the coefficients.
uint partial_index(uint quantity, uint slot, uint channel) {
  return (quantity * slot_count() + slot) * pc.channels + channel;
}
uint coeff_index(uint row, uint channel) { return pc.coeffs_offset + row * pc.channels + channel; }

#endif
