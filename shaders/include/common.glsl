// Helpers shared by every compute shader.
#ifndef VKRES_COMMON_GLSL
#define VKRES_COMMON_GLSL

// Dispatches larger than maxComputeWorkGroupCount[0] (65535 guaranteed) spill into y; the host
// side (vk::grid_1d) lays out the groups this way.
uint linear_group_id() { return gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x; }
uint linear_invocation_id() { return linear_group_id() * gl_WorkGroupSize.x + gl_LocalInvocationID.x; }

#endif
