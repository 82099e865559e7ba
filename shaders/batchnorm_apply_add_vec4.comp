#version 450
// batchnorm_apply plus a residual for channel counts divisible by 4: a vec4 of channels per step.
#define VEC vec4
#define RESIDUAL
#include "batchnorm_apply.glsl"
