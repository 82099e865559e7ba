// Helpers shared by every compute shader.
#ifndef VKRES_COMMON_GLSL
#define VKRES_COMMON_GLSL

// Specialization constant 0 is the workgroup width of every kernel. Code reads LOCAL_SIZE_X rather
// than gl_WorkGroupSize.x, which Mesa 22's lavapipe evaluates as the unspecialized default.
layout(constant_id = 0) const uint LOCAL_SIZE_X = 64;
layout(local_size_x_id = 0) in;

// Dispatches larger than maxComputeWorkGroupCount[0] (65535 guaranteed) spill into y; the host
// side (graph::grid_1d) lays out the groups this way.
uint linear_group_id() { return gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x; }
uint linear_invocation_id() { return linear_group_id() * LOCAL_SIZE_X + gl_LocalInvocationID.x; }

#endif
