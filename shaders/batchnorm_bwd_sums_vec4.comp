#version 450
// batchnorm_bwd_sums for channel counts divisible by 4: a vec4 of channels per invocation step.
#define VEC vec4
#include "batchnorm_bwd_sums.glsl"
