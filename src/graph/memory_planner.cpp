// Transient placement is "greedy by size" with best fit (as in TensorFlow Lite's arena planner):
//   1. Order the transient tensors by size descending, then first use, then request index. The
//      order is total, so the plan is deterministic; big tensors first because they are the hardest
//      to fit, and small ones then fill the holes between them.
//   2. For each tensor, collect the byte ranges of the already placed tensors whose lifetimes
//      overlap its own (every other placed tensor is dead or not yet born while it lives, so their
//      bytes are free to reuse). Walk those ranges by offset; every hole between them that holds
//      the tensor at an aligned offset is a candidate, and the smallest such hole wins (lowest
//      offset on ties). Without a hole, the tensor goes at the first aligned offset above them all.
// The cost is O(n^2) in the number of transient tensors, which stays in milliseconds for the few
// thousand tensors of a ResNet training step.
// Optimal placement is NP-hard, and greedy can miss the lower bound (the most bytes live at once)
// even on a chain: sizes 11, 7, 3, 10 KiB, each alive for two neighbouring dispatches, need 18 KiB
// (10 placed at the top, 3 below it) but greedy puts 11 and 10 at offset 0 and the 3 has no hole
// left: 21 KiB. The report prints the bound next to the plan so such losses show.
#include "graph/memory_planner.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>

#include "core/error.hpp"

namespace vkres::graph {
namespace {

bool is_persistent(ArenaKind kind) { return kind != ArenaKind::transient; }

size_t arena_index(ArenaKind kind) { return static_cast<size_t>(kind); }

std::string format_bytes(uint64_t bytes) {
  constexpr const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(units)) {
    value /= 1024;
    ++unit;
  }
  return unit == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.2f} {}", value, units[unit]);
}

// Sizes in messages carry the exact byte count too: a limit missed by a few bytes must be visible.
std::string format_bytes_exact(uint64_t bytes) {
  return bytes < 1024 ? format_bytes(bytes) : fmt::format("{} ({} bytes)", format_bytes(bytes), bytes);
}

void check_binding_limit(const TensorRequest& tensor, const MemoryLimits& limits) {
  if (tensor.splittable || tensor.bytes <= limits.max_binding_bytes) return;
  throw Error(fmt::format("tensor '{}' needs {}, more than the device's largest storage binding of {}", tensor.name,
                          format_bytes_exact(tensor.bytes), format_bytes_exact(limits.max_binding_bytes)),
              "use a smaller batch size");
}

void check_arena_sizes(const MemoryPlan& plan) {
  for (size_t i = 0; i < arena_kind_count; ++i) {
    const uint64_t size = plan.arenas[i].size;
    if (size <= plan.limits.max_arena_bytes) continue;
    throw Error(fmt::format("the {} arena needs {} in one allocation, more than the device's largest allocation of {}",
                            arena_name(static_cast<ArenaKind>(i)), format_bytes_exact(size),
                            format_bytes_exact(plan.limits.max_arena_bytes)),
                "use a smaller batch size");
  }
}

void check_budget(const MemoryPlan& plan) {
  if (!plan.limits.budget || plan.total_bytes <= *plan.limits.budget) return;
  throw Error(fmt::format("the memory plan needs {} but only {} of device memory is available",
                          format_bytes_exact(plan.total_bytes), format_bytes_exact(*plan.limits.budget)),
              "use a smaller batch size or model");
}

PlacedTensor unplaced(const TensorRequest& request) {
  return {request.name, request.arena, 0, request.bytes, request.first_use, request.last_use};
}

// Declaration order, so that arenas declared alike (parameters, gradients, momentum) line up.
// A zero-byte tensor occupies nothing and keeps offset 0 rather than leaving padding behind.
void place_persistent(std::vector<PlacedTensor>& tensors, uint64_t alignment) {
  std::array<uint64_t, arena_kind_count> next_free{};
  for (PlacedTensor& t : tensors) {
    if (!is_persistent(t.arena) || t.bytes == 0) continue;
    uint64_t& cursor = next_free[arena_index(t.arena)];
    t.offset = align_up(cursor, alignment);
    cursor = t.offset + t.bytes;
  }
}

