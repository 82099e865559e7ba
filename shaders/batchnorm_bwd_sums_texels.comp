#version 450
// batchnorm_bwd_sums for channel counts divisible by 4, x and dy read through rgba32f texel buffers.
#define VEC vec4
#define TEXELS
#include "batchnorm_bwd_sums.glsl"
