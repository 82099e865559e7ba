#include "vk/device_select.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include <fmt/format.h>

#include "core/error.hpp"

namespace vkres::vk {
namespace {

uint32_t find_compute_queue_family(VkPhysicalDevice device) {
  uint32_t count = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(device, &count, nullptr);
  std::vector<VkQueueFamilyProperties> families(count);
  vkGetPhysicalDeviceQueueFamilyProperties(device, &count, families.data());
  // A compute-only family is usually the async-compute queue: prefer the general one with
  // graphics too, which every driver treats as its primary, fully featured queue.
  uint32_t fallback = UINT32_MAX;
  for (uint32_t i = 0; i < count; ++i) {
    if (!(families[i].queueFlags & VK_QUEUE_COMPUTE_BIT)) continue;
    if (families[i].queueFlags & VK_QUEUE_GRAPHICS_BIT) return i;
    if (fallback == UINT32_MAX) fallback = i;
  }
  return fallback;
}

int preference_rank(VkPhysicalDeviceType t) {
  switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return 0;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return 1;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return 2;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return 3;
    default: return 4;
  }
}

std::string lower(std::string_view s) {
  std::string r(s);
  for (auto& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

DeviceInfo describe(VkPhysicalDevice handle, uint32_t index) {
  VkPhysicalDeviceDriverProperties driver{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
  VkPhysicalDeviceProperties2 props{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
  VkPhysicalDeviceProperties basic;
  vkGetPhysicalDeviceProperties(handle, &basic);
  if (basic.apiVersion >= VK_API_VERSION_1_2) props.pNext = &driver;
  vkGetPhysicalDeviceProperties2(handle, &props);
  const VkPhysicalDeviceProperties& p = props.properties;

  DeviceInfo d;
  d.index = index;
  d.handle = handle;
  d.name = p.deviceName;
  d.type = p.deviceType;
  d.vendor_id = p.vendorID;
  d.device_id = p.deviceID;
  d.api_version = p.apiVersion;
  d.driver_version = p.driverVersion;
  if (p.apiVersion >= VK_API_VERSION_1_2) {
    d.driver_name = driver.driverName;
    d.driver_info = driver.driverInfo;
  }
  std::copy(std::begin(p.pipelineCacheUUID), std::end(p.pipelineCacheUUID), d.pipeline_cache_uuid);

  VkPhysicalDeviceMemoryProperties mem;
  vkGetPhysicalDeviceMemoryProperties(handle, &mem);
  d.heaps.resize(mem.memoryHeapCount);
  for (uint32_t h = 0; h < mem.memoryHeapCount; ++h) {
    d.heaps[h].size = mem.memoryHeaps[h].size;
    d.heaps[h].device_local = mem.memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT;
  }
  for (uint32_t t = 0; t < mem.memoryTypeCount; ++t)
    if (mem.memoryTypes[t].propertyFlags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT)
      d.heaps[mem.memoryTypes[t].heapIndex].host_visible = true;

  d.compute_queue_family = find_compute_queue_family(handle);
  d.limits = read_device_limits(handle, d.compute_queue_family);
  if (p.apiVersion < VK_API_VERSION_1_1)
    d.unusable_reason = "supports only Vulkan " + version_string(p.apiVersion) + ", vkres needs 1.1";
  else if (d.compute_queue_family == UINT32_MAX)
    d.unusable_reason = "has no compute queue";
  return d;
}

}  // namespace

std::vector<DeviceInfo> enumerate_devices(VkInstance instance) {
  uint32_t count = 0;
  check_vk(vkEnumeratePhysicalDevices(instance, &count, nullptr), "vkEnumeratePhysicalDevices");
  std::vector<VkPhysicalDevice> handles(count);
  check_vk(vkEnumeratePhysicalDevices(instance, &count, handles.data()), "vkEnumeratePhysicalDevices");
  std::vector<DeviceInfo> devices;
  for (uint32_t i = 0; i < count; ++i) devices.push_back(describe(handles[i], i));
  return devices;
}

std::string_view device_type_name(VkPhysicalDeviceType t) {
  switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete GPU";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated GPU";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual GPU";
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return "CPU";
    default: return "other";
  }
}

std::string vendor_name(uint32_t id) {
  switch (id) {
    case 0x10DE: return "NVIDIA";
    case 0x1002: return "AMD";
    case 0x8086: return "Intel";
    case 0x13B5: return "ARM";
    case 0x5143: return "Qualcomm";
    case 0x106B: return "Apple";
    case 0x1010: return "Imagination";
    case 0x144D: return "Samsung";
    case 0x10005: return "Mesa";
    default: return fmt::format("0x{:04X}", id);
  }
}

std::string version_string(uint32_t v) {
  return fmt::format("{}.{}.{}", VK_API_VERSION_MAJOR(v), VK_API_VERSION_MINOR(v), VK_API_VERSION_PATCH(v));
}

std::string driver_version_string(uint32_t vendor_id, uint32_t v) {
  if (vendor_id == 0x10DE)  // NVIDIA: 10.8.8.6 bits
    return fmt::format("{}.{}.{}.{}", v >> 22, (v >> 14) & 0xFF, (v >> 6) & 0xFF, v & 0x3F);
  return version_string(v);
}

DeviceChoice choose_device(const std::vector<DeviceInfo>& devices, std::string_view request,
                           std::string_view source) {
  auto list_all = [&] {
    std::string s;
    for (const auto& d : devices) s += fmt::format("{}{}: {}", s.empty() ? "" : ", ", d.index, d.name);
    return s;
  };
  if (devices.empty())
    throw Error("no Vulkan device found",
                "install a Vulkan driver (on Debian: apt-get install mesa-vulkan-drivers for the CPU driver "
                "lavapipe) and check VK_ICD_FILENAMES / VK_DRIVER_FILES if set");

  DeviceChoice choice;
  size_t chosen = devices.size();
  std::string why_not_others;
  if (request.empty()) {
    for (size_t i = 0; i < devices.size(); ++i) {
      if (!devices[i].unusable_reason.empty()) continue;
      if (chosen == devices.size() ||
          preference_rank(devices[i].type) < preference_rank(devices[chosen].type))
        chosen = i;
    }
    if (chosen == devices.size())
      throw Error("no usable Vulkan device: " + devices[0].name + " " + devices[0].unusable_reason,
                  "vkres needs Vulkan 1.1 with a compute queue");
    why_not_others = fmt::format("a {} is preferred", device_type_name(devices[chosen].type));
  } else {
    unsigned index = 0;
    auto [end, ec] = std::from_chars(request.data(), request.data() + request.size(), index);
    if (ec == std::errc() && end == request.data() + request.size()) {
      if (index >= devices.size())
        throw Error(fmt::format("{}: there is no device {}", source, index), "devices: " + list_all());
      chosen = index;
    } else {
      for (size_t i = 0; i < devices.size(); ++i)
        if (lower(devices[i].name).find(lower(request)) != std::string::npos) {
          chosen = i;
          break;
        }
      if (chosen == devices.size())
        throw Error(fmt::format("{}: no device name contains '{}'", source, request), "devices: " + list_all());
    }
    if (!devices[chosen].unusable_reason.empty())
      throw Error(fmt::format("{}: device {} ({}) {}", source, chosen, devices[chosen].name,
                              devices[chosen].unusable_reason));
    why_not_others = fmt::format("{} asked for {}", source, request);
  }
  choice.chosen = chosen;
  for (size_t i = 0; i < devices.size(); ++i) {
    if (i == chosen) continue;
    const auto& d = devices[i];
    choice.passed_over.push_back(
        fmt::format("{} ({}): {}", d.name, device_type_name(d.type),
                    d.unusable_reason.empty() ? why_not_others : d.unusable_reason));
  }
  return choice;
}

}  // namespace vkres::vk
