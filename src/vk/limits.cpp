#include "vk/limits.hpp"

#include <algorithm>
#include <thread>
#include <vector>

#include "core/error.hpp"

namespace vkres::vk {

LimitsProfile parse_limits_profile(std::string_view name, std::string_view source) {
  if (name.empty() || name == "native") return LimitsProfile::native;
  if (name == "android-baseline-2022") return LimitsProfile::android_baseline_2022;
  throw Error(std::string(source) + ": unknown limits profile '" + std::string(name) + "'",
              "use 'native' or 'android-baseline-2022'");
}

std::string_view limits_profile_name(LimitsProfile p) {
  return p == LimitsProfile::native ? "native" : "android-baseline-2022";
}

DeviceLimits read_device_limits(VkPhysicalDevice device, uint32_t compute_queue_family) {
  VkPhysicalDeviceSubgroupProperties subgroup{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
  VkPhysicalDeviceMaintenance3Properties maint3{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES};
  subgroup.pNext = &maint3;
  VkPhysicalDeviceProperties2 props{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, &subgroup};
  vkGetPhysicalDeviceProperties2(device, &props);
  const VkPhysicalDeviceLimits& l = props.properties.limits;

  VkPhysicalDeviceShaderFloat16Int8Features f16{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES};
  VkPhysicalDevice16BitStorageFeatures s16{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES};
  VkPhysicalDeviceFeatures2 features{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, &s16};
  // VK_KHR_shader_float16_int8 is core only from 1.2; chain it only where the API version has it.
  if (props.properties.apiVersion >= VK_API_VERSION_1_2) s16.pNext = &f16;
  vkGetPhysicalDeviceFeatures2(device, &features);

  uint32_t family_count = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(device, &family_count, nullptr);
  std::vector<VkQueueFamilyProperties> families(family_count);
  vkGetPhysicalDeviceQueueFamilyProperties(device, &family_count, families.data());

  DeviceLimits d;
  d.max_workgroup_invocations = l.maxComputeWorkGroupInvocations;
  for (int i = 0; i < 3; ++i) {
    d.max_workgroup_size[i] = l.maxComputeWorkGroupSize[i];
    d.max_workgroup_count[i] = l.maxComputeWorkGroupCount[i];
  }
  d.max_shared_memory = l.maxComputeSharedMemorySize;
  d.max_storage_buffer_range = l.maxStorageBufferRange;
  d.max_storage_buffers_per_stage = l.maxPerStageDescriptorStorageBuffers;
  d.max_bound_sets = l.maxBoundDescriptorSets;
  d.max_push_constants = l.maxPushConstantsSize;
  d.min_storage_buffer_offset_alignment = l.minStorageBufferOffsetAlignment;
  d.max_texel_buffer_elements = l.maxTexelBufferElements;
  d.min_texel_buffer_offset_alignment = l.minTexelBufferOffsetAlignment;
  d.max_memory_allocation_count = l.maxMemoryAllocationCount;
  d.max_memory_allocation_size = maint3.maxMemoryAllocationSize;
  d.subgroup_size = subgroup.subgroupSize;
  const bool compute = subgroup.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT;
  d.subgroup_basic_compute = compute && (subgroup.supportedOperations & VK_SUBGROUP_FEATURE_BASIC_BIT);
  d.subgroup_arithmetic = d.subgroup_basic_compute && (subgroup.supportedOperations & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT);
  d.subgroup_shuffle = d.subgroup_basic_compute && (subgroup.supportedOperations & VK_SUBGROUP_FEATURE_SHUFFLE_BIT);
  d.shader_float16 = f16.shaderFloat16;
  d.storage_buffer_16bit = s16.storageBuffer16BitAccess;
  d.timestamps = compute_queue_family < family_count && families[compute_queue_family].timestampValidBits > 0 &&
                 l.timestampPeriod > 0;
  d.timestamp_period_ns = l.timestampPeriod;
  d.cpu_driver = props.properties.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU;
  d.busy_invocations = d.cpu_driver ? 128 * std::max(1u, std::thread::hardware_concurrency()) : 2048;
  return d;
}

uint64_t tensor_offset_alignment(const DeviceLimits& limits) {
  return std::max<uint64_t>({limits.min_storage_buffer_offset_alignment, limits.min_texel_buffer_offset_alignment, 1});
}

DeviceLimits apply_profile(DeviceLimits d, LimitsProfile profile) {
  if (profile == LimitsProfile::native) return d;
  // Vulkan profile VP_ANDROID_baseline_2022 (see shared/reference/android-limits.md).
  auto clamp32 = [](uint32_t& v, uint32_t cap) { v = std::min(v, cap); };
  clamp32(d.max_workgroup_invocations, 128);
  clamp32(d.max_workgroup_size[0], 128);
  clamp32(d.max_workgroup_size[1], 128);
  clamp32(d.max_workgroup_size[2], 64);
  for (auto& c : d.max_workgroup_count) clamp32(c, 65535);
  clamp32(d.max_shared_memory, 16384);
  d.max_storage_buffer_range = std::min<uint64_t>(d.max_storage_buffer_range, 128ull << 20);
  clamp32(d.max_storage_buffers_per_stage, 4);
  clamp32(d.max_bound_sets, 4);
  clamp32(d.max_push_constants, 128);
  d.min_storage_buffer_offset_alignment = std::max<uint64_t>(d.min_storage_buffer_offset_alignment, 256);
  clamp32(d.max_texel_buffer_elements, 65536);
  d.min_texel_buffer_offset_alignment = std::max<uint64_t>(d.min_texel_buffer_offset_alignment, 256);
  clamp32(d.max_memory_allocation_count, 4096);
  d.subgroup_basic_compute = d.subgroup_arithmetic = d.subgroup_shuffle = false;
  d.shader_float16 = d.storage_buffer_16bit = false;
  d.timestamps = false;
  // A few dozen dispatches (a ResNet block's forward or backward) per submission keeps each one
  // well below the couple of seconds after which phone drivers reset the GPU.
  d.max_dispatches_per_submit = d.max_dispatches_per_submit ? std::min<uint32_t>(d.max_dispatches_per_submit, 32) : 32;
  return d;
}

}  // namespace vkres::vk
