#version 450
// batchnorm_apply over any channel count, one float per invocation step.
#define VEC float
#include "batchnorm_apply.glsl"
