// Decides where a sequence of dispatches needs an execution + memory barrier, from the byte ranges
// each one reads and writes. Pure: no Vulkan objects, so it is tested without a GPU.
#pragma once

#include <cstdint>
#include <vector>

namespace vkres::graph {

struct RangeAccess {
  uint64_t resource = 0;  // which buffer (any id that is equal for the same VkBuffer)
  uint64_t begin = 0;     // byte range [begin, end)
  uint64_t end = 0;
  bool write = false;
};

enum class SyncMode { planned, full };

// barrier_before[i] is true when dispatch i must wait for an earlier one: it reads what an
// unsynchronised earlier dispatch wrote (RAW), or writes what one read (WAR) or wrote (WAW).
// Dispatches between two barriers form an interval that may run concurrently.
// SyncMode::full puts a barrier before every dispatch but the first.
std::vector<bool> plan_barriers(const std::vector<std::vector<RangeAccess>>& dispatches, SyncMode mode);

}  // namespace vkres::graph
