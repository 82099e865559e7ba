#version 450
// Peak fp32 arithmetic: 8 independent vec4 FMA chains per invocation, no memory traffic but one
// store at the end so that nothing is optimised away.
#include "common.glsl"
#include "push_bench.h"
layout(push_constant) uniform PushBlock { BenchFmaPush pc; };
layout(std430, set = 0, binding = 0) writeonly buffer Out { vec4 result[]; };
void main() {
  uint id = linear_invocation_id();
  vec4 a[8];
  for (int k = 0; k < 8; ++k) a[k] = vec4(pc.seed + float(id + k));
  const vec4 m = vec4(0.9999), c = vec4(1e-4);
  for (uint i = 0; i < pc.iterations; ++i)
    for (int k = 0; k < 8; ++k) a[k] = fma(a[k], m, c);
  vec4 s = a[0] + a[1] + a[2] + a[3] + a[4] + a[5] + a[6] + a[7];
  if (id < pc.count) result[id] = s;
}
