// Enumerating Vulkan devices, describing them, and choosing one (by index, by name substring, or
// by preference discrete > integrated > virtual > CPU), with the reason every other was passed over.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <vulkan/vulkan_core.h>

#include "vk/limits.hpp"

namespace vkres::vk {

struct MemoryHeapInfo {
  uint64_t size = 0;
  bool device_local = false;
  bool host_visible = false;  // some memory type of this heap is host-visible
};

struct DeviceInfo {
  uint32_t index = 0;
  VkPhysicalDevice handle = VK_NULL_HANDLE;
  std::string name;
  VkPhysicalDeviceType type = VK_PHYSICAL_DEVICE_TYPE_OTHER;
  uint32_t vendor_id = 0;
  uint32_t device_id = 0;
  uint32_t api_version = 0;
  uint32_t driver_version = 0;
  std::string driver_name;  // e.g. "llvmpipe", "NVIDIA"; empty before Vulkan 1.2
  std::string driver_info;  // driver's own version string
  uint8_t pipeline_cache_uuid[VK_UUID_SIZE] = {};
  std::vector<MemoryHeapInfo> heaps;
  uint32_t compute_queue_family = UINT32_MAX;
  DeviceLimits limits;         // as the device reports them (no profile applied)
  std::string unusable_reason;  // empty when vkres can run on it
};

std::vector<DeviceInfo> enumerate_devices(VkInstance instance);

std::string_view device_type_name(VkPhysicalDeviceType t);
std::string vendor_name(uint32_t vendor_id);
std::string version_string(uint32_t api_version);
// Decodes the driver version the way each vendor packs it.
std::string driver_version_string(uint32_t vendor_id, uint32_t driver_version);

struct DeviceChoice {
  size_t chosen = 0;                    // index into the enumerated list
  std::vector<std::string> passed_over;  // "name: why", one per other device
};

// request: "" (best by preference), a decimal index, or a case-insensitive name substring.
// `source` names where the request came from (--device, VKRES_DEVICE) for the error message.
DeviceChoice choose_device(const std::vector<DeviceInfo>& devices, std::string_view request,
                           std::string_view source);

}  // namespace vkres::vk
