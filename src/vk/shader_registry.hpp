// The SPIR-V of every shader in shaders/, compiled and validated at build time (cmake/Shaders.cmake).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace vkres::shaders {
struct EmbeddedShader {
  std::string_view name;  // file name without .comp
  const uint32_t* words;
  size_t word_count;
};
// nullptr when no shader of that name was embedded.
const EmbeddedShader* find(std::string_view name);
}  // namespace vkres::shaders
