#version 450
// conv2d_bwd_data.comp with its operands read through r32f texel buffers, one float per fetch: for shapes
// whose channel counts rule out the rgba32f variants (the stem's cin = 3). On CPU drivers a texel
// fetch goes through the sampler path, cheaper than a storage load with a per-lane address. The
// same body, so the same products in the same order and the same bits.
#include "conv2d_common.glsl"
layout(set = 0, binding = 0) uniform samplerBuffer dy1;
layout(set = 0, binding = 1) uniform samplerBuffer w1;
float load_dy(int i) { return texelFetch(dy1, i).r; }
float load_w(int i) { return texelFetch(w1, i).r; }
#include "conv2d_bwd_data_body.glsl"
