#version 450
// y[b][ch] = mean over the pixels of x[b][pixel][ch]. One invocation sums one output in pixel
// order: fixed-order and deterministic, and the pixel count of a ResNet's last stage is small (49, 64).
#include "common.glsl"
#include "push_pool.h"
layout(push_constant) uniform PushBlock { AvgPoolPush pc; };
layout(std430, set = 0, binding = 0) readonly buffer X { float x[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Y { float y[]; };
void main() {
  uint i = linear_invocation_id();
  if (i >= pc.n * pc.c) return;
  uint b = i / pc.c, ch = i % pc.c;
  // Compensated (Kahan) summation: where activations cancel, a plain fp32 sum over 1024 pixels
  // loses 1e-3 of the mean. `precise` stops the compiler from simplifying the compensation away.
  precise float sum = 0.0, lost = 0.0;
  for (uint p = 0; p < pc.pixels; ++p) {
    precise float term = x[(b * pc.pixels + p) * pc.c + ch] - lost;
    precise float next = sum + term;
    lost = (next - sum) - term;
    sum = next;
  }
  y[i] = sum / float(pc.pixels);
}
