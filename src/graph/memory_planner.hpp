// Where every tensor of a training step lives, decided before anything is allocated or recorded.
// Pure: no Vulkan objects, so it is tested without a GPU.
//
// Persistent tensors (parameters, gradients, optimizer state, the input batch) live for the whole
// step, each kind in its own flat arena, packed in declaration order. Declaring parameters,
// gradients and momentum in the same order with the same sizes gives them the same offsets in their
// three arenas, so the optimizer is one dispatch over three flat arrays.
//
// Transient tensors (activations, op scratch) live from the first dispatch that touches them to the
// last, and share one arena: two of them may share bytes only if their lifetimes are disjoint.
// Placement is greedy by size with best fit, in a fixed order (see memory_planner.cpp), so the same
// input always gives the same plan.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vk/limits.hpp"

namespace vkres::graph {

// buffers: model state that is not trained (BN running statistics), kept out of the parameters
// arena so that the optimizer's one dispatch over it never touches them.
enum class ArenaKind : uint8_t { transient, parameters, gradients, optimizer_state, inputs, buffers };
inline constexpr size_t arena_kind_count = 6;
std::string_view arena_name(ArenaKind kind);

struct TensorRequest {
  std::string name;
  uint64_t bytes = 0;
  ArenaKind arena = ArenaKind::transient;
  // Dispatch indices of the first and last dispatch that touch the tensor, both inclusive.
  // Ignored for persistent arenas, whose tensors span the whole step.
  uint32_t first_use = 0;
  uint32_t last_use = 0;
  // True when the ops bind the tensor in windows of at most MemoryLimits::max_binding_bytes, so it
  // may be larger than one binding.
  bool splittable = false;
};

struct MemoryLimits {
  uint64_t offset_alignment = 16;           // minStorageBufferOffsetAlignment
  uint64_t max_binding_bytes = UINT64_MAX;  // maxStorageBufferRange
  uint64_t max_arena_bytes = UINT64_MAX;    // maxMemoryAllocationSize: each arena is one allocation
  std::optional<uint64_t> budget;           // bytes over all arenas together
};

// The packing rule of persistent arenas: each tensor at the first aligned offset after the last.
inline uint64_t align_up(uint64_t value, uint64_t alignment) { return (value + alignment - 1) / alignment * alignment; }

MemoryLimits memory_limits(const vk::DeviceLimits& device, std::optional<uint64_t> budget = std::nullopt);

struct PlacedTensor {
  std::string name;
  ArenaKind arena = ArenaKind::transient;
  uint64_t offset = 0;  // a multiple of MemoryLimits::offset_alignment
  uint64_t bytes = 0;
  uint32_t first_use = 0;
  uint32_t last_use = 0;
};

struct ArenaSummary {
  uint64_t size = 0;  // bytes: the end of the highest tensor in the arena
  // The most bytes live at once, summed over tensor sizes: no placement can make the arena smaller.
  // Equal to `size` for persistent arenas up to alignment padding.
  uint64_t lower_bound = 0;
  size_t tensor_count = 0;
};

struct MemoryPlan {
  MemoryLimits limits;
  std::vector<PlacedTensor> tensors;  // one per request, in request order
  std::array<ArenaSummary, arena_kind_count> arenas{};
  // Every arena is allocated for the whole step, so the planned peak is the sum of their sizes.
  uint64_t total_bytes = 0;
  uint64_t total_lower_bound = 0;

  const ArenaSummary& arena(ArenaKind kind) const { return arenas[static_cast<size_t>(kind)]; }
};

// Throws vkres::Error, before anything is allocated, when a tensor that cannot be split is larger
// than one binding, an arena is larger than one allocation, or the plan exceeds the budget; the
// message gives the planned size and the limit.
MemoryPlan plan_memory(const std::vector<TensorRequest>& tensors, const MemoryLimits& limits);

// The table the CLI prints before a run: each arena's size, the peak against its lower bound, and
// the `largest_count` largest tensors.
std::string memory_report(const MemoryPlan& plan, size_t largest_count = 8);

}  // namespace vkres::graph
