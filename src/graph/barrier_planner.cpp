#include "graph/barrier_planner.hpp"

#include <algorithm>

namespace vkres::graph {
namespace {

bool overlaps(const RangeAccess& a, const RangeAccess& b) {
  return a.resource == b.resource && a.begin < b.end && b.begin < a.end;
}

}  // namespace

std::vector<bool> plan_barriers(const std::vector<std::vector<RangeAccess>>& dispatches, SyncMode mode) {
  std::vector<bool> barrier_before(dispatches.size(), false);
  // Accesses made since the last barrier; a barrier orders everything before it, so they reset.
  std::vector<RangeAccess> pending;
  for (size_t i = 0; i < dispatches.size(); ++i) {
    bool hazard = mode == SyncMode::full && i > 0;
    for (const auto& now : dispatches[i]) {
      if (hazard) break;
      hazard = std::any_of(pending.begin(), pending.end(), [&](const RangeAccess& before) {
        return (before.write || now.write) && overlaps(before, now);
      });
    }
    if (hazard) {
      barrier_before[i] = true;
      pending.clear();
    }
    pending.insert(pending.end(), dispatches[i].begin(), dispatches[i].end());
  }
  return barrier_before;
}

}  // namespace vkres::graph
