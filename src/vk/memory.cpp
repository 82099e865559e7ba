#include "vk/memory.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "core/error.hpp"

namespace vkres::vk {
namespace {

// Texel-buffer reads: kernels may view any tensor through a uniform texel buffer (graph::View).
constexpr VkBufferUsageFlags kUsage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT |
                                      VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;

VkDeviceSize align_up(VkDeviceSize v, VkDeviceSize a) { return (v + a - 1) / a * a; }

// Picks the memory type for a kind. For `device`, host-visible device-local memory is taken only
// when asked (integrated GPUs, phones and CPU drivers, where it is the same memory anyway).
uint32_t pick_memory_type(VkPhysicalDevice physical, uint32_t allowed, MemoryKind kind, bool prefer_host_visible,
                          bool& host_visible, VkDeviceSize& heap_size) {
  VkPhysicalDeviceMemoryProperties mem;
  vkGetPhysicalDeviceMemoryProperties(physical, &mem);
  constexpr auto DL = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
  constexpr auto HV = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT;
  constexpr auto HC = VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  std::vector<VkMemoryPropertyFlags> wanted;
  if (kind == MemoryKind::staging) {
    wanted = {HV | HC};
  } else if (prefer_host_visible) {
    wanted = {DL | HV | HC, DL};
  } else {
    wanted = {DL, HV | HC};
  }
  for (auto flags : wanted)
    for (uint32_t t = 0; t < mem.memoryTypeCount; ++t)
      if ((allowed & (1u << t)) && (mem.memoryTypes[t].propertyFlags & flags) == flags) {
        host_visible = (mem.memoryTypes[t].propertyFlags & (HV | HC)) == (HV | HC);
        heap_size = mem.memoryHeaps[mem.memoryTypes[t].heapIndex].size;
        return t;
      }
  throw Error("no suitable Vulkan memory type for storage buffers", "the driver exposes no usable memory type");
}

}  // namespace

MemoryPool::MemoryPool(VkPhysicalDevice physical, VkDevice device, MemoryKind kind, bool prefer_host_visible,
                       VkDeviceSize block_size, VkDeviceSize max_allocation_size)
    : device_(device), block_size_(block_size), max_allocation_size_(max_allocation_size) {
  // The allowed memory types of a buffer depend only on its usage and flags, so one probe tells.
  VkBufferCreateInfo info{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  info.size = 256;
  info.usage = kUsage;
  VkBuffer probe;
  check_vk(vkCreateBuffer(device, &info, nullptr, &probe), "vkCreateBuffer");
  VkMemoryRequirements req;
  vkGetBufferMemoryRequirements(device, probe, &req);
  vkDestroyBuffer(device, probe, nullptr);
  memory_type_ = pick_memory_type(physical, req.memoryTypeBits, kind, prefer_host_visible, host_visible_, heap_size_);
}

MemoryPool::~MemoryPool() {
  for (auto& b : blocks_) {
    vkDestroyBuffer(device_, b.buffer, nullptr);
    vkFreeMemory(device_, b.memory, nullptr);  // unmaps implicitly
  }
}

VkDeviceSize MemoryPool::bytes_reserved() const {
  VkDeviceSize total = 0;
  for (const auto& b : blocks_) total += b.size;
  return total;
}

void MemoryPool::add_block(VkDeviceSize size) {
  if (size > max_allocation_size_)
    throw Error(fmt::format("a single allocation of {} MiB exceeds this device's limit of {} MiB", size >> 20,
                            max_allocation_size_ >> 20),
                "use a smaller batch size or model");
  Block b;
  b.size = size;
  VkBufferCreateInfo info{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  info.size = size;
  info.usage = kUsage;
  check_vk(vkCreateBuffer(device_, &info, nullptr, &b.buffer), "vkCreateBuffer");
  VkMemoryRequirements req;
  vkGetBufferMemoryRequirements(device_, b.buffer, &req);
  VkMemoryAllocateInfo alloc{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
  alloc.allocationSize = req.size;
  alloc.memoryTypeIndex = memory_type_;
  VkResult r = vkAllocateMemory(device_, &alloc, nullptr, &b.memory);
  if (r != VK_SUCCESS) {
    vkDestroyBuffer(device_, b.buffer, nullptr);
    throw Error(fmt::format("allocating {} MiB of device memory failed", size >> 20), r,
                "use a smaller batch size or model, or close other programs using the GPU");
  }
  check_vk(vkBindBufferMemory(device_, b.buffer, b.memory, 0), "vkBindBufferMemory");
  if (host_visible_) {
    void* p = nullptr;
    check_vk(vkMapMemory(device_, b.memory, 0, VK_WHOLE_SIZE, 0, &p), "vkMapMemory");
    b.mapped = static_cast<std::byte*>(p);
  }
  b.free.push_back({0, size});
  blocks_.push_back(std::move(b));
}

Allocation MemoryPool::allocate(VkDeviceSize size, VkDeviceSize alignment) {
  size = align_up(std::max<VkDeviceSize>(size, 4), 4);
  auto try_block = [&](uint32_t bi) -> Allocation {
    Block& b = blocks_[bi];
    // Best fit: the smallest free range that holds the aligned request.
    size_t best = b.free.size();
    VkDeviceSize best_waste = ~VkDeviceSize(0);
    for (size_t i = 0; i < b.free.size(); ++i) {
      VkDeviceSize start = align_up(b.free[i].offset, alignment);
      VkDeviceSize end = b.free[i].offset + b.free[i].size;
      if (start + size > end) continue;
      VkDeviceSize waste = end - start - size;
      if (waste < best_waste) best = i, best_waste = waste;
    }
    if (best == b.free.size()) return {};
    Range r = b.free[best];
    VkDeviceSize start = align_up(r.offset, alignment);
    b.free.erase(b.free.begin() + static_cast<ptrdiff_t>(best));
    auto at = b.free.begin() + static_cast<ptrdiff_t>(best);
    // The tail first so that the head, if any, lands before it and the list stays sorted.
    if (start + size < r.offset + r.size) at = b.free.insert(at, {start + size, r.offset + r.size - start - size});
    if (start > r.offset) b.free.insert(at, {r.offset, start - r.offset});
    in_use_ += size;
    return Allocation{b.buffer, start, size, b.mapped ? b.mapped + start : nullptr, bi};
  };
  for (uint32_t bi = 0; bi < blocks_.size(); ++bi)
    if (Allocation a = try_block(bi)) return a;
  add_block(std::max(block_size_, align_up(size, alignment)));
  return try_block(static_cast<uint32_t>(blocks_.size() - 1));
}

void MemoryPool::free(const Allocation& a) {
  if (!a) return;
  VKRES_ASSERT(a.block < blocks_.size(), "freeing an allocation this pool did not make");
  auto& list = blocks_[a.block].free;
  auto it = std::lower_bound(list.begin(), list.end(), a.offset,
                             [](const Range& r, VkDeviceSize off) { return r.offset < off; });
  it = list.insert(it, {a.offset, a.size});
  // Coalesce with the next and the previous free range.
  if (auto next = it + 1; next != list.end() && it->offset + it->size == next->offset) {
    it->size += next->size;
    list.erase(next);
  }
  if (it != list.begin()) {
    auto prev = it - 1;
    if (prev->offset + prev->size == it->offset) {
      prev->size += it->size;
      list.erase(it);
    }
  }
  in_use_ -= a.size;
}

}  // namespace vkres::vk
