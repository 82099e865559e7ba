#include "vk/context.hpp"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/log.hpp"

namespace vkres::vk {
namespace {

constexpr const char* kValidationLayer = "VK_LAYER_KHRONOS_validation";

bool has_layer(const char* name) {
  uint32_t n = 0;
  vkEnumerateInstanceLayerProperties(&n, nullptr);
  std::vector<VkLayerProperties> layers(n);
  vkEnumerateInstanceLayerProperties(&n, layers.data());
  return std::any_of(layers.begin(), layers.end(), [&](auto& l) { return !std::strcmp(l.layerName, name); });
}

bool has_instance_extension(const char* name) {
  uint32_t n = 0;
  vkEnumerateInstanceExtensionProperties(nullptr, &n, nullptr);
  std::vector<VkExtensionProperties> ext(n);
  vkEnumerateInstanceExtensionProperties(nullptr, &n, ext.data());
  return std::any_of(ext.begin(), ext.end(), [&](auto& e) { return !std::strcmp(e.extensionName, name); });
}

Validation parse_validation(std::string_view v) {
  if (v.empty() || v == "0" || v == "off") return Validation::off;
  if (v == "sync") return Validation::sync;
  if (v == "1" || v == "on") return Validation::on;
  throw Error("VKRES_VALIDATION: unknown value '" + std::string(v) + "'", "use 0, 1 or sync");
}

std::atomic<uint32_t> g_validation_messages{0};

VkBool32 VKAPI_PTR on_debug_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                    VkDebugUtilsMessageTypeFlagsEXT, const VkDebugUtilsMessengerCallbackDataEXT* data,
                                    void*) {
  if (severity < VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT) return VK_FALSE;
  const char* text = data->pMessage ? data->pMessage : "?";
  // The loader reports drivers it could not load (another architecture's ICD files from a
  // multiarch install, a removed driver): about the machine, not about our use of Vulkan.
  if (data->pMessageIdName && std::strcmp(data->pMessageIdName, "Loader Message") == 0) {
    log::debug("Vulkan loader: {}", text);
    return VK_FALSE;
  }
  g_validation_messages.fetch_add(1);
  log::write(log::Level::error, fmt::format("validation: {}", text));
  return VK_FALSE;
}

}  // namespace

uint32_t Instance::validation_messages() { return g_validation_messages.load(); }

ContextOptions ContextOptions::from_environment() {
  ContextOptions o;
  if (const char* d = std::getenv("VKRES_DEVICE"); d && *d) {
    o.device = d;
    o.device_source = "VKRES_DEVICE";
  }
  if (const char* v = std::getenv("VKRES_VALIDATION")) o.validation = parse_validation(v);
  if (const char* l = std::getenv("VKRES_LIMITS")) o.limits = parse_limits_profile(l, "VKRES_LIMITS");
  if (const char* n = std::getenv("VKRES_SUBMIT_DISPATCHES"); n && *n) {
    char* end = nullptr;
    const unsigned long v = std::strtoul(n, &end, 10);
    if (*end || v > UINT32_MAX || n[0] == '-')
      throw Error(fmt::format("VKRES_SUBMIT_DISPATCHES: '{}' is not a dispatch count", n),
                  "give the most dispatches per queue submission, or 0 for no limit");
    o.max_dispatches_per_submit = static_cast<uint32_t>(v);
  }
  if (const char* n = std::getenv("VKRES_INJECT_DEVICE_LOST"); n && *n) o.inject_device_lost_at = std::strtoull(n, nullptr, 10);
  return o;
}

