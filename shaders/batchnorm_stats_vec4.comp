#version 450
// batchnorm_stats for channel counts divisible by 4: a vec4 of channels per invocation step.
#define VEC vec4
#include "batchnorm_stats.glsl"
