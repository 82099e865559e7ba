// The device limits and optional features the engine reads. Every kernel and planner decision goes
// through this struct, never through VkPhysicalDeviceLimits directly, so that a limits profile can
// clamp a big device down to the smallest one we promise to run on.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <vulkan/vulkan_core.h>

namespace vkres::vk {

struct DeviceLimits {
  uint32_t max_workgroup_invocations = 0;
  uint32_t max_workgroup_size[3] = {0, 0, 0};
  uint32_t max_workgroup_count[3] = {0, 0, 0};
  uint32_t max_shared_memory = 0;
  uint64_t max_storage_buffer_range = 0;
  uint32_t max_storage_buffers_per_stage = 0;
  uint32_t max_bound_sets = 0;
  uint32_t max_push_constants = 0;
  uint64_t min_storage_buffer_offset_alignment = 0;
  uint32_t max_texel_buffer_elements = 0;           // texels in one uniform texel buffer view
  uint64_t min_texel_buffer_offset_alignment = 0;
  uint32_t max_memory_allocation_count = 0;
  uint64_t max_memory_allocation_size = 0;
  uint32_t subgroup_size = 0;            // 0 when unknown
  bool subgroup_basic_compute = false;   // subgroup ops usable in compute shaders
  bool subgroup_arithmetic = false;
  bool subgroup_shuffle = false;
  bool shader_float16 = false;
  bool storage_buffer_16bit = false;
  bool timestamps = false;               // compute-queue timestamps usable
  float timestamp_period_ns = 0;
  // Not a Vulkan limit: the most dispatches one queue submission may hold (0: no limit). Mobile
  // drivers' watchdogs reset the GPU when one submission runs too long, so recorded steps are cut
  // into several submissions where this is set (the android profile; VKRES_SUBMIT_DISPATCHES).
  uint32_t max_dispatches_per_submit = 0;
  // Not a Vulkan limit: about how many invocations one dispatch needs to keep this device busy,
  // which decides how finely reductions are split (the filter gradient's chunks). A CPU driver
  // runs each workgroup on one thread, so a couple of 64-lane workgroups per core is enough, and
  // every extra split costs a pass over its partial sums; GPUs want thousands.
  uint32_t busy_invocations = 0;
  // Not a Vulkan limit: the device is a CPU driver (lavapipe, SwiftShader), where kernels built for
  // GPUs (shared-memory staging between barriers) run many times slower than their register-blocked
  // twins, so the autotuner does not spend time on them.
  bool cpu_driver = false;
};

enum class LimitsProfile { native, android_baseline_2022 };

// "native" or "android-baseline-2022"; throws Error naming `source` (a flag or variable) otherwise.
LimitsProfile parse_limits_profile(std::string_view name, std::string_view source);
std::string_view limits_profile_name(LimitsProfile p);

DeviceLimits read_device_limits(VkPhysicalDevice device, uint32_t compute_queue_family);
// Every tensor starts at a multiple of this, so that any binding of it can be a storage buffer or a
// texel buffer view.
uint64_t tensor_offset_alignment(const DeviceLimits& limits);

// The smaller of the device's value and the profile's guarantee, for every field.
DeviceLimits apply_profile(DeviceLimits limits, LimitsProfile profile);

}  // namespace vkres::vk