std::vector<size_t> transient_placement_order(const std::vector<PlacedTensor>& tensors) {
  std::vector<size_t> order;
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (!is_persistent(tensors[i].arena) && tensors[i].bytes > 0) order.push_back(i);
  }
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const PlacedTensor& ta = tensors[a];
    const PlacedTensor& tb = tensors[b];
    if (ta.bytes != tb.bytes) return ta.bytes > tb.bytes;
    if (ta.first_use != tb.first_use) return ta.first_use < tb.first_use;
    return a < b;
  });
  return order;
}

bool lifetimes_overlap(const PlacedTensor& a, const PlacedTensor& b) {
  return a.first_use <= b.last_use && b.first_use <= a.last_use;
}

struct ByteRange {
  uint64_t begin = 0;
  uint64_t end = 0;
};

// The busy ranges may overlap one another (their tensors need not be alive at the same time as
// each other), so the scan tracks the highest end seen rather than the previous range's end.
uint64_t best_fit_offset(uint64_t bytes, std::vector<ByteRange> busy, uint64_t alignment) {
  std::sort(busy.begin(), busy.end(), [](const ByteRange& a, const ByteRange& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t free_from = 0;
  std::optional<uint64_t> best_offset;
  uint64_t best_hole = 0;
  for (const ByteRange& range : busy) {
    uint64_t candidate = align_up(free_from, alignment);
    if (range.begin >= candidate && range.begin - candidate >= bytes) {
      uint64_t hole = range.begin - candidate;
      if (!best_offset || hole < best_hole) {
        best_offset = candidate;
        best_hole = hole;
      }
    }
    free_from = std::max(free_from, range.end);
  }
  return best_offset.value_or(align_up(free_from, alignment));
}

void place_transient(std::vector<PlacedTensor>& tensors, uint64_t alignment) {
  std::vector<size_t> placed;
  for (size_t index : transient_placement_order(tensors)) {
    PlacedTensor& tensor = tensors[index];
    std::vector<ByteRange> busy;
    for (size_t other : placed) {
      const PlacedTensor& o = tensors[other];
      if (lifetimes_overlap(tensor, o)) busy.push_back({o.offset, o.offset + o.bytes});
    }
    tensor.offset = best_fit_offset(tensor.bytes, std::move(busy), alignment);
    placed.push_back(index);
  }
}

// The most transient bytes alive at any one dispatch. A sweep over lifetime boundaries: a tensor
// joins at first_use and leaves after last_use.
uint64_t peak_live_transient_bytes(const std::vector<PlacedTensor>& tensors) {
  struct Event {
    uint64_t time = 0;
    bool joins = false;
    uint64_t bytes = 0;
  };
  std::vector<Event> events;
  for (const PlacedTensor& t : tensors) {
    if (is_persistent(t.arena)) continue;
    events.push_back({t.first_use, true, t.bytes});
    events.push_back({uint64_t{t.last_use} + 1, false, t.bytes});
  }
  std::sort(events.begin(), events.end(), [](const Event& a, const Event& b) { return a.time < b.time; });
  uint64_t live = 0;
  uint64_t peak = 0;
  for (size_t i = 0; i < events.size();) {
    // Apply every boundary at one dispatch before measuring, so a tensor dying as another is born
    // is not counted twice.
    for (uint64_t now = events[i].time; i < events.size() && events[i].time == now; ++i) {
      live = events[i].joins ? live + events[i].bytes : live - events[i].bytes;
    }
    peak = std::max(peak, live);
  }
  return peak;
}

void summarize(MemoryPlan& plan) {
  for (const PlacedTensor& t : plan.tensors) {
    ArenaSummary& arena = plan.arenas[arena_index(t.arena)];
    arena.size = std::max(arena.size, t.offset + t.bytes);
    ++arena.tensor_count;
    if (is_persistent(t.arena)) arena.lower_bound += t.bytes;
  }
  plan.arenas[arena_index(ArenaKind::transient)].lower_bound = peak_live_transient_bytes(plan.tensors);
  for (const ArenaSummary& arena : plan.arenas) {
    plan.total_bytes += arena.size;
    plan.total_lower_bound += arena.lower_bound;
  }
}

std::string percent_above(uint64_t value, uint64_t bound) {
  if (bound == 0) return "";
  return fmt::format(" (+{:.1f}%)", 100.0 * static_cast<double>(value - bound) / static_cast<double>(bound));
}

std::vector<const PlacedTensor*> largest_tensors(const MemoryPlan& plan, size_t count) {
  std::vector<const PlacedTensor*> sorted;
  for (const PlacedTensor& t : plan.tensors) sorted.push_back(&t);
  // Stable: equal sizes keep request order, so the report is deterministic.
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const PlacedTensor* a, const PlacedTensor* b) { return a->bytes > b->bytes; });
  sorted.resize(std::min(count, sorted.size()));
  return sorted;
}

