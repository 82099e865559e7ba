#version 450
// Second pass of the split-K reductions (filter and bias gradients): dst[i] (=|+=) the sum over
// chunks c = 0, 1, ... of partial[c * count + i]. The fixed order makes results bit-identical run
// to run.
#include "common.glsl"
#include "push_conv2d.h"
layout(push_constant) uniform PushBlock { ChunkSumPush pc; };
layout(std430, set = 0, binding = 0) readonly buffer Partial { float partial[]; };
layout(std430, set = 0, binding = 1) buffer Dst { float dst[]; };

void main() {
  const uint i = linear_invocation_id();
  if (i >= pc.count) return;
  float sum = 0.0;
  for (uint c = 0; c < pc.chunks; ++c) sum += partial[c * pc.count + i];
  dst[i] = pc.accumulate != 0u ? dst[i] + sum : sum;
}
