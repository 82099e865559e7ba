// Device memory: a few large VkDeviceMemory blocks, each with one VkBuffer over all of it,
// suballocated by best fit. Tensors are (buffer, offset, size) ranges of those blocks, so a model
// with hundreds of tensors still makes only a handful of allocations.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <vulkan/vulkan_core.h>

namespace vkres::vk {

struct Allocation {
  VkBuffer buffer = VK_NULL_HANDLE;
  VkDeviceSize offset = 0;
  VkDeviceSize size = 0;
  std::byte* mapped = nullptr;  // host pointer to the first byte, or nullptr if not host-visible
  uint32_t block = UINT32_MAX;
  explicit operator bool() const { return buffer != VK_NULL_HANDLE; }
  // `bytes` of this allocation from `offset`: same buffer and block, not separately freed.
  Allocation sub(VkDeviceSize at, VkDeviceSize bytes) const {
    return {buffer, offset + at, bytes, mapped ? mapped + at : nullptr, block};
  }
};

enum class MemoryKind {
  device,   // for the GPU: device-local (host-visible too where that costs nothing: zero copy)
  staging,  // host-visible, coherent, for uploads and readbacks
};

class MemoryPool {
 public:
  // block_size: the size of each big allocation; larger requests get a block of their own.
  MemoryPool(VkPhysicalDevice physical, VkDevice device, MemoryKind kind, bool prefer_host_visible,
             VkDeviceSize block_size, VkDeviceSize max_allocation_size);
  ~MemoryPool();
  MemoryPool(const MemoryPool&) = delete;
  MemoryPool& operator=(const MemoryPool&) = delete;

  Allocation allocate(VkDeviceSize size, VkDeviceSize alignment);
  void free(const Allocation& a);

  bool host_visible() const { return host_visible_; }
  // The size of the heap this pool allocates from, as the driver reports it (all of it, including
  // what other processes use: an upper bound on what the pool can get).
  VkDeviceSize heap_size() const { return heap_size_; }
  VkDeviceSize bytes_in_use() const { return in_use_; }
  VkDeviceSize bytes_reserved() const;
  size_t block_count() const { return blocks_.size(); }

 private:
  struct Range {
    VkDeviceSize offset, size;
  };
  struct Block {
    VkDeviceMemory memory = VK_NULL_HANDLE;
    VkBuffer buffer = VK_NULL_HANDLE;
    VkDeviceSize size = 0;
    std::byte* mapped = nullptr;
    std::vector<Range> free;  // sorted by offset, coalesced
  };
  void add_block(VkDeviceSize size);

  VkDevice device_;
  uint32_t memory_type_ = 0;
  bool host_visible_ = false;
  VkDeviceSize heap_size_ = 0;
  VkDeviceSize block_size_;
  VkDeviceSize max_allocation_size_;
  VkDeviceSize in_use_ = 0;
  std::vector<Block> blocks_;
};

}  // namespace vkres::vk
