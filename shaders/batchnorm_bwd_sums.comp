#version 450
// batchnorm_bwd_sums over any channel count, one float per invocation step.
#define VEC float
#include "batchnorm_bwd_sums.glsl"
