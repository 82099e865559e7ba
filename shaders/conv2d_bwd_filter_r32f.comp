#version 450
// conv2d_bwd_filter.comp with its operands read through r32f texel buffers, one float per fetch: for shapes
// whose channel counts rule out the rgba32f variants (the stem's cin = 3). On CPU drivers a texel
// fetch goes through the sampler path, cheaper than a storage load with a per-lane address. The
// same body, so the same products in the same order and the same bits.
#include "conv2d_common.glsl"
layout(set = 0, binding = 0) uniform samplerBuffer x1;
layout(set = 0, binding = 1) uniform samplerBuffer dy1;
float load_x(int i) { return texelFetch(x1, i).r; }
float load_dy(int i) { return texelFetch(dy1, i).r; }
#include "conv2d_bwd_filter_body.glsl"