std::string lifetime_text(const PlacedTensor& t) {
  return is_persistent(t.arena) ? "whole step" : fmt::format("dispatches {}..{}", t.first_use, t.last_use);
}

}  // namespace

std::string_view arena_name(ArenaKind kind) {
  switch (kind) {
    case ArenaKind::transient:
      return "transient";
    case ArenaKind::parameters:
      return "parameters";
    case ArenaKind::gradients:
      return "gradients";
    case ArenaKind::optimizer_state:
      return "optimizer_state";
    case ArenaKind::inputs:
      return "inputs";
    case ArenaKind::buffers:
      return "buffers";
  }
  return "unknown";
}

MemoryLimits memory_limits(const vk::DeviceLimits& device, std::optional<uint64_t> budget) {
  const uint64_t max_arena = device.max_memory_allocation_size ? device.max_memory_allocation_size : UINT64_MAX;
  return {vk::tensor_offset_alignment(device), device.max_storage_buffer_range,
          max_arena, budget};
}

MemoryPlan plan_memory(const std::vector<TensorRequest>& tensors, const MemoryLimits& limits) {
  VKRES_ASSERT(limits.offset_alignment > 0, "memory plan: offset alignment must be positive");
  MemoryPlan plan;
  plan.limits = limits;
  for (const TensorRequest& t : tensors) {
    VKRES_ASSERT(is_persistent(t.arena) || t.first_use <= t.last_use,
                 fmt::format("memory plan: tensor '{}' is last used before its first use", t.name));
    check_binding_limit(t, limits);
    plan.tensors.push_back(unplaced(t));
  }
  place_persistent(plan.tensors, limits.offset_alignment);
  place_transient(plan.tensors, limits.offset_alignment);
  summarize(plan);
  check_arena_sizes(plan);
  check_budget(plan);
  return plan;
}

std::string memory_report(const MemoryPlan& plan, size_t largest_count) {
  const MemoryLimits& limits = plan.limits;
  std::string out =
      fmt::format("memory plan: peak {}, lower bound {}{}\n  offsets aligned to {} B, binding limit {}, budget {}\n",
                  format_bytes(plan.total_bytes), format_bytes(plan.total_lower_bound),
                  percent_above(plan.total_bytes, plan.total_lower_bound), limits.offset_alignment,
                  limits.max_binding_bytes == UINT64_MAX ? "unlimited" : format_bytes(limits.max_binding_bytes),
                  limits.budget ? format_bytes(*limits.budget) : "none");
  out += fmt::format("  {:<16} {:>8} {:>12} {:>12}\n", "arena", "tensors", "size", "lower bound");
  for (size_t i = 0; i < arena_kind_count; ++i) {
    const ArenaSummary& arena = plan.arenas[i];
    out += fmt::format("  {:<16} {:>8} {:>12} {:>12}{}\n", arena_name(static_cast<ArenaKind>(i)), arena.tensor_count,
                       format_bytes(arena.size), format_bytes(arena.lower_bound),
                       percent_above(arena.size, arena.lower_bound));
  }
  out += fmt::format("  {:<16} {:>8} {:>12} {:>12}{}\n", "total", plan.tensors.size(), format_bytes(plan.total_bytes),
                     format_bytes(plan.total_lower_bound), percent_above(plan.total_bytes, plan.total_lower_bound));

  std::vector<const PlacedTensor*> largest = largest_tensors(plan, largest_count);
  if (largest.empty()) return out;
  size_t name_width = 0;
  for (const PlacedTensor* t : largest) name_width = std::max(name_width, t->name.size());
  out += "  largest tensors:\n";
  for (const PlacedTensor* t : largest) {
    out += fmt::format("    {:<{}}  {:<16} {:>12}  {}\n", t->name, name_width, arena_name(t->arena),
                       format_bytes(t->bytes), lifetime_text(*t));
  }
  return out;
}

}  // namespace vkres::graph
