#version 450
// batchnorm_bwd_dx under a ReLU after a residual add, for channel counts divisible by 4, x, dy and
// the ReLU's output read through rgba32f texel buffers (storage buffers would be more than the four
// a pass may bind; ops::batchnorm_backward_residual_relu masks in a pass of its own then).
#define VEC vec4
#define TEXELS
#define MASKED
#include "batchnorm_bwd_dx.glsl"
