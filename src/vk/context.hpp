// One Vulkan device opened for compute: instance (with optional validation), the chosen device,
// one compute queue, memory pools, the pipeline store and its on-disk cache.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <vulkan/vulkan_core.h>

#include "vk/device_select.hpp"
#include "vk/limits.hpp"
#include "vk/memory.hpp"
#include "vk/pipeline.hpp"
#include "vk/kernel_choices.hpp"
#include "vk/pipeline_cache.hpp"

namespace vkres::vk {

enum class Validation { off, on, sync };  // sync: also synchronization validation

struct ContextOptions {
  std::string device;             // "" = VKRES_DEVICE or the preferred device; index or name substring
  std::string device_source = "--device";
  Validation validation = Validation::off;
  LimitsProfile limits = LimitsProfile::native;
  // Overrides DeviceLimits::max_dispatches_per_submit when set (VKRES_SUBMIT_DISPATCHES; 0 = no limit).
  std::optional<uint32_t> max_dispatches_per_submit;
  // Fault injection for tests (VKRES_INJECT_DEVICE_LOST=N): the N-th queue submission reports
  // VK_ERROR_DEVICE_LOST, which no CPU driver can be made to do. 0: never.
  uint64_t inject_device_lost_at = 0;
  std::filesystem::path cache_dir = default_cache_dir();  // empty: no persisted pipeline cache

  // Fills device, validation, limits and the submission size from VKRES_DEVICE, VKRES_VALIDATION
  // (0/1/sync), VKRES_LIMITS and VKRES_SUBMIT_DISPATCHES; explicit flags applied afterwards override them.
  static ContextOptions from_environment();
};

// The Vulkan instance alone: enough to list devices.
class Instance {
 public:
  explicit Instance(Validation validation);
  ~Instance();
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;

  VkInstance handle() const { return instance_; }
  Validation validation() const { return validation_; }
  // Validation warnings and errors reported so far by any instance in this process (each is
  // also logged). Process-wide so that messages from vkDestroyInstance (leaks) still count.
  static uint32_t validation_messages();

 private:
  VkInstance instance_ = VK_NULL_HANDLE;
  VkDebugUtilsMessengerEXT messenger_ = VK_NULL_HANDLE;
  Validation validation_;
};

class Context {
 public:
  explicit Context(const ContextOptions& options);
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  VkInstance instance() const { return instance_->handle(); }
  VkPhysicalDevice physical() const { return info_.handle; }
  VkDevice device() const { return device_; }
  VkQueue queue() const { return queue_; }
  uint32_t queue_family() const { return info_.compute_queue_family; }
  const DeviceInfo& info() const { return info_; }
  const std::vector<std::string>& passed_over() const { return passed_over_; }
  // The limits the engine must respect (the device's, clamped by the limits profile).
  const DeviceLimits& limits() const { return limits_; }
  LimitsProfile limits_profile() const { return profile_; }
  uint32_t validation_messages() const { return Instance::validation_messages(); }

  MemoryPool& device_memory() { return *device_pool_; }
  MemoryPool& staging_memory() { return *staging_pool_; }
  PipelineStore& pipelines() { return *pipelines_; }
  PipelineCache& pipeline_cache() { return *pipeline_cache_; }
  // The tuned kernel variants every graph built on this context uses (src/tune fills it).
  KernelChoices& kernel_choices() { return kernel_choices_; }
  const KernelChoices& kernel_choices() const { return kernel_choices_; }
  const std::filesystem::path& cache_dir() const { return cache_dir_; }

  // Records with `record` into a fresh command buffer, submits it and waits for it.
  template <class F>
  void run_now(F&& record) {
    VkCommandBuffer cb = begin_one_shot();
    record(cb);
    submit_and_wait(cb);
  }
  VkCommandBuffer begin_one_shot();
  void submit_and_wait(VkCommandBuffer cb);  // ends, submits, waits, frees
  void submit_and_wait(std::span<const VkCommandBuffer> recorded);  // already ended; not freed

  // Host <-> device copies of an allocation's bytes (direct when mapped, through staging otherwise).
  void upload(const Allocation& dst, std::span<const std::byte> bytes, VkDeviceSize dst_offset = 0);
  void download(const Allocation& src, std::span<std::byte> bytes, VkDeviceSize src_offset = 0);

  VkCommandPool command_pool() const { return command_pool_; }

 private:
  std::unique_ptr<Instance> instance_;
  DeviceInfo info_;
  std::vector<std::string> passed_over_;
  DeviceLimits limits_;
  LimitsProfile profile_;
  VkDevice device_ = VK_NULL_HANDLE;
  VkQueue queue_ = VK_NULL_HANDLE;
  VkCommandPool command_pool_ = VK_NULL_HANDLE;
  VkFence fence_ = VK_NULL_HANDLE;
  uint64_t submissions_ = 0;
  uint64_t inject_device_lost_at_ = 0;
  std::unique_ptr<MemoryPool> device_pool_;
  std::unique_ptr<MemoryPool> staging_pool_;
  std::unique_ptr<PipelineCache> pipeline_cache_;
  std::unique_ptr<PipelineStore> pipelines_;
  KernelChoices kernel_choices_;
  std::filesystem::path cache_dir_;
};

}  // namespace vkres::vk
