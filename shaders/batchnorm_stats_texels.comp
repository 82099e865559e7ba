#version 450
// batchnorm_stats for channel counts divisible by 4, x and dy read through rgba32f texel buffers.
#define VEC vec4
#define TEXELS
#include "batchnorm_stats.glsl"
