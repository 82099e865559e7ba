#include "core/error.hpp"

#include <cstdio>
#include <cstdlib>

namespace vkres {

Error::Error(std::string what, std::string hint) : std::runtime_error(std::move(what)), hint_(std::move(hint)) {}

Error::Error(std::string what, VkResult result, std::string hint)
    : std::runtime_error(what + ": " + vk_result_name(result)), hint_(std::move(hint)), result_(result) {}

const char* vk_result_name(VkResult r) {
  switch (r) {
#define CASE(x) \
  case x:       \
    return #x;
    CASE(VK_SUCCESS)
    CASE(VK_NOT_READY)
    CASE(VK_TIMEOUT)
    CASE(VK_INCOMPLETE)
    CASE(VK_ERROR_OUT_OF_HOST_MEMORY)
    CASE(VK_ERROR_OUT_OF_DEVICE_MEMORY)
    CASE(VK_ERROR_INITIALIZATION_FAILED)
    CASE(VK_ERROR_DEVICE_LOST)
    CASE(VK_ERROR_MEMORY_MAP_FAILED)
    CASE(VK_ERROR_LAYER_NOT_PRESENT)
    CASE(VK_ERROR_EXTENSION_NOT_PRESENT)
    CASE(VK_ERROR_FEATURE_NOT_PRESENT)
    CASE(VK_ERROR_INCOMPATIBLE_DRIVER)
    CASE(VK_ERROR_TOO_MANY_OBJECTS)
    CASE(VK_ERROR_FORMAT_NOT_SUPPORTED)
    CASE(VK_ERROR_FRAGMENTED_POOL)
    CASE(VK_ERROR_OUT_OF_POOL_MEMORY)
    CASE(VK_ERROR_INVALID_SHADER_NV)
#undef CASE
    default:
      return "VkResult(unknown)";
  }
}

void check_vk(VkResult r, const char* what, std::string hint) {
  if (r != VK_SUCCESS) throw Error(what, r, std::move(hint));
}

namespace detail {
void assert_fail(const char* cond, const std::string& msg, const char* file, int line) {
  std::fprintf(stderr, "vkres internal error: %s (%s) at %s:%d\n", msg.c_str(), cond, file, line);
  std::abort();
}
}  // namespace detail

}  // namespace vkres
