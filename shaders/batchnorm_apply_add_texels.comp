#version 450
// batchnorm_apply plus a residual for channel counts divisible by 4, x and the residual read
// through rgba32f texel buffers.
#define VEC vec4
#define TEXELS
#define RESIDUAL
#include "batchnorm_apply.glsl"
