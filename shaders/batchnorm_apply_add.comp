#version 450
// batchnorm_apply plus a residual, over any channel count, one float per invocation step.
#define VEC float
#define RESIDUAL
#include "batchnorm_apply.glsl"
