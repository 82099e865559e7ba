// Compute pipelines made from embedded shaders, keyed by shader name + specialization constants.
// Every pipeline has one descriptor set of N buffers (binding i = the dispatch's i-th binding),
// each a storage buffer or a uniform texel buffer, and one push-constant range.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <vulkan/vulkan_core.h>

#include "vk/limits.hpp"

namespace vkres::vk {

struct KernelKey {
  std::string shader;          // shaders/<shader>.comp
  std::vector<uint32_t> spec;  // specialization constants 0..n-1; [0] is always local_size_x
  uint32_t bindings = 0;       // buffers at set 0, bindings 0..n-1
  uint32_t push_bytes = 0;
  uint32_t texel_bindings = 0;  // bit i: binding i is a uniform texel buffer, else a storage buffer
  auto operator<=>(const KernelKey&) const = default;
};

struct Pipeline {
  VkPipeline pipeline = VK_NULL_HANDLE;
  VkPipelineLayout layout = VK_NULL_HANDLE;
  VkDescriptorSetLayout set_layout = VK_NULL_HANDLE;
  uint32_t bindings = 0;
  uint32_t push_bytes = 0;
  uint32_t texel_bindings = 0;
};

class PipelineStore {
 public:
  PipelineStore(VkDevice device, VkPipelineCache cache, const DeviceLimits& limits);
  ~PipelineStore();
  PipelineStore(const PipelineStore&) = delete;
  PipelineStore& operator=(const PipelineStore&) = delete;

  // Creates on first use. Throws Error if the shader is unknown or the key breaks a device limit.
  const Pipeline& get(const KernelKey& key);
  size_t size() const { return pipelines_.size(); }
  double creation_seconds() const { return creation_seconds_; }

 private:
  VkDevice device_;
  VkPipelineCache cache_;
  const DeviceLimits& limits_;
  std::map<std::string, VkShaderModule> modules_;
  std::map<KernelKey, std::unique_ptr<Pipeline>> pipelines_;
  double creation_seconds_ = 0;
};

}  // namespace vkres::vk
