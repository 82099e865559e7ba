#version 450
// First pass of the bias gradient: partial[chunk][co] = sum over the chunk's output pixels of
// dy[p][co], in pixel order. conv2d_sum_chunks adds the chunks up in a fixed order.
#include "conv2d_common.glsl"
layout(std430, set = 0, binding = 0) readonly buffer DY { float dy[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Partial { float partial[]; };

void main() {
  const int invocation = int(linear_invocation_id());
  const int chunk = invocation / pc.cout;
  if (chunk >= int(pc.chunks)) return;
  const int co = invocation - chunk * pc.cout;
  const int first = chunk * int(pc.chunk_pixels);
  const int end = min(first + int(pc.chunk_pixels), pc.n * pc.oh * pc.ow);
  float sum = 0.0;
  for (int p = first; p < end; ++p) sum += dy[p * pc.cout + co];
  partial[invocation] = sum;
}
