// Lets one declaration of a push-constant struct serve both GLSL and C++. A shader uses it as
//   layout(push_constant) uniform PushBlock { ReluPush pc; };
// Members are 4-byte scalars only (uint, int, float), so std430 and C layouts agree.
#ifndef VKRES_PUSH_H
#define VKRES_PUSH_H
#ifdef __cplusplus
#include <cstdint>
namespace vkres::push {
using uint = uint32_t;
}
#endif
#define VKRES_PUSH(Name) struct Name
#define VKRES_PUSH_END ;
#endif
