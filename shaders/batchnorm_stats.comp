#version 450
// batchnorm_stats over any channel count, one float per invocation step.
#define VEC float
#include "batchnorm_stats.glsl"
