#version 450
// batchnorm_bwd_dx over any channel count, one float per invocation step.
#define VEC float
#include "batchnorm_bwd_dx.glsl"