Instance::Instance(Validation validation) : validation_(validation) {
  VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
  app.pApplicationName = "vkres";
  app.pEngineName = "vkres";
  app.apiVersion = VK_API_VERSION_1_1;

  std::vector<const char*> layers, extensions;
  VkInstanceCreateInfo ci{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
  // MoltenVK and other non-conformant implementations are listed only with portability enumeration.
  if (has_instance_extension(VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME)) {
    extensions.push_back(VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME);
    ci.flags |= VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR;
  }
  VkValidationFeatureEnableEXT sync_feature = VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT;
  VkValidationFeaturesEXT features{VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT};
  VkDebugUtilsMessengerCreateInfoEXT messenger{VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
  messenger.messageSeverity =
      VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
  messenger.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                          VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                          VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
  messenger.pfnUserCallback = on_debug_message;
  if (validation != Validation::off) {
    if (!has_layer(kValidationLayer))
      throw Error("validation was requested but VK_LAYER_KHRONOS_validation is not installed",
                  "apt-get install vulkan-validationlayers, or unset VKRES_VALIDATION");
    layers.push_back(kValidationLayer);
    extensions.push_back(VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
    // The messenger in pNext also catches messages from vkCreateInstance/vkDestroyInstance.
    ci.pNext = &messenger;
    if (validation == Validation::sync) {
      features.enabledValidationFeatureCount = 1;
      features.pEnabledValidationFeatures = &sync_feature;
      messenger.pNext = &features;
    }
  }
  ci.pApplicationInfo = &app;
  ci.enabledLayerCount = static_cast<uint32_t>(layers.size());
  ci.ppEnabledLayerNames = layers.data();
  ci.enabledExtensionCount = static_cast<uint32_t>(extensions.size());
  ci.ppEnabledExtensionNames = extensions.data();
  VkResult r = vkCreateInstance(&ci, nullptr, &instance_);
  if (r == VK_ERROR_INCOMPATIBLE_DRIVER || r == VK_ERROR_INITIALIZATION_FAILED)
    throw Error("no Vulkan driver found", r,
                "install one (on Debian: apt-get install mesa-vulkan-drivers for the CPU driver lavapipe) "
                "and check VK_ICD_FILENAMES / VK_DRIVER_FILES if set");
  check_vk(r, "vkCreateInstance");
  if (validation != Validation::off) {
    auto create = reinterpret_cast<PFN_vkCreateDebugUtilsMessengerEXT>(
        vkGetInstanceProcAddr(instance_, "vkCreateDebugUtilsMessengerEXT"));
    messenger.pNext = nullptr;
    if (create) check_vk(create(instance_, &messenger, nullptr, &messenger_), "vkCreateDebugUtilsMessengerEXT");
  }
}

Instance::~Instance() {
  if (messenger_) {
    auto destroy = reinterpret_cast<PFN_vkDestroyDebugUtilsMessengerEXT>(
        vkGetInstanceProcAddr(instance_, "vkDestroyDebugUtilsMessengerEXT"));
    if (destroy) destroy(instance_, messenger_, nullptr);
  }
  vkDestroyInstance(instance_, nullptr);
}

Context::Context(const ContextOptions& options) : profile_(options.limits) {
  instance_ = std::make_unique<Instance>(options.validation);
  auto devices = enumerate_devices(instance_->handle());
  DeviceChoice choice = choose_device(devices, options.device, options.device_source);
  info_ = devices[choice.chosen];
  passed_over_ = choice.passed_over;
  limits_ = apply_profile(info_.limits, options.limits);
  if (options.max_dispatches_per_submit) limits_.max_dispatches_per_submit = *options.max_dispatches_per_submit;
  inject_device_lost_at_ = options.inject_device_lost_at;

  float priority = 1.0f;
  VkDeviceQueueCreateInfo q{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
  q.queueFamilyIndex = info_.compute_queue_family;
  q.queueCount = 1;
  q.pQueuePriorities = &priority;
  VkDeviceCreateInfo ci{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
  ci.queueCreateInfoCount = 1;
  ci.pQueueCreateInfos = &q;
  check_vk(vkCreateDevice(info_.handle, &ci, nullptr, &device_), "vkCreateDevice");
  vkGetDeviceQueue(device_, info_.compute_queue_family, 0, &queue_);

  VkCommandPoolCreateInfo pool{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  pool.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
  pool.queueFamilyIndex = info_.compute_queue_family;
  check_vk(vkCreateCommandPool(device_, &pool, nullptr, &command_pool_), "vkCreateCommandPool");
  VkFenceCreateInfo fence{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  check_vk(vkCreateFence(device_, &fence, nullptr, &fence_), "vkCreateFence");

  // Where the GPU's memory is the host's (integrated GPUs, phones, CPU drivers), map it directly.
  const bool unified = info_.type != VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU;
  const VkDeviceSize max_alloc = limits_.max_memory_allocation_size ? limits_.max_memory_allocation_size : (1ull << 30);
  const VkDeviceSize block = std::min<VkDeviceSize>(256ull << 20, max_alloc);
  device_pool_ = std::make_unique<MemoryPool>(info_.handle, device_, MemoryKind::device, unified, block, max_alloc);
  staging_pool_ = std::make_unique<MemoryPool>(info_.handle, device_, MemoryKind::staging, true,
                                               std::min<VkDeviceSize>(64ull << 20, max_alloc), max_alloc);
  cache_dir_ = options.cache_dir;
  pipeline_cache_ = std::make_unique<PipelineCache>(device_, info_, options.cache_dir);
  pipelines_ = std::make_unique<PipelineStore>(device_, pipeline_cache_->handle(), limits_);
}

Context::~Context() {
  if (device_) vkDeviceWaitIdle(device_);
  pipelines_.reset();
  pipeline_cache_.reset();
  staging_pool_.reset();
  device_pool_.reset();
  if (fence_) vkDestroyFence(device_, fence_, nullptr);
  if (command_pool_) vkDestroyCommandPool(device_, command_pool_, nullptr);
  if (device_) vkDestroyDevice(device_, nullptr);
}

VkCommandBuffer Context::begin_one_shot() {
  VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  ai.commandPool = command_pool_;
  ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  ai.commandBufferCount = 1;
  VkCommandBuffer cb;
  check_vk(vkAllocateCommandBuffers(device_, &ai, &cb), "vkAllocateCommandBuffers");
  VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  check_vk(vkBeginCommandBuffer(cb, &bi), "vkBeginCommandBuffer");
  return cb;
}

void Context::submit_and_wait(VkCommandBuffer cb) {
  check_vk(vkEndCommandBuffer(cb), "vkEndCommandBuffer");
  try {
    submit_and_wait(std::span<const VkCommandBuffer>(&cb, 1));
  } catch (...) {
    vkFreeCommandBuffers(device_, command_pool_, 1, &cb);
    throw;
  }
  vkFreeCommandBuffers(device_, command_pool_, 1, &cb);
}

void Context::submit_and_wait(std::span<const VkCommandBuffer> recorded) {
  VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  si.commandBufferCount = static_cast<uint32_t>(recorded.size());
  si.pCommandBuffers = recorded.data();
  check_vk(vkQueueSubmit(queue_, 1, &si, fence_), "vkQueueSubmit");
  VkResult r = vkWaitForFences(device_, 1, &fence_, VK_TRUE, UINT64_MAX);
  vkResetFences(device_, 1, &fence_);
  if (++submissions_ == inject_device_lost_at_ && r == VK_SUCCESS) r = VK_ERROR_DEVICE_LOST;
  check_vk(r, "waiting for the GPU", r == VK_ERROR_DEVICE_LOST ? "the driver reset the GPU" : "");
}

namespace {
// Makes transfers visible to later compute work and compute writes visible to transfers.
void transfer_barrier(VkCommandBuffer cb) {
  VkMemoryBarrier b{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  b.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
  b.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT |
                    VK_ACCESS_TRANSFER_WRITE_BIT | VK_ACCESS_HOST_READ_BIT;
  vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                       VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT |
                           VK_PIPELINE_STAGE_HOST_BIT,
                       0, 1, &b, 0, nullptr, 0, nullptr);
}
}  // namespace

void Context::upload(const Allocation& dst, std::span<const std::byte> bytes, VkDeviceSize dst_offset) {
  VKRES_ASSERT(dst_offset + bytes.size() <= dst.size, "upload past the end of an allocation");
  if (bytes.empty()) return;
  if (dst.mapped) {
    std::memcpy(dst.mapped + dst_offset, bytes.data(), bytes.size());
    return;
  }
  Allocation staging = staging_pool_->allocate(bytes.size(), 16);
  std::memcpy(staging.mapped, bytes.data(), bytes.size());
  try {
    run_now([&](VkCommandBuffer cb) {
      VkBufferCopy copy{staging.offset, dst.offset + dst_offset, bytes.size()};
      vkCmdCopyBuffer(cb, staging.buffer, dst.buffer, 1, &copy);
      transfer_barrier(cb);
    });
  } catch (...) {
    staging_pool_->free(staging);
    throw;
  }
  staging_pool_->free(staging);
}

void Context::download(const Allocation& src, std::span<std::byte> bytes, VkDeviceSize src_offset) {
  VKRES_ASSERT(src_offset + bytes.size() <= src.size, "download past the end of an allocation");
  if (bytes.empty()) return;
  if (src.mapped) {
    std::memcpy(bytes.data(), src.mapped + src_offset, bytes.size());
    return;
  }
  Allocation staging = staging_pool_->allocate(bytes.size(), 16);
  try {
    run_now([&](VkCommandBuffer cb) {
      transfer_barrier(cb);
      VkBufferCopy copy{src.offset + src_offset, staging.offset, bytes.size()};
      vkCmdCopyBuffer(cb, src.buffer, staging.buffer, 1, &copy);
      transfer_barrier(cb);
    });
  } catch (...) {
    staging_pool_->free(staging);
    throw;
  }
  std::memcpy(bytes.data(), staging.mapped, bytes.size());
  staging_pool_->free(staging);
}

}  // namespace vkres::vk
