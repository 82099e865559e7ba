// vkres::Error: what failed, the VkResult where there is one, and a hint on how to fix it.
// The library throws it and never exits; the CLI prints it as one line and returns non-zero.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>

#include <vulkan/vulkan_core.h>

namespace vkres {

class Error : public std::runtime_error {
 public:
  explicit Error(std::string what, std::string hint = {});
  Error(std::string what, VkResult result, std::string hint = {});

  const std::string& hint() const { return hint_; }
  std::optional<VkResult> result() const { return result_; }

 private:
  std::string hint_;
  std::optional<VkResult> result_;
};

const char* vk_result_name(VkResult r);

// Throws Error("<what>: <VkResult name>") unless r is VK_SUCCESS.
void check_vk(VkResult r, const char* what, std::string hint = {});

}  // namespace vkres

// Engine invariants (a shape mismatch between two ops, an impossible internal state): these are
// programming errors, not user errors, so they abort with a message in every build type.
#define VKRES_ASSERT(cond, msg)                                                 \
  do {                                                                          \
    if (!(cond)) ::vkres::detail::assert_fail(#cond, msg, __FILE__, __LINE__); \
  } while (0)

namespace vkres::detail {
[[noreturn]] void assert_fail(const char* cond, const std::string& msg, const char* file, int line);
}
